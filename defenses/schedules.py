"""Loss-weight schedules over training steps (a strong early phase that relaxes to the base weight)."""

from __future__ import annotations

import math

SCHEDULES = ("step", "linear", "cosine")


def warmup_multiplier(schedule: str, step: int, warmup_steps: int, factor: float) -> float:
    """Multiplier of the base weight at ``step`` (0-based): ``factor`` at step 0, 1 from ``warmup_steps`` on.

    step:   factor for t < T, then 1 (the ProCon^wu warm-up);
    linear: factor -> 1 linearly over T steps;
    cosine: factor -> 1 along half a cosine over T steps.
    """
    if warmup_steps <= 0 or step >= warmup_steps:
        return 1.0
    if schedule == "step":
        return factor
    progress = step / warmup_steps
    if schedule == "linear":
        return factor + (1.0 - factor) * progress
    if schedule == "cosine":
        return 1.0 + (factor - 1.0) * (1.0 + math.cos(math.pi * progress)) / 2.0
    raise ValueError(f"unknown schedule {schedule!r}")
