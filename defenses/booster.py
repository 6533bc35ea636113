"""Booster: attenuating harmful perturbation (Huang et al. 2025, "Booster: Tackling Harmful Fine-tuning
for Large Language Models via Attenuating Harmful Perturbation", ICLR 2025). An alignment-stage defense.

The paper's observation: harmful fine-tuning works because one gradient step on harmful data lowers
the harmful loss a lot (the "harmful perturbation"). Booster aligns the model so that such a step
lowers it as little as possible, by adding to the alignment loss f a loss-reduction regulariser on
harmful data (prompt -> compliant answer) with loss h:

    min_w  f(w) + lam * ( h(w) - h(w - alpha * grad h(w) / ||grad h(w)||) )

and, as the paper and the authors' code do (``BoosterAlignmentTrainer``), steps on the first-order
gradient that treats the normalised harmful step as a constant:

    grad f(w) + lam * ( grad h(w) - grad h(w') ),    w' = w - alpha * g / ||g||,  g = grad h(w).

Inside ``loss`` (the trainer's forward on the alignment batch has already computed f), per micro-batch:

1. draw ``harmful_batch_size`` harmful examples (seeded by the training seed, the step, the micro-batch
   and the data-parallel rank, so a resumed job draws the same batches);
2. g = dh/dw over the trainable parameters (the LoRA matrices, or every weight under full fine-tuning),
   with ``torch.autograd.grad`` (no ``.grad`` is touched);
3. move the trainable parameters to w' (through ``.data``, so the alignment forward's saved tensors stay
   valid), compute g' = grad h(w') there, and copy the saved w back: the weights are restored
   bit-exactly (the authors add and subtract the step, which is exact only up to rounding);
4. return the surrogate

       lam * ( <sg(g - g'), w> - sg(<g - g', w>) + sg(h(w) - h(w')) )

   (sg = stop-gradient) whose gradient w.r.t. the parameters is exactly lam * (g - g') and whose value
   is lam * (h(w) - h(w')), the paper's regulariser: only its gradient drives the step, but the
   logged ``defense_loss`` (and the trainer's total loss f + defense_loss) carries the objective's value.

lam = 0 adds nothing (plain alignment SFT, no harmful pass).

Defaults: lam = 5 and alpha = 0.1, the paper's (``script/alignment/smooth_align.sh``: ``lamb=5``,
``alpha=0.1``); ``harmful_batch_size`` null = the alignment's ``train.batch_size`` (the authors' harmful
loader and training batches are both 10). Harmful data: the built-in ``harmful`` train split with a
built-in compliant lead-in per prompt (``harmful_responses: builtin``, harness/canned.py) or any data
set with its own responses (``harmful_responses: dataset``); the paper used BeaverTails' harmful
(prompt, response) pairs, which this benchmark does not ship.

Logged per step: ``harmful_loss`` (h(w)), ``harmful_loss_perturbed`` (h(w')), ``harmful_drop``
(h(w) - h(w'), the regulariser before lam: what Booster drives down) and ``harmful_grad_norm`` (||g||).

Cost: two extra forward + backward passes per micro-batch (on the harmful batch, at w and at w'), and
three copies of the trainable parameters (g, g', saved w): small under LoRA, 3x the model under full
fine-tuning. The registered ``booster`` row fine-tunes like ``vanilla`` from its own Booster-aligned
start model (``Defense.alignment_defense``).
"""

from __future__ import annotations

import math
import os
import random
from dataclasses import dataclass, field

import torch

from defenses import register_defense
from defenses.base import Defense, DefenseContext
from harness.canned import check_response_source, harmful_compliant_records
from harness.data import DataSpec
from harness.errors import UserError
from harness.io import sha256_json
from harness.records import Record
from harness.training.examples import Collator, encode_records

_FIELD = "@harmful"  # the field name harmful_compliant_records prefixes its messages with (mapped back)


