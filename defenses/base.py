"""The defense interface: optional hooks the one training engine calls. A defense never owns the loop.

    prepare(ctx)                      before training: add data, compute reference statistics
    loss(ctx, batch, hidden) -> (t, logs)   extra loss terms; `layers` says which hidden states it needs;
                                      ``batch["logits"]``: the training forward's logits (``needs_logits``)
    on_step(ctx, step)                schedules (warm-up), alternating phases
    finalize(ctx)                     post-hoc weight edits (SafeLoRA), with the unaligned and aligned paths

Beyond the training loop, a defense may also change the stages around it, without special cases in
the pipeline: ``alignment_defense()`` trains this row's own start model (Vaccine, Booster: the
aligned-model cache keys on it), and ``evaluation_system_prompt()`` / ``evaluation_note`` set what
its model is evaluated with (BEA's secret trigger; the leaderboard footnote names it).

A ``Params`` field named ``layers`` (decoder-layer indices, or None for a default) is range-checked
against the model's config.json by the pipeline before anything trains; one named ``unaligned`` (a
model reference) is, for a defense with ``needs_unaligned_model`` in a run without an alignment stage,
the unaligned model whose fingerprint keys the training.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch


@dataclass
class DefenseContext:
    """Everything a defense may read or extend; built by the training engine."""

    model: Any  # the (PEFT-wrapped) model being trained
    tokenizer: Any
    base_model_path: Path  # the start model being fine-tuned (the aligned model when the run aligns)
    train_config: Any  # harness.config.TrainConfig
    examples: list  # harness.training.examples.Example, a defense may append (kind="safety_harmful", ...)
    run_dir: Path
    system_prompt: str | None = None
    # The run's model before its alignment stage (SafeLoRA's "unaligned" weights); None when the run
    # has no alignment stage. Set only for a defense with ``needs_unaligned_model``.
    unaligned_model_path: Path | None = None
    direction: Any = None  # harness.directions.RefusalDirection of the starting model, when the run has one
    # (harmful, harmless) prompts r was extracted from: a defense re-extracts r on the training model
    direction_prompts: tuple[list[str], list[str]] | None = None
    selection: Any = None  # harness.selection.Selection of the starting model, when a defense needs one
    # A defense that composes batches itself (defenses/safety_mix.py) sets both: the order in which
    # ``examples`` indices are read, sequentially, in per-device batches of ``batch_size``.
    sample_order: list[int] | None = None
    batch_size: int | None = None
    total_steps: int = 0
    step: int = 0
    state: dict[str, Any] = field(default_factory=dict)
    # The autocast the Trainer runs the training forward pass under: a defense's own forward passes
    # (reference statistics) use it too, so they match training numerically.
    autocast: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext


@dataclass
class NoParams:
    pass


class Defense:
    """Base class: every hook is a no-op, so plain IFT (``vanilla``) is just this class."""

    name: ClassVar[str] = "base"
    Params: ClassVar[type] = NoParams
    needs_direction: ClassVar[bool] = False
    # True: ``loss`` returns the whole training objective, which the trainer uses *instead of* the LM
    # loss (e.g. constrained SFT); the LM loss is still computed and logged as ``lm_loss``.
    replaces_lm_loss: ClassVar[bool] = False
    # True: ``loss`` reads ``batch["logits"]`` ([B, W, V]). False (most defenses): the engine unembeds
    # only the response positions, which saves the LM head's cost on the prompt and padding.
    needs_logits: ClassVar[bool] = False
    # True: ``finalize`` reads ``ctx.unaligned_model_path`` (its fingerprint then keys the training).
    needs_unaligned_model: ClassVar[bool] = False

    def __init__(self, params: Any = None) -> None:
        self.params = params if params is not None else self.Params()

    @property
    def needs_selection(self) -> bool:
        """Whether ``prepare`` reads ``ctx.selection`` (the Arditi et al. selection); depends on params."""
        return False

    @property
    def needs_direction_prompts(self) -> bool:
        """Whether the defense re-extracts r during training (``ctx.direction_prompts``)."""
        return False

    def check(self) -> None:
        """Validate what the params point at (data files) before any model loads; raise UserError."""

    @property
    def layers(self) -> list[int]:
        """Decoder layers whose hidden states ``loss`` needs (captured in the training forward pass)."""
        return []

    def prepare(self, ctx: DefenseContext) -> None:
        """Called once before training."""

    def loss(self, ctx: DefenseContext, batch: dict[str, torch.Tensor],
             hidden: dict[int, torch.Tensor]) -> tuple[torch.Tensor | None, dict[str, float]]:
        """Extra loss added to the LM loss (or replacing it: ``replaces_lm_loss``), and scalars to log.

        ``batch``: the collated ``input_ids``, ``attention_mask``, ``labels`` (-100 on the prompt),
        ``prompt_len``, ``sample_index``, and, for a defense with ``needs_logits``, ``logits``
        ([B, W, V], of the same forward pass).
        """
        return None, {}

    def on_step(self, ctx: DefenseContext, step: int) -> None:
        """Called at the start of every optimiser step."""

    def finalize(self, ctx: DefenseContext) -> None:
        """Called once after training, before the adapter/weights are saved; what it records in
        ``ctx.state`` is written to ``train_config.json``."""

    # ------------------------------------------------------------ stages around the training loop
    def alignment_defense(self) -> Defense | None:
        """The defense the alignment stage trains with to make *this row's* start model (an
        alignment-stage defense such as Vaccine or Booster), or None: the run's shared aligned model.
        Needs an ``alignment:`` block; the aligned-model cache keys on the returned defense."""
        return None

    def evaluation_system_prompt(self, system_prompt: str | None, tokenizer: Any = None) -> str | None:
        """The system prompt this defense's fine-tuned model is evaluated with; default: the run's.

        ``tokenizer``: the start model's (the pipeline passes it to a defense that overrides this hook,
        also when its training stage was reused and ``prepare`` never ran in this process)."""
        return system_prompt

    @property
    def evaluation_note(self) -> str | None:
        """How this row's evaluation differs from the others' (leaderboard footnote); None: it does not."""
        return None

    def describe(self) -> dict[str, Any]:
        from dataclasses import asdict, is_dataclass

        return {"name": self.name, "params": asdict(self.params) if is_dataclass(self.params) else {}}
