"""Lisa: Lazy Safety Alignment (Huang et al. 2024, "Lisa: Lazy Safety Alignment for Large Language
Models against Harmful Fine-tuning Attack", NeurIPS 2024): bi-state optimisation with a proximal term.

Fine-tuning alternates between two states, starting with alignment:

    alignment state, K1 steps:  min  f(theta) + rho/2 ||theta - theta~||^2   on alignment data
    fine-tuning state, K2 steps: min  h(theta) + rho/2 ||theta - theta^||^2   on the user's data

where f / h are the LM losses on the alignment (harmful prompt + refusal) and the user data, and the
anchor (theta~ or theta^) is the weights at the last state switch: the proximal term is 0 right after a
switch and pulls each state's iterates back toward where the other state left them. The norm runs over
the trainable parameters only (the LoRA matrices, or every weight under full fine-tuning). Without the
proximal term (rho = 0) this is plain Bi-State Optimisation.

Defaults follow the authors' release (script/finetune/lisa_poison_ratio.sh, trainer.py of
git-disl/Lisa): rho = 1, K1 = 100 alignment and K2 = 900 fine-tuning steps per cycle, and no proximal
term during the first 10 % of the steps (their code's comment: the proximal term hurt convergence on
GSM8K early on; ``proximal_warmup_fraction``). Their runs have 20 000 steps, i.e. 20 cycles; our runs
are much shorter, so unless ``alignment_steps``/``finetune_steps`` are given, a cycle is
max(steps // cycles, ceil(1 / alignment_fraction)) steps with K1 = round(alignment_fraction * cycle):
the paper's 1:9 split and 20 cycles when the run is long enough, the 1:9 split with fewer cycles when
not (50 steps: 5 cycles of K1 = 1, K2 = 9).

Batches: every optimiser step reads only one kind of data. The batch order (``ctx.sample_order``)
takes ``training.batch_size`` samples per micro-batch from an alignment stream in alignment steps and
from the user-data stream (the task data and any harmful mix) in fine-tuning steps; both streams are
epoch-shuffled by the training seed (``defenses/safety_mix.py``'s ``mixed_order``). The alignment data
are built by ``defenses/safety_mix.py`` too: harmful prompts with built-in refusals (``harmful``,
``refusals``) and optional harmless instructions with answers (``harmless``); Lisa used BeaverTails'
safe (prompt, response) pairs.

Logged per step: ``lisa_alignment`` (1 in alignment steps) and ``proximal`` (the term's value,
rho included). A job resumed from a checkpoint in the middle of a state re-anchors at the resumed
weights (the interrupted state's anchor is not saved) and logs ``lisa_reanchored: 1`` at that step.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import torch

from defenses import register_defense
from defenses.base import Defense, DefenseContext
from defenses.safety_mix import (
    SAFETY_KINDS,
    SafetyMixParams,
    add_safety_examples,
    check_safety_data,
    mixed_order,
)
from harness.data import DataSpec
from harness.errors import UserError


@dataclass
class LisaParams:
    rho: float = 1.0  # proximal intensity (the authors' script)
    alignment_steps: int | None = None  # K1; give both K1 and K2, or neither (then: cycles/alignment_fraction)
    finetune_steps: int | None = None  # K2
    cycles: int = 20  # cycles per run when K1/K2 are derived (the paper: 20 000 steps of 100 + 900)
    alignment_fraction: float = 0.1  # K1 / (K1 + K2) when derived (the paper: 100 / 1000)
    proximal_warmup_fraction: float = 0.1  # no proximal term before this share of the steps (authors' code)
    # alignment data (defenses/safety_mix.py): harmful prompts with refusals, optional harmless pairs
    harmful: DataSpec = field(default_factory=lambda: DataSpec(builtin="harmful", split="train"))
    refusals: str = "builtin"
    harmless: DataSpec | None = None

    def __post_init__(self) -> None:
        if self.rho < 0:
            raise UserError(f"rho: expected >= 0, got {self.rho!r}")
        if (self.alignment_steps is None) != (self.finetune_steps is None):
            raise UserError("alignment_steps / finetune_steps: give both (K1 and K2) or neither")
        for name in ("alignment_steps", "finetune_steps", "cycles"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise UserError(f"{name}: expected an integer >= 1, got {value!r}")
        if not 0 < self.alignment_fraction < 1:
            raise UserError(f"alignment_fraction: expected in (0, 1), got {self.alignment_fraction!r}")
        if not 0 <= self.proximal_warmup_fraction < 1:
            raise UserError(f"proximal_warmup_fraction: expected in [0, 1), got {self.proximal_warmup_fraction!r}")
        self.mix_params()  # validates refusals

    def mix_params(self) -> SafetyMixParams:
        """The alignment data as safety-mix parameters (per_batch is unused: Lisa composes whole batches)."""
        return SafetyMixParams(harmful=self.harmful, refusals=self.refusals, harmless=self.harmless, per_batch=1)


def phase_lengths(params: LisaParams, total_steps: int) -> tuple[int, int]:
    """(K1, K2): as given, or derived from the run's length (see the module doc)."""
    if params.alignment_steps is not None:
        return params.alignment_steps, params.finetune_steps
    cycle = max(total_steps // params.cycles, math.ceil(1 / params.alignment_fraction))
    k1 = max(1, round(params.alignment_fraction * cycle))
    return k1, max(1, cycle - k1)


def is_alignment_step(step: int, k1: int, k2: int) -> bool:
    """Steps 0..K1-1 of every K1 + K2 cycle are alignment steps (Lisa starts in the alignment state)."""
    return step % (k1 + k2) < k1


def lisa_order(task: list[int], alignment: list[int], batch_size: int, k1: int, k2: int, steps: int,
               micro_batches_per_step: int, seed: int) -> list[int]:
    """Sample order: ``micro_batches_per_step`` batches of ``batch_size`` per optimiser step, every one
    of an alignment step from ``alignment``, of a fine-tuning step from ``task`` (each an endless,
    epoch-shuffled stream)."""
    phases = [is_alignment_step(s, k1, k2) for s in range(steps)]
    n_align = sum(phases) * micro_batches_per_step
    n_task = (steps - sum(phases)) * micro_batches_per_step
    streams = {True: iter(mixed_order(alignment, [], batch_size, 0, n_align, seed)),
               False: iter(mixed_order(task, [], batch_size, 0, n_task, seed))}
    return [next(streams[phase]) for phase in phases for _ in range(micro_batches_per_step * batch_size)]


@register_defense
class Lisa(Defense):
    name = "lisa"
    Params = LisaParams

    def __init__(self, params: LisaParams | None = None) -> None:
        super().__init__(params)
        self.anchor: dict[str, torch.Tensor] | None = None
        self.alignment = True
        self.proximal_on = False
        self.reanchored = False

    def check(self) -> None:
        check_safety_data(self.params.mix_params(), f"defenses.{self.name}.params")

    def prepare(self, ctx: DefenseContext) -> None:
        p, cfg = self.params, ctx.train_config
        add_safety_examples(ctx, p.mix_params(), f"defenses.{self.name}.params")
        ctx.state.pop("safety_mix", None)  # its per-batch mixing is replaced by Lisa's whole-batch phases
        self.k1, self.k2 = phase_lengths(p, cfg.steps)
        task = [e.index for e in ctx.examples if e.kind not in SAFETY_KINDS]
        alignment = [e.index for e in ctx.examples if e.kind in SAFETY_KINDS]
        world = int(os.environ.get("WORLD_SIZE", "1"))  # data-parallel processes read their own batches
        ctx.sample_order = lisa_order(task, alignment, cfg.batch_size, self.k1, self.k2, cfg.steps,
                                      cfg.grad_accum * world, cfg.seed)
        ctx.batch_size = cfg.batch_size
        self.warmup_steps = round(p.proximal_warmup_fraction * cfg.steps)
        self.anchor = None
        ctx.state[self.name] = {"alignment_steps": self.k1, "finetune_steps": self.k2,
                                "alignment_records": len(alignment), "proximal_from_step": self.warmup_steps,
                                "alignment_step_count": sum(is_alignment_step(s, self.k1, self.k2)
                                                            for s in range(cfg.steps))}

    def _trainable(self, ctx: DefenseContext):
        return [(name, param) for name, param in ctx.model.named_parameters() if param.requires_grad]

    @torch.no_grad()
    def set_anchor(self, ctx: DefenseContext) -> None:
        """Anchor the proximal term at the current weights (called at every state switch)."""
        self.anchor = {name: param.detach().clone() for name, param in self._trainable(ctx)}

    def on_step(self, ctx: DefenseContext, step: int) -> None:
        alignment = is_alignment_step(step, self.k1, self.k2)
        switch = step % (self.k1 + self.k2) in (0, self.k1)  # the first step of a state
        self.reanchored = not switch and self.anchor is None  # resumed mid-state: that state's anchor is gone
        if switch or self.anchor is None:
            self.set_anchor(ctx)
        self.alignment = alignment
        self.proximal_on = step >= self.warmup_steps

    def proximal(self, ctx: DefenseContext) -> torch.Tensor:
        """rho/2 * sum over trainable parameters of ||theta - theta_anchor||^2 (with its graph)."""
        if self.anchor is None:
            raise RuntimeError("lisa: no anchor yet (on_step was not called)")
        total = sum((param.float() - self.anchor[name].float()).pow(2).sum() for name, param in self._trainable(ctx))
        return 0.5 * self.params.rho * total

    def loss(self, ctx: DefenseContext, batch, hidden):
        logs = {"lisa_alignment": float(self.alignment)}
        if self.reanchored:
            logs["lisa_reanchored"] = 1.0
        if not self.proximal_on or self.params.rho == 0:
            return None, {**logs, "proximal": 0.0}
        term = self.proximal(ctx)
        return term, {**logs, "proximal": float(term.detach())}
