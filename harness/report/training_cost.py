"""Per-defense training cost of a run, read back from what the training engine wrote.

For every trained row of the config (``models/<row>/`` or ``models/<row>/seed-<s>/``): seconds per
optimizer step (the mean ``step_time`` of ``train_log.jsonl``, the first ``WARMUP_STEPS`` left out:
they include lazy initialisation), its ratio to ``vanilla``'s of the same seed, the training's wall
seconds (model load, the defense's ``prepare`` such as reference statistics, the steps, ``finalize``),
for a row with its own alignment stage (``vaccine``, ``booster``) that stage's seconds per step (from
the cached aligned model's ``train_log.jsonl``, found through the manifest's stage record, so also
when it was reused) and its ratio to the run's plain alignment stage, and the training's peak
memory (``harness.training.memory``; ``None`` for trainings written before it was recorded).
Written as ``training_cost.json`` and as a table under ``leaderboard.md``.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.io import read_json, write_json_atomic

COST_FILE = "training_cost.json"
WARMUP_STEPS = 2


@dataclass(frozen=True)
class TrainingCost:
    model: str
    seed: int | None
    steps: int
    s_per_step: float | None
    over_vanilla: float | None
    train_seconds: float | None
    alignment_s_per_step: float | None
    alignment_over_plain: float | None
    peak_rss_gib: float | None
    peak_cuda_gib: float | None
    device: str | None


def _mean_step_time(log: Path) -> tuple[int, float | None]:
    """(steps logged, mean step time after the warm-up steps; all of them for a run that short)."""
    from harness.training.trainer import step_times

    times = step_times(log, skip=0)
    kept = times[WARMUP_STEPS:] or times
    return len(times), (statistics.fmean(kept) if kept else None)


def _alignment_s_per_step(record: dict[str, Any] | None) -> float | None:
    """Seconds per step of an alignment stage, from the aligned model's own log (None: no such log)."""
    path = (record or {}).get("path")
    if not path or not (Path(path) / "train_log.jsonl").is_file():
        return None
    return _mean_step_time(Path(path) / "train_log.jsonl")[1]


def training_costs(cfg, stages: dict[str, dict[str, Any]]) -> list[TrainingCost]:
    """One entry per (row, seed) of ``cfg.defenses`` that has a training folder; ``stages``: the manifest's."""
    run_dir = Path(cfg.run_dir)
    found = []
    for entry in cfg.defenses:
        folder = run_dir / "models" / entry.row_name
        runs = [(s, folder / f"seed-{s}") for s in cfg.all_seeds] if cfg.multi_seed else [(None, folder)]
        own = _alignment_s_per_step(stages.get(f"align {entry.row_name}"))
        plain = _alignment_s_per_step(stages.get("align"))
        over_plain = own / plain if own and plain else None
        for seed, path in runs:
            if not (path / "train_config.json").is_file():
                continue
            written = read_json(path / "train_config.json")
            cost = written.get("cost") or {}
            steps, per_step = _mean_step_time(path / "train_log.jsonl")
            stage = stages.get(f"train {entry.row_name}" + ("" if seed is None else f"/seed-{seed}")) or {}
            seconds = cost.get("seconds", stage.get("seconds") if stage.get("status") == "computed" else None)
            found.append(TrainingCost(entry.row_name, seed, steps, per_step, None, seconds, own, over_plain,
                                      cost.get("peak_rss_gib"), cost.get("peak_cuda_gib"),
                                      (written.get("precision") or {}).get("device")))
    vanilla = {c.seed: c.s_per_step for c in found if c.model == "vanilla" and c.s_per_step}
    return [TrainingCost(**{**asdict(c), "over_vanilla": c.s_per_step / vanilla[c.seed]})
            if c.s_per_step and c.seed in vanilla else c for c in found]


def _cell(x: float | None, fmt: str) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, fmt)


def cost_markdown(costs: list[TrainingCost]) -> str:
    """The table under the leaderboard (empty when nothing was trained)."""
    if not costs:
        return ""
    seeds = any(c.seed is not None for c in costs)
    head = ["model", *(["seed"] if seeds else []), "steps", "s/step", "× vanilla", "training s", "own alignment s/step", "× plain alignment",
            "peak RSS GiB", *(["peak CUDA GiB"] if any(c.peak_cuda_gib is not None for c in costs) else [])]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for c in costs:
        cells = [c.model, *([str(c.seed)] if seeds else []), str(c.steps), _cell(c.s_per_step, ".2f"),
                 _cell(c.over_vanilla, ".2f"), _cell(c.train_seconds, ".0f"), _cell(c.alignment_s_per_step, ".2f"), _cell(c.alignment_over_plain, ".2f"),
                 _cell(c.peak_rss_gib, ".2f"), *([_cell(c.peak_cuda_gib, ".2f")] if "peak CUDA GiB" in head else [])]
        lines.append("| " + " | ".join(cells) + " |")
    return ("Training cost (per row: `models/<row>/train_log.jsonl`, `train_config.json` `cost`; "
            f"s/step = mean step time after the first {WARMUP_STEPS} steps; training s = model load + `prepare` + "
            "steps + `finalize`; own alignment: the row's own alignment stage (`vaccine`, `booster`) against the run's "
            "plain one; "
            "peak RSS: the training's own peak resident memory, — when not recorded):\n\n" + "\n".join(lines) + "\n")


def write_training_costs(cfg, stages: dict[str, dict[str, Any]]) -> list[TrainingCost]:
    costs = training_costs(cfg, stages)
    if costs:
        write_json_atomic(Path(cfg.run_dir) / COST_FILE, [asdict(c) for c in costs])
    return costs
