"""Vaccine: perturbation-aware alignment (Huang et al. 2024, "Vaccine: Perturbation-aware Alignment for
Large Language Models against Harmful Fine-tuning Attack", NeurIPS 2024). An alignment-stage defense.

The paper's observation: harmful fine-tuning erodes alignment through *harmful embedding drift*, a
change of the hidden states the aligned model computes for the alignment data. Vaccine makes the
aligned model's loss robust to such drift: every alignment step minimises the alignment loss under
the worst-case (first-order) perturbation of the hidden states within a ball of radius rho,

    min_w  max_{||eps|| <= rho}  L(w; h_l + eps_l for every perturbed layer l)

solved per step as in SAM, on hidden states instead of weights:

    (a) forward on the alignment batch; L = the LM loss; g_l = dL / dh_l for every perturbed layer l
        (h_l = the output of decoder block l, 0-based; the total derivative through all later layers);
    (b) eps_l = rho * g_l / ||g||, with ||g|| the norm over all perturbed layers together (the authors'
        ``_grad_norm``: one norm of the stacked per-layer norms), so sum_l ||eps_l||^2 = rho^2;
    (c) a second forward with eps_l added to the output of block l (forward hooks; eps is a constant);
        its LM loss is the training objective, whose gradient the optimiser steps on.

Here (a) reuses the trainer's forward pass: the hidden states of ``layers`` are captured by its hooks
(harness/hidden.py) and the LM loss is recomputed from ``batch["logits"]`` and ``batch["labels"]``
exactly as transformers does (labels shifted by one, -100 ignored, mean over response tokens), so g is
``torch.autograd.grad`` of that loss w.r.t. the captured states (no weight gradient is computed for it).
The alignment-stage object therefore ``replaces_lm_loss``: the loss the trainer backpropagates is the
perturbed one; the trainer still logs the clean one as ``lm_loss``.

Where the perturbation goes. The paper perturbs the hidden embedding of every layer; the authors'
code hooks the *attention modules* (``LlamaAttention``: eps is added to the attention output before it
joins the residual stream). We perturb the decoder blocks' outputs, the residual stream that
harness/hidden.py captures and that the refusal direction and ProCon read, which is what the paper's
"harmful embedding drift" measures; ``layers`` picks the blocks (null: all).

rho (``rho``): 2, the value the authors' README runs ("Vaccine (with perturbation intensity=2)",
``script/alignment/Vaccine.sh 2``, Llama-2-7B with LoRA); the later Booster release re-runs Vaccine with
rho = 5. rho is an absolute norm over every perturbed position of the batch (one [batch, seq, d]
tensor per layer), so the per-position perturbation it amounts to shrinks with the batch size, the
sequence length and the number of perturbed layers, and its effect depends on the model's residual
scale: it is not tuned for SmolLM2 here. rho = 0 adds a zero perturbation: the loss and gradient are
exactly plain SFT's (tested).

Logged per step: ``clean_loss`` (the first forward's LM loss), ``perturbed_loss`` (the objective),
``perturbation_norm`` (||eps|| over all layers: rho, or 0 when g = 0) and ``hidden_grad_norm`` (||g||).

Cost: one extra forward and one backward to the hidden states per step (the first forward's graph is
released by that backward); no weight copies. The registered ``vaccine`` row fine-tunes like
``vanilla`` from its own Vaccine-aligned start model (``Defense.alignment_defense``).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from defenses import register_defense
from defenses.base import Defense, DefenseContext
from harness.errors import UserError
from harness.models import decoder_layers
from harness.training.examples import IGNORE_INDEX


@dataclass
class VaccineParams:
    rho: float = 2.0  # perturbation norm over all perturbed layers (the authors' README: intensity 2)
    layers: list[int] | None = None  # decoder blocks whose outputs are perturbed; null = every block

    def __post_init__(self) -> None:
        if isinstance(self.rho, bool) or not isinstance(self.rho, int | float) or not math.isfinite(self.rho) \
                or self.rho < 0:
            raise UserError(f"rho: expected a finite number >= 0, got {self.rho!r}")
        if self.layers is not None:
            if not self.layers or any(isinstance(i, bool) or not isinstance(i, int) or i < 0 for i in self.layers):
                raise UserError(f"layers: expected a non-empty list of decoder-layer indices >= 0, or null for "
                                f"all, got {self.layers!r}")
            if len(set(self.layers)) != len(self.layers):
                raise UserError(f"layers: expected distinct indices, got {self.layers!r}")


def causal_lm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The LM loss exactly as transformers computes it (``ForCausalLMLoss`` without ``num_items``):
    float logits, labels shifted left by one (padded with -100), mean over the non-ignored tokens."""
    shifted = F.pad(labels, (0, 1), value=IGNORE_INDEX)[..., 1:].contiguous()
    return F.cross_entropy(logits.float().view(-1, logits.shape[-1]), shifted.view(-1).to(logits.device),
                           ignore_index=IGNORE_INDEX)


