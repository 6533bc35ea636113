"""Pieces shared by the perf scripts."""

from __future__ import annotations

from pathlib import Path

from harness.data import DataSpec, load_records
from harness.directions import RefusalDirection, compute_direction
from harness.models import load_model, load_tokenizer
from harness.training.trainer import step_times as train_step_times


def probe_direction(model_path: str | Path, dtype: str = "float32", device: str | None = None,
                    n: int = 32) -> RefusalDirection:
    """A refusal direction from n built-in harmful/harmless train prompts (enough for timing ProCon)."""
    model, tok = load_model(model_path, dtype, device), load_tokenizer(model_path)
    harmful = [r.prompt for r in load_records(DataSpec(builtin="harmful", split="train", limit=n))]
    harmless = [r.prompt for r in load_records(DataSpec(builtin="harmless", split="train", limit=n))]
    return compute_direction(model, tok, harmful, harmless, progress=False)


def step_times(run_dir: Path, skip: int = 2) -> list[float]:
    """Per-step wall times from a training run's log, without the first ``skip`` warm-up steps."""
    return train_step_times(Path(run_dir) / "train_log.jsonl", skip)
