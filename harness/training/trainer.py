"""``DefenseTrainer``: ``transformers.Trainer`` with one override point, ``compute_loss``.

The defense's hidden-state layers are captured by forward hooks in the same forward pass; its extra
loss is added to the LM loss, or replaces it when the defense says so (``Defense.replaces_lm_loss``).
The LM head runs on the response positions only (``harness/training/lm_loss.py``) unless the defense
reads the full logits (``Defense.needs_logits``).
Everything else (optimiser, schedules, checkpoints, resume, logging, accelerate/FSDP/DeepSpeed) is
the stock Trainer's.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from pathlib import Path

import torch
from transformers import Trainer, TrainerCallback

from defenses.base import Defense, DefenseContext
from harness.hidden import capture_hidden
from harness.training.lm_loss import response_lm_loss

BATCH_ONLY_KEYS = ("prompt_len", "sample_index")


class DefenseTrainer(Trainer):
    def __init__(self, *args, defense: Defense, ctx: DefenseContext, ordered: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.defense = defense
        self.ctx = ctx
        self.ordered = ordered  # the dataset is already in batch order (a defense composed the batches)
        # The LM loss is a per-batch mean; let the Trainer divide by the accumulation steps for the
        # whole loss (LM + defense) instead of expecting the model to normalise by token count.
        self.model_accepts_loss_kwargs = False
        self._terms: dict[str, list[float]] = defaultdict(list)

    def _get_train_sampler(self, train_dataset=None):
        if self.ordered:
            return torch.utils.data.SequentialSampler(train_dataset or self.train_dataset)
        return super()._get_train_sampler(train_dataset)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        extra = {k: inputs.pop(k) for k in BATCH_ONLY_KEYS if k in inputs}
        with capture_hidden(model, self.defense.layers) as hidden:
            if self.defense.needs_logits:
                outputs = model(**inputs)
                loss, logits = outputs.loss, {"logits": outputs.logits}
            else:
                loss, outputs = response_lm_loss(model, inputs)
                logits = {}
        self._terms["lm_loss"].append(float(loss.detach()))
        defense_loss, logs = self.defense.loss(self.ctx, {**inputs, **extra, **logits}, hidden)
        if self.defense.replaces_lm_loss and defense_loss is None:
            raise RuntimeError(f"defense {self.defense.name} replaces the LM loss but returned no loss")
        if defense_loss is not None:
            loss = defense_loss if self.defense.replaces_lm_loss else loss + defense_loss
            self._terms["defense_loss"].append(float(defense_loss.detach()))
        for key, value in logs.items():
            self._terms[key].append(float(value))
        return (loss, outputs) if return_outputs else loss

    def log(self, logs: dict[str, float], *args, **kwargs) -> None:
        if "loss" in logs:  # a training log (not the final summary): add the loss terms since last log
            logs.update(self._mean_terms())
            self._terms.clear()
        super().log(logs, *args, **kwargs)

    def _mean_terms(self) -> dict[str, float]:
        """Loss terms averaged over the steps since the last log and, in data-parallel runs, over
        processes (like the Trainer's own ``loss``; every process logs at the same step)."""
        means = {key: sum(values) / len(values) for key, values in self._terms.items()}
        if self.args.world_size > 1 and means:
            keys = sorted(means)
            values = torch.tensor([means[k] for k in keys], dtype=torch.float64, device=self.args.device)
            means = dict(zip(keys, self.accelerator.reduce(values, reduction="mean").tolist(), strict=True))
        return means


class StepLogCallback(TrainerCallback):
    """Per-step JSONL log (loss terms, lr, step time) and the defense's ``on_step`` hook."""

    def __init__(self, defense: Defense, ctx: DefenseContext, log_path: Path) -> None:
        self.defense, self.ctx, self.log_path = defense, ctx, Path(log_path)
        self._t0 = time.perf_counter()
        self._step_times: list[float] = []

    def on_step_begin(self, args, state, control, **kwargs):
        self.ctx.step = state.global_step
        self.defense.on_step(self.ctx, state.global_step)
        self._t0 = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self._step_times.append(time.perf_counter() - self._t0)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or "loss" not in logs or not state.is_world_process_zero:
            return
        row = {"step": state.global_step, **logs}
        if self._step_times:
            row["step_time"] = sum(self._step_times) / len(self._step_times)
            self._step_times.clear()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "a", encoding="utf-8") as fh:  # append-only; deduplicated by step on read
            fh.write(json.dumps(row) + "\n")


def step_times(path: str | Path, skip: int = 2) -> list[float]:
    """Per-step wall times of a training log (``StepLogCallback``'s ``step_time``), without the first
    ``skip`` steps (they include lazy initialisation); rows without a step time are left out."""
    times = [row["step_time"] for row in read_train_log(path) if isinstance(row.get("step_time"), (int, float))]
    return times[skip:]


def read_train_log(path: str | Path) -> list[dict]:
    """The per-step log, one row per step (a resumed run may have re-logged steps: last one wins)."""
    rows: dict[int, dict] = {}
    path = Path(path)
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                rows[row["step"]] = row
    return [rows[k] for k in sorted(rows)]