def vaccine_perturbation(grads: dict[int, torch.Tensor], rho: float) -> tuple[dict[int, torch.Tensor], float]:
    """eps_l = rho * g_l / ||g|| with ||g|| over all layers together; and ||g||. A zero gradient gives
    a zero perturbation (the authors divide by ||g|| + 1e-7 instead; we keep ||eps|| = rho exact)."""
    norm = torch.stack([g.detach().float().norm() for g in grads.values()]).norm()
    scale = rho / norm if norm > 0 else torch.zeros_like(norm)
    return {layer: (g.detach().float() * scale).to(g.dtype) for layer, g in grads.items()}, float(norm)


@contextlib.contextmanager
def perturbed(model, perturbation: dict[int, torch.Tensor]) -> Iterator[None]:
    """Within the block, every forward pass adds ``perturbation[l]`` to the output of decoder block l."""
    blocks = decoder_layers(model)
    handles = []
    for layer, eps in perturbation.items():
        def hook(_module, _inputs, output, eps=eps):
            if isinstance(output, tuple):
                return (output[0] + eps, *output[1:])
            return output + eps

        handles.append(blocks[layer].register_forward_hook(hook))
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


class VaccineAligner(Defense):
    """The alignment-stage objective (not registered: ``Vaccine.alignment_defense`` returns it; the
    aligned-model cache keys on ``describe()``, i.e. this name and the params)."""

    name = "vaccine_alignment"
    Params = VaccineParams
    replaces_lm_loss = True
    needs_logits = True

    def __init__(self, params: VaccineParams | None = None) -> None:
        super().__init__(params)
        self._layers: list[int] | None = None
        self.last_perturbation: dict[int, torch.Tensor] | None = None  # the latest step's eps (tests read it)

    @property
    def layers(self) -> list[int]:
        if self._layers is None:
            raise RuntimeError("vaccine: layers are known after prepare (they depend on the model)")
        return self._layers

    def prepare(self, ctx: DefenseContext) -> None:
        n = len(decoder_layers(ctx.model))
        wanted = self.params.layers if self.params.layers is not None else list(range(n))
        bad = [i for i in wanted if not 0 <= i < n]
        if bad:
            raise UserError(f"vaccine.layers: layer(s) {bad} out of range; the model has {n} decoder layers "
                            f"(0..{n - 1})")
        self._layers = sorted(wanted)
        ctx.state[self.name] = {"rho": self.params.rho, "layers": self._layers}

    def loss(self, ctx: DefenseContext, batch, hidden):
        missing = [layer for layer in self.layers if layer not in hidden]
        if missing:
            raise RuntimeError(f"vaccine: hidden states of layers {missing} were not captured")
        clean = causal_lm_loss(batch["logits"], batch["labels"])
        # a block below every trainable weight (LoRA on later blocks only) has no gradient: eps_l = 0 there
        grads = {layer: torch.zeros_like(hidden[layer]) for layer in self.layers}
        live = [layer for layer in self.layers if hidden[layer].requires_grad]
        if live:  # releases the first forward's graph (the objective is the second forward's)
            found = torch.autograd.grad(clean, [hidden[layer] for layer in live], allow_unused=True)
            grads.update({layer: g for layer, g in zip(live, found, strict=True) if g is not None})
        eps, grad_norm = vaccine_perturbation(grads, self.params.rho)
        self.last_perturbation = eps
        inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "labels")}
        with perturbed(ctx.model, eps):
            loss = ctx.model(**inputs).loss
        eps_norm = float(torch.stack([e.float().norm() for e in eps.values()]).norm())
        return loss, {"clean_loss": float(clean.detach()), "perturbed_loss": float(loss.detach()),
                      "perturbation_norm": eps_norm, "hidden_grad_norm": grad_norm}


@register_defense
class Vaccine(Defense):
    """The ``vaccine`` row: plain fine-tuning (like ``vanilla``) of its own Vaccine-aligned model."""

    name = "vaccine"
    Params = VaccineParams

    def alignment_defense(self) -> Defense:
        return VaccineAligner(self.params)
