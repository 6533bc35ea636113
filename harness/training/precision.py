"""Where and in what numbers a training runs: one decision shared by the engine, defenses and cache keys.

CPU trains in fp32 (bf16 matmuls are slow there and change results); CUDA loads the weights in
``training.dtype`` and, for ``bfloat16``, runs every forward pass under bf16 autocast (the Trainer's
``bf16=True``). A defense's own forward passes (e.g. ProCon's reference projections) must use the
same autocast, or its statistics differ from the training pass at step 0.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class Precision:
    device: str  # cpu | cuda
    dtype: str  # dtype the weights are loaded in
    autocast: str | None = None  # "bfloat16": forward passes under torch.autocast (Trainer bf16=True)

    def autocast_context(self) -> contextlib.AbstractContextManager:
        """The autocast the Trainer (accelerate) applies to the training forward pass."""
        if self.autocast is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device, dtype=getattr(torch, self.autocast))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def training_precision(cfg: Any, cuda: bool | None = None) -> Precision:
    """The precision ``train`` uses for ``cfg`` (a TrainConfig) on this machine (or ``cuda`` as given)."""
    if not (torch.cuda.is_available() if cuda is None else cuda):
        return Precision("cpu", "float32")
    return Precision("cuda", cfg.dtype, "bfloat16" if cfg.dtype == "bfloat16" else None)
