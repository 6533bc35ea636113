"""ProCon: anchor each training sample's projection onto the refusal direction (Du et al. 2025).

    L = L_LM + lam(t) * mean_{samples, layers, positions} rho( (<h_theta(s), r_l> - target(s, l)) / sigma_l )

The paper's exact formula is not public; this module exposes it as a family of documented knobs:

* ``layers``     decoder blocks constrained (default: the middle third, e.g. 10..19 of 30: the refusal
                 direction is most separable mid-network (Arditi et al. 2024) and the project's pilot
                 saw drift of 0.87 cosine there under vanilla IFT). ``auto``: a band of the same width
                 centred on the layer chosen by the Arditi et al. selection (``ctx.selection``), kept
                 below the pruned last 20 % (see ``auto_band``).
* ``positions``  ``last_prompt`` (the token before the answer, where r is extracted; default) or
                 ``prompt`` (every prompt token).
* ``target``     ``original`` (the aligned model's own projection, computed once in ``prepare``;
                 default: it penalises *change*, so a model that has not moved pays nothing) or
                 ``zero``.
* ``norm``       ``l2`` (squared, default) or ``l1`` (absolute).
* ``scale``      ``std`` divides by sigma_l, the pooled std of reference projections at layer l
                 (default: raw projections grow ~8x with depth, so an unscaled lam means different
                 things per layer) or ``none``.
* ``lam``, ``warmup_fraction``, ``warmup_factor``: lam(t) = lam * warmup_factor for the first
                 warmup_fraction of the steps, then lam (the ProCon^wu schedule; off by default).

Reference projections come from one prompt-only forward pass of the starting model that stops at
the last constrained layer; no reference model stays in memory during training.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Literal

import torch

from defenses import register_defense
from defenses.base import Defense, DefenseContext
from harness.errors import UserError
from harness.hidden import forward_capture, gather_positions
from harness.models import decoder_layers


@dataclass
class ProConParams:
    lam: float = 1.0
    layers: list[int] | Literal["auto"] | None = None  # None = middle third; auto = around the selected layer
    positions: Literal["last_prompt", "prompt"] = "last_prompt"
    target: Literal["original", "zero"] = "original"
    norm: Literal["l2", "l1"] = "l2"
    scale: Literal["std", "none"] = "std"
    warmup_fraction: float = 0.0
    warmup_factor: float = 1.0
    reference_batch_size: int = 32

    def __post_init__(self) -> None:
        if self.lam < 0:
            raise UserError(f"lam: expected >= 0, got {self.lam!r}")
        if not 0 <= self.warmup_fraction <= 1:
            raise UserError(f"warmup_fraction: expected in [0, 1], got {self.warmup_fraction!r}")


def middle_band(n_layers: int) -> list[int]:
    """Layers round(n/3) .. round(2n/3) - 1, at least one: 10..19 for 30 layers, [1] for 2, [0] for 1."""
    lo, hi = round(n_layers / 3), round(2 * n_layers / 3)
    return list(range(min(lo, n_layers - 1), max(hi, lo + 1)))


def auto_band(layer: int, n_layers: int, limit: int) -> list[int]:
    """``middle_band``'s width, centred on ``layer``, shifted to stay inside 0..max(limit, layer+1)-1.

    Same width as the default, so lam (a mean over layers) means the same; ``limit`` is the
    selection's first pruned layer (the last 20 %, where r encodes the next token more than refusal).
    """
    width = len(middle_band(n_layers))
    top = max(limit, layer + 1)
    lo = max(0, min(layer - width // 2, top - width))
    return list(range(lo, min(lo + width, top)))


def resolve_layers(layers: list[int] | str | None, n_layers: int, selection=None) -> list[int]:
    """The constrained layers for a ``layers`` param: a list as given, None = middle third, auto = selection."""
    if layers is None:
        return middle_band(n_layers)
    if layers != "auto":
        return list(layers)
    if selection is None:
        raise UserError("defenses.procon.params.layers: auto needs the direction selection; "
                        "run `procon-bench directions CONFIG --select` first")
    if selection.layer is None:
        raise UserError("defenses.procon.params.layers: auto, but the selection kept no candidate "
                        "(see selection/selection.json); give a list of layers or loosen direction.select")
    return auto_band(selection.layer, n_layers, selection.prune_start)


def prompt_mask(prompt_len: torch.Tensor, width: int, positions: str) -> torch.Tensor:
    """[batch, width] bool mask of the positions the constraint reads."""
    idx = torch.arange(width, device=prompt_len.device).unsqueeze(0)
    if positions == "last_prompt":
        return idx == (prompt_len.unsqueeze(1) - 1)
    return idx < prompt_len.unsqueeze(1)


@register_defense
class ProCon(Defense):
    name = "procon"
    Params = ProConParams
    needs_direction = True

    def __init__(self, params: ProConParams | None = None) -> None:
        super().__init__(params)
        self._layers: list[int] = []
        self.scale_factor = 1.0

    @property
    def layers(self) -> list[int]:
        return self._layers

    @property
    def needs_selection(self) -> bool:
        return self.params.layers == "auto"

    # ------------------------------------------------------------ prepare: references
    def prepare(self, ctx: DefenseContext) -> None:
        if ctx.direction is None:
            raise UserError("defense procon needs a refusal direction (the run computes one from `direction:`)")
        n_layers = len(decoder_layers(ctx.model))
        self._layers = resolve_layers(self.params.layers, n_layers, ctx.selection)
        bad = [layer for layer in self._layers if not 0 <= layer < n_layers]
        if bad:
            raise UserError(f"defenses.procon.params.layers: {bad} out of range 0..{n_layers - 1}")
        device = next(ctx.model.parameters()).device
        self.r = ctx.direction.directions[self._layers].to(device=device, dtype=torch.float32)  # [L, d]
        self.reference = self._reference_projections(ctx, device)  # [N, L, P] (P positions, padded)
        valid = self.reference_mask  # [N, P]
        ref_values = self.reference.permute(1, 0, 2)[:, valid]  # [L, n_valid]
        std = ref_values.std(dim=1) if ref_values.shape[1] > 1 else torch.ones(len(self._layers))
        self.sigma = (std.clamp_min(1e-6) if self.params.scale == "std" else torch.ones_like(std)).to(device)
        ctx.state["procon"] = {"layers": self._layers, "sigma": self.sigma.tolist()}

    @torch.no_grad()
    def _reference_projections(self, ctx: DefenseContext, device) -> torch.Tensor:
        """Projections of every training prompt under the starting model (adapters off)."""
        examples = sorted(ctx.examples, key=lambda e: e.index)
        if [e.index for e in examples] != list(range(len(examples))):
            raise ValueError("training examples must be indexed 0..N-1")
        width = max(e.prompt_len for e in examples) if self.params.positions == "prompt" else 1
        out = torch.zeros(len(examples), len(self._layers), width)
        mask = torch.zeros(len(examples), width, dtype=torch.bool)
        model = ctx.model
        was_training = model.training
        model.eval()
        disable = model.disable_adapter() if hasattr(model, "disable_adapter") else contextlib.nullcontext()
        pad = ctx.tokenizer.pad_token_id
        bs = self.params.reference_batch_size
        with disable:
            for start in range(0, len(examples), bs):
                chunk = examples[start : start + bs]
                plen = torch.tensor([e.prompt_len for e in chunk], device=device)
                w = int(plen.max())
                ids = torch.tensor([e.input_ids[: e.prompt_len] + [pad] * (w - e.prompt_len) for e in chunk], device=device)
                attn = (torch.arange(w, device=device).unsqueeze(0) < plen.unsqueeze(1)).long()
                # The forward runs under the training pass's autocast (the Trainer autocasts only the
                # model's forward; ``loss`` projects outside it, and so does this): step 0 costs zero.
                with ctx.autocast():
                    hidden = forward_capture(model, self._layers, input_ids=ids, attention_mask=attn)
                proj = self._project(hidden, plen)  # [B, L, P']
                rows = slice(start, start + len(chunk))
                if self.params.positions == "last_prompt":
                    out[rows, :, 0] = proj[:, :, 0].float().cpu()
                    mask[rows, 0] = True
                else:
                    out[rows, :, :w] = proj.float().cpu()
                    mask[rows, :w] = prompt_mask(plen, w, "prompt").cpu()
        model.train(was_training)
        self.reference_mask = mask
        return out.to(device)

    def _project(self, hidden: dict[int, torch.Tensor], prompt_len: torch.Tensor) -> torch.Tensor:
        """[B, L, P] projections at the constrained positions (P=1 for last_prompt)."""
        per_layer = []
        for i, layer in enumerate(self._layers):
            h = hidden[layer].float()
            r = self.r[i]
            if self.params.positions == "last_prompt":
                per_layer.append((gather_positions(h, prompt_len - 1) @ r).unsqueeze(-1))
            else:
                per_layer.append(h[:, : int(prompt_len.max())] @ r)
        return torch.stack(per_layer, dim=1)

    # ------------------------------------------------------------ training hooks
    def on_step(self, ctx: DefenseContext, step: int) -> None:
        warm = step < self.params.warmup_fraction * max(ctx.total_steps, 1)
        self.scale_factor = self.params.warmup_factor if warm else 1.0

    def loss(self, ctx: DefenseContext, batch, hidden):
        prompt_len = batch["prompt_len"]
        proj = self._project(hidden, prompt_len)  # [B, L, P]
        width = proj.shape[-1]
        if self.params.target == "original":
            target = self.reference[batch["sample_index"], :, :width]
        else:
            target = torch.zeros_like(proj)
        if self.params.positions == "last_prompt":
            mask = torch.ones(proj.shape[0], width, dtype=torch.bool, device=proj.device)
        else:
            mask = prompt_mask(prompt_len, width, "prompt")
        diff = (proj - target) / self.sigma.view(1, -1, 1)
        term = diff.pow(2) if self.params.norm == "l2" else diff.abs()
        weights = mask.unsqueeze(1).expand_as(term).float()
        l_proj = (term * weights).sum() / weights.sum().clamp_min(1)
        lam = self.params.lam * self.scale_factor
        return lam * l_proj, {"proj_loss": float(l_proj.detach()), "lambda": lam,
                              "proj_shift": float(((proj - target).detach() * weights).sum() / weights.sum().clamp_min(1))}