@dataclass
class BoosterParams:
    lam: float = 5.0  # lambda, the regulariser's weight (the paper's default)
    alpha: float = 0.1  # the normalised harmful step's length (the paper's default)
    harmful: DataSpec = field(default_factory=lambda: DataSpec(builtin="harmful", split="train"))
    harmful_responses: str = "builtin"  # builtin: a built-in compliant lead-in per prompt; dataset: the records'
    harmful_batch_size: int | None = None  # harmful examples per micro-batch; null = alignment.train.batch_size

    def __post_init__(self) -> None:
        for name in ("lam", "alpha"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise UserError(f"{name}: expected a finite number >= 0, got {value!r}")
        check_response_source(self.harmful_responses, "harmful_responses")
        if self.harmful_batch_size is not None and (isinstance(self.harmful_batch_size, bool)
                                                    or self.harmful_batch_size < 1):
            raise UserError(f"harmful_batch_size: expected an integer >= 1 (or null for the training batch "
                            f"size), got {self.harmful_batch_size!r}")


def booster_harmful_records(params: BoosterParams, where: str) -> list[Record]:
    """The harmful prompts with compliant answers; errors name ``<where>.harmful`` / ``.harmful_responses``."""
    try:
        return harmful_compliant_records(params.harmful, params.harmful_responses, _FIELD)
    except UserError as exc:
        msg = str(exc).replace(f"{_FIELD}.data", f"{where}.harmful").replace(
            f"{_FIELD}.responses", f"{where}.harmful_responses")
        raise UserError(msg if msg.startswith(where) else f"{where}.harmful: {msg}") from None


def harmful_sample(seed: int, rank: int, step: int, micro: int, n: int, k: int) -> list[int]:
    """``min(k, n)`` distinct indices of the n harmful examples for one micro-batch (a pure function of
    its arguments, so a resumed job redraws the same batches)."""
    return random.Random(f"booster-{seed}-{rank}-{step}-{micro}").sample(range(n), min(k, n))


def _trainable(model) -> list[torch.nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]


def _norm(tensors: list[torch.Tensor]) -> torch.Tensor:
    return torch.stack([t.float().norm() for t in tensors]).norm()


class BoosterAligner(Defense):
    """The alignment-stage objective (not registered: ``Booster.alignment_defense`` returns it; the
    aligned-model cache keys on ``describe()``: this name, the params and a hash of the harmful records)."""

    name = "booster_alignment"
    Params = BoosterParams

    def __init__(self, params: BoosterParams | None = None) -> None:
        super().__init__(params)
        self.harmful_examples: list = []
        self._micro = (-1, -1)  # (step, micro-batch index) of the last draw
        self.last_indices: list[int] = []  # the latest harmful batch (tests read it)
        self._records_hash: str | None = None

    @property
    def where(self) -> str:
        return "defenses.booster.params"

    def records(self) -> list[Record]:
        return booster_harmful_records(self.params, self.where)

    def describe(self) -> dict:
        if self._records_hash is None:
            self._records_hash = sha256_json([(r.prompt, r.response) for r in self.records()])
        return {**super().describe(), "harmful_records": self._records_hash}

    def prepare(self, ctx: DefenseContext) -> None:
        cfg = ctx.train_config
        records = self.records()
        self.harmful_examples = encode_records(ctx.tokenizer, records, ctx.system_prompt, cfg.max_length,
                                               cfg.max_prompt_length, kind="booster_harmful")
        self.batch_size = self.params.harmful_batch_size or cfg.batch_size
        self.collate = Collator(ctx.tokenizer.pad_token_id)
        self._micro = (-1, -1)
        ctx.state[self.name] = {"harmful_records": len(records), "harmful_batch_size": self.batch_size,
                                "harmful_truncated": sum(e.truncated for e in self.harmful_examples),
                                "lam": self.params.lam, "alpha": self.params.alpha}

    def harmful_batch(self, ctx: DefenseContext) -> dict[str, torch.Tensor]:
        """The next micro-batch of harmful examples, collated and on the model's device."""
        step, micro = self._micro
        self._micro = (ctx.step, micro + 1 if step == ctx.step else 0)
        rank = int(os.environ.get("RANK", "0"))  # data-parallel processes draw different batches
        self.last_indices = harmful_sample(ctx.train_config.seed, rank, ctx.step, self._micro[1],
                                           len(self.harmful_examples), self.batch_size)
        batch = self.collate([self.harmful_examples[i].to_features() for i in self.last_indices])
        device = next(ctx.model.parameters()).device
        return {k: batch[k].to(device) for k in ("input_ids", "attention_mask", "labels")}

    def _harmful_grad(self, ctx: DefenseContext, params: list[torch.nn.Parameter],
                      batch: dict[str, torch.Tensor]) -> tuple[float, list[torch.Tensor]]:
        with ctx.autocast():
            loss = ctx.model(**batch).loss
        grads = torch.autograd.grad(loss, params, allow_unused=True)
        return float(loss.detach()), [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads, strict=True)]

    def loss(self, ctx: DefenseContext, batch, hidden):
        p = self.params
        if p.lam == 0:
            return None, {}
        params = _trainable(ctx.model)
        harmful = self.harmful_batch(ctx)
        h, g = self._harmful_grad(ctx, params, harmful)
        g_norm = _norm(g)
        if g_norm > 0 and p.alpha > 0:
            saved = [q.detach().clone() for q in params]
            try:
                scale = p.alpha / g_norm
                for q, gq in zip(params, g, strict=True):
                    q.data.sub_((gq.float() * scale).to(q.dtype))  # .data: the alignment graph stays valid
                h_prime, g_prime = self._harmful_grad(ctx, params, harmful)
            finally:
                for q, s in zip(params, saved, strict=True):
                    q.data.copy_(s)
        else:  # no harmful step to take: w' = w
            h_prime, g_prime = h, g
        diff = [(a - b).detach() for a, b in zip(g, g_prime, strict=True)]
        linear = sum((d.float() * q.float()).sum() for d, q in zip(diff, params, strict=True))
        drop = h - h_prime
        term = p.lam * (linear - linear.detach() + drop)
        return term, {"harmful_loss": h, "harmful_loss_perturbed": h_prime, "harmful_drop": drop,
                      "harmful_grad_norm": float(g_norm)}


@register_defense
class Booster(Defense):
    """The ``booster`` row: plain fine-tuning (like ``vanilla``) of its own Booster-aligned model."""

    name = "booster"
    Params = BoosterParams

    def check(self) -> None:
        booster_harmful_records(self.params, f"defenses.{self.name}.params")

    def alignment_defense(self) -> Defense:
        return BoosterAligner(self.params)
