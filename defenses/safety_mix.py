"""Safety samples mixed into every fine-tuning batch: one code path for ``safeinstr`` and ``procon_safe``.

Harmful instructions paired with a refusal (and optionally harmless instructions with answers) are
added on top of each batch's task samples: every batch holds ``training.batch_size`` task samples,
as vanilla's do, plus ``k`` safety samples, so the task data per step is the same for every defense
and two mixing defenses with the same seed see identical batches (``safeinstr`` vs ``procon_safe``
then differ only by the constraint). The order is seeded by the training seed.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field, replace

from harness.data import DataSpec, load_records
from harness.errors import UserError
from harness.records import Record

SAFETY_KINDS = ("safety_harmful", "safety_harmless")


@dataclass
class SafetyMixParams:
    harmful: DataSpec = field(default_factory=lambda: DataSpec(builtin="harmful", split="train"))
    # builtin: a built-in refusal sentence per prompt (hash of its id, as the alignment stage does);
    # dataset: the records' own ``response`` (e.g. a refusal column of your data)
    refusals: str = "builtin"
    harmless: DataSpec | None = None  # optional harmless instructions with answers (need a response)
    per_batch: int | None = 3  # safety samples added to each batch (the pilot's 3 per batch of 8) ...
    fraction: float | None = None  # ... or their share of the enlarged batch (exactly one of the two)
    lm_loss: bool = True  # whether safety samples also get the LM loss (False: only a constraint reads them)

    def __post_init__(self) -> None:
        if self.refusals not in ("builtin", "dataset"):
            raise UserError(f"refusals: expected builtin or dataset, got {self.refusals!r}")
        if (self.per_batch is None) == (self.fraction is None):
            raise UserError("per_batch / fraction: give exactly one (safety samples per batch, or their share)")
        if self.per_batch is not None and self.per_batch < 1:
            raise UserError(f"per_batch: expected an integer >= 1, got {self.per_batch!r}")
        if self.fraction is not None and not 0 < self.fraction < 1:
            raise UserError(f"fraction: expected in (0, 1), got {self.fraction!r}")

    def extra_per_batch(self, batch_size: int) -> int:
        """k safety samples per batch of ``batch_size`` task samples: share f of B + k means k = f·B/(1−f)."""
        if self.per_batch is not None:
            return self.per_batch
        return max(1, round(self.fraction * batch_size / (1 - self.fraction)))


def safety_records(params: SafetyMixParams, where: str) -> list[Record]:
    """Harmful prompts with refusals (kind safety_harmful), then harmless ones with answers."""
    from harness.canned import builtin_refusals
    from harness.canned import pick_for as pick_refusal

    harmful = load_records(params.harmful)
    if not harmful:
        raise UserError(f"{where}.harmful: no records")
    if params.refusals == "builtin":
        refusals = builtin_refusals()
        harmful = [replace(r, response=pick_refusal(r.id, refusals)) for r in harmful]
    elif any(not r.response for r in harmful):
        raise UserError(f"{where}.harmful: refusals=dataset needs a response (a refusal) for every record")
    harmless = load_records(params.harmless) if params.harmless is not None else []
    if any(not r.response for r in harmless):
        raise UserError(f"{where}.harmless: every record needs a response (set fields.response)")
    for records, kind in ((harmful, "safety_harmful"), (harmless, "safety_harmless")):
        for r in records:
            r.meta["kind"] = kind
    return harmful + harmless


def _stream(indices: list[int], rng: random.Random):
    """Endless epoch-shuffled stream over ``indices`` (each epoch a fresh permutation)."""
    while True:
        epoch = list(indices)
        rng.shuffle(epoch)
        yield from epoch


def mixed_order(task: list[int], safety: list[int], batch_size: int, extra: int, n_batches: int,
                seed: int) -> list[int]:
    """``n_batches`` batches of ``batch_size`` task + ``extra`` safety indices, flattened.

    Task and safety indices come from separate seeded streams, so the task stream does not depend
    on ``extra`` or on the safety data (and equal seeds give equal batches).
    """
    task_stream = _stream(task, random.Random(f"task-{seed}"))
    safety_stream = _stream(safety, random.Random(f"safety-{seed}"))
    order = []
    for _ in range(n_batches):
        order += [next(task_stream) for _ in range(batch_size)] + [next(safety_stream) for _ in range(extra)]
    return order


def add_safety_examples(ctx, params: SafetyMixParams, where: str, system_prompt: str | None = None) -> None:
    """Encode the safety records into ``ctx.examples`` and set the mixed batch order (``ctx.sample_order``).

    ``system_prompt``: the safety examples' own system prompt (BEA's triggered one); None: the run's
    (``ctx.system_prompt``), as for the task examples."""
    from harness.training.examples import IGNORE_INDEX, encode_records

    cfg = ctx.train_config
    records = safety_records(params, where)
    start = len(ctx.examples)
    system_prompt = ctx.system_prompt if system_prompt is None else system_prompt
    added = encode_records(ctx.tokenizer, records, system_prompt, cfg.max_length, cfg.max_prompt_length,
                           start_index=start)
    for example, record in zip(added, records, strict=True):
        example.kind = record.meta["kind"]
        if not params.lm_loss:
            example.labels = [IGNORE_INDEX] * len(example.labels)
    task = [e.index for e in ctx.examples]
    ctx.examples.extend(added)
    extra = params.extra_per_batch(cfg.batch_size)
    world = int(os.environ.get("WORLD_SIZE", "1"))  # data-parallel processes each read their own batches
    n_batches = cfg.steps * cfg.grad_accum * world
    ctx.sample_order = mixed_order(task, [e.index for e in added], cfg.batch_size, extra, n_batches, cfg.seed)
    ctx.batch_size = cfg.batch_size + extra
    ctx.state["safety_mix"] = {"records": len(added), "harmful": sum(e.kind == "safety_harmful" for e in added),
                               "per_batch": extra, "batch_size": ctx.batch_size, "lm_loss": params.lm_loss,
                               "epochs_of_safety_data": round(n_batches * extra / max(len(added), 1), 2)}


def check_safety_data(params: SafetyMixParams, where: str) -> None:
    """Load the safety data once before any model loads (bad paths fail up front)."""
    safety_records(params, where)


__all__ = ["SAFETY_KINDS", "SafetyMixParams", "add_safety_examples", "check_safety_data", "mixed_order",
           "safety_records"]
