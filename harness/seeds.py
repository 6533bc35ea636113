"""One run seed drives every random choice; each consumer gets its own derived sub-seed.

``derive_seed(seed, name) = int(sha256("procon-bench:<seed>:<name>")[:8], 16) % 2**31``: independent
streams per consumer (so changing how many numbers one consumer draws never shifts another), fully
determined by the run seed, and recorded in the manifest. The aligned start model is *not* seeded
from the run seed: it is shared across run seeds (``alignment.train.seed``, default 0), because the
question a multi-seed run asks is how fine-tuning with each defense varies from one fixed aligned
model, as the paper starts every defense from one released chat model. Data selection (a data
source's ``limit`` and ``evaluation.limit``, both category-stratified samples) is part of the
experiment's definition, not of its noise: it uses a fixed seed, so every run seed trains and is
scored on the same records.

``seeds: [0, 1, 2]`` (instead of ``seed:``) repeats every training once per seed, each with its own
derived sub-seeds; the start model, the direction and the start model's evaluation are shared (they
do not depend on the training seed), and ``harness/report/aggregate.py`` summarises over the seeds.
"""

from __future__ import annotations

import hashlib

# consumer -> what it drives
SUB_SEEDS = {
    "training": "LoRA init, dropout, data order (Trainer seed + data_seed), harmful-mix sampling",
    "sampling": "generation sampling when temperature > 0 (greedy decoding draws nothing)",
    "bootstrap": "bootstrap resampling of every metric's confidence interval",
}


def derive_seed(seed: int, name: str) -> int:
    digest = hashlib.sha256(f"procon-bench:{seed}:{name}".encode()).hexdigest()
    return int(digest[:8], 16) % 2**31


def run_seeds(seed: int) -> dict[str, int]:
    """The run seed and every sub-seed derived from it (what the manifest records)."""
    return {"run": seed, **{name: derive_seed(seed, name) for name in SUB_SEEDS}}
