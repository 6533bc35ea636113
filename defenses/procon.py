"""ProCon: anchor each training sample's projection onto the refusal direction (Du et al. 2025).

    L = L_LM + lam(t) * sum_{s, l, p} w_l m(s, p) rho((<h_theta(s)_{l,p}, r_l> - target(s, l, p)) / sigma_l)
                        / sum_{s, l, p} w_l m(s, p)

The paper's exact formula is not public; this module exposes it as a family of documented knobs:

* ``layers``     decoder blocks constrained: a list, a range string ``"10-19"``, ``all``, ``auto``, or
                 null = the middle third (10..19 of 30: the refusal direction is most separable
                 mid-network (Arditi et al. 2024) and the project's pilot saw drift of 0.87 cosine
                 there under vanilla IFT). ``auto``: a band of the same width centred on the layer
                 chosen by the Arditi et al. selection (``ctx.selection``), below the pruned last 20 %.
* ``layer_weights`` w_l, one per constrained layer (default equal).
* ``positions``  ``last_prompt`` (the token before the answer, where r is extracted; default),
                 ``prompt`` (every prompt token), ``post_instruction`` (the chat template's tokens after
                 the user turn) or ``response`` (every response token, EOS included).
* ``target``     ``original`` (the start model's own projection, computed once in ``prepare``;
                 default: it penalises *change*, so a model that has not moved pays nothing),
                 ``class_mean`` (the start model's mean projection of the sample's class, harmful or
                 harmless, at the last prompt token) or ``zero``.
* ``norm``       ``l2`` (squared, default), ``l1`` (absolute) or ``hinge`` (squared, one-sided: only a
                 drop of a harmful sample's projection, or a rise of a harmless one, pays).
* ``scale``      ``std`` divides by sigma_l, the pooled std of reference projections at layer l
                 (default: raw projections grow ~8x with depth, so an unscaled lam means different
                 things per layer) or ``none``.
* ``lam``, ``schedule``, ``warmup_fraction``/``warmup_steps``, ``warmup_factor``: lam(t) =
                 lam * warmup_multiplier(t) (``defenses/schedules.py``; the ProCon^wu warm-up).
* ``direction``  ``fixed`` (r of the start model, default) or ``refresh``: r re-extracted on the
                 training model from the direction data every ``refresh_every`` steps (the target
                 then is the start model's hidden state projected on the current r; last_prompt only).
* ``safety``     safety samples mixed into every batch (``defenses/safety_mix.py``; ProCon_safe), and
                 ``constrain``: which samples the constraint reads (``all``, ``task``, ``safety``).

Reference projections come from one forward pass of the starting model (prompt-only unless
``positions: response``) that stops at the last constrained layer; no reference model stays in
memory during training. Registered variants differ only in defaults: ``procon``, ``procon_wu``,
``procon_safe``, ``procon_wu_safe``.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import Literal

import torch

from defenses import register_defense
from defenses.base import Defense, DefenseContext
from defenses.safety_mix import SafetyMixParams, add_safety_examples, check_safety_data
from defenses.schedules import warmup_multiplier
from harness.errors import UserError
from harness.hidden import forward_capture, gather_positions
from harness.models import decoder_layers

HARMFUL_KINDS = ("harmful_mix", "safety_harmful")  # samples of the harmful class (others: harmless)
_RANGE = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*$")


@dataclass
class ProConParams:
    lam: float = 10.0
    layers: list[int] | str | None = None  # list | "10-19" | all | auto | null = middle third
    layer_weights: list[float] | None = None
    positions: Literal["last_prompt", "prompt", "post_instruction", "response"] = "last_prompt"
    target: Literal["original", "class_mean", "zero"] = "original"
    norm: Literal["l2", "l1", "hinge"] = "l2"
    scale: Literal["std", "none"] = "std"
    schedule: Literal["step", "linear", "cosine"] = "step"
    warmup_fraction: float = 0.0
    warmup_steps: int | None = None  # overrides warmup_fraction
    warmup_factor: float = 1.0
    direction: Literal["fixed", "refresh"] = "fixed"
    refresh_every: int | None = None
    safety: SafetyMixParams | None = None
    constrain: Literal["all", "task", "safety"] = "all"
    reference_batch_size: int = 32

    def __post_init__(self) -> None:
        if self.lam < 0:
            raise UserError(f"lam: expected >= 0, got {self.lam!r}")
        if not 0 <= self.warmup_fraction <= 1:
            raise UserError(f"warmup_fraction: expected in [0, 1], got {self.warmup_fraction!r}")
        if self.warmup_steps is not None and self.warmup_steps < 0:
            raise UserError(f"warmup_steps: expected >= 0, got {self.warmup_steps!r}")
        if self.warmup_factor < 0:
            raise UserError(f"warmup_factor: expected >= 0, got {self.warmup_factor!r}")
        if isinstance(self.layers, str):
            self.layers = _parse_layers(self.layers)
        if self.layer_weights is not None:
            if not self.layer_weights or any(w < 0 for w in self.layer_weights) or sum(self.layer_weights) <= 0:
                raise UserError(f"layer_weights: expected non-negative weights with a positive sum, got "
                                f"{self.layer_weights!r}")
            if isinstance(self.layers, list) and len(self.layer_weights) != len(self.layers):
                raise UserError(f"layer_weights: {len(self.layer_weights)} weights for {len(self.layers)} layers")
        if self.direction == "refresh":
            if not self.refresh_every or self.refresh_every < 1:
                raise UserError("refresh_every: direction refresh needs a number of steps >= 1")
            if self.positions != "last_prompt":
                raise UserError("direction: refresh is implemented for positions: last_prompt only (the targets "
                                "are the start model's hidden states there, re-projected on the current r)")
        if self.constrain == "safety" and self.safety is None:
            raise UserError("constrain: safety needs safety samples (set `safety:`)")
        if self.reference_batch_size <= 0:
            raise UserError(f"reference_batch_size: expected a positive integer, got {self.reference_batch_size!r}")


def _parse_layers(text: str) -> list[int] | str:
    """``"10-19"`` -> [10..19] (so the stage key does not depend on the spelling); auto/all stay."""
    if text in ("auto", "all"):
        return text
    match = _RANGE.match(text)
    if not match or int(match[1]) > int(match[2]):
        raise UserError(f"layers: expected a list, a range like '10-19', 'all', 'auto' or null; got {text!r}")
    return list(range(int(match[1]), int(match[2]) + 1))


@dataclass
class ProConWuParams(ProConParams):
    """ProCon^wu: the pilot's warm-up, lam x10 for the first 20 % of the steps."""

    warmup_fraction: float = 0.2
    warmup_factor: float = 10.0


@dataclass
class ProConSafeParams(ProConParams):
    """ProCon_safe: 3 harmful instructions with built-in refusals added to every batch."""

    safety: SafetyMixParams | None = field(default_factory=SafetyMixParams)


@dataclass
class ProConWuSafeParams(ProConWuParams):
    """ProCon^wu_safe, the paper's enhanced method: both, at lam 1 (x10 in the warm-up): the best row of
    the lambda sweep (README "The ablation": as safe as lam 10, 4 points more task accuracy, n.s.)."""

    lam: float = 1.0
    safety: SafetyMixParams | None = field(default_factory=SafetyMixParams)


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
    """The constrained layers: a list as given, None = middle third, all, auto = around the selection."""
    if layers is None:
        return middle_band(n_layers)
    if layers == "all":
        return list(range(n_layers))
    if layers != "auto":
        return list(layers)
    if selection is None:
        raise UserError("defenses.procon.params.layers: auto needs the direction selection; "
                        "run `procon-bench directions CONFIG --select` first")
    if selection.layer is None:
        raise UserError("defenses.procon.params.layers: auto, but the selection kept no candidate "
                        "(see selection/selection.json); give a list of layers or loosen direction.select")
    return auto_band(selection.layer, n_layers, selection.prune_start)


def position_mask(positions: str, prompt_len: torch.Tensor, attention_mask: torch.Tensor | None, width: int,
                  n_post: int = 1) -> torch.Tensor:
    """[batch, width] bool mask of the positions the constraint reads."""
    idx = torch.arange(width, device=prompt_len.device).unsqueeze(0)
    plen = prompt_len.unsqueeze(1)
    if positions == "last_prompt":
        return idx == plen - 1
    if positions == "prompt":
        return idx < plen
    if positions == "post_instruction":
        return (idx >= plen - n_post) & (idx < plen)
    if positions == "response":
        real = attention_mask[:, :width].bool() if attention_mask is not None else torch.ones_like(idx, dtype=torch.bool)
        return (idx >= plen) & real
    raise ValueError(f"unknown positions {positions!r}")


def penalty(diff: torch.Tensor, norm: str, harmful: torch.Tensor) -> torch.Tensor:
    """rho of the scaled deviation; ``harmful`` [B] bool decides the hinge's side."""
    if norm == "l2":
        return diff.pow(2)
    if norm == "l1":
        return diff.abs()
    sign = torch.where(harmful, -1.0, 1.0).to(diff.dtype).view(-1, *([1] * (diff.dim() - 1)))
    return torch.relu(sign * diff).pow(2)  # harmful: only a drop pays; harmless: only a rise


@register_defense
class ProCon(Defense):
    name = "procon"
    Params = ProConParams
    needs_direction = True

    def __init__(self, params: ProConParams | None = None) -> None:
        super().__init__(params)
        self._layers: list[int] = []
        self.multiplier = 1.0

    @property
    def layers(self) -> list[int]:
        return self._layers

    @property
    def needs_selection(self) -> bool:
        return self.params.layers == "auto"

    @property
    def needs_direction_prompts(self) -> bool:
        return self.params.direction == "refresh"

    def check(self) -> None:
        if self.params.safety is not None:
            check_safety_data(self.params.safety, f"defenses.{self.name}.params.safety")

    # ------------------------------------------------------------ prepare: references
    def prepare(self, ctx: DefenseContext) -> None:
        p = self.params
        if ctx.direction is None:
            raise UserError(f"defense {self.name} needs a refusal direction (the run computes one from `direction:`)")
        if p.safety is not None:
            add_safety_examples(ctx, p.safety, f"defenses.{self.name}.params.safety")
        n_layers = len(decoder_layers(ctx.model))
        self._layers = resolve_layers(p.layers, n_layers, ctx.selection)
        bad = [layer for layer in self._layers if not 0 <= layer < n_layers]
        if bad:
            raise UserError(f"defenses.{self.name}.params.layers: {bad} out of range 0..{n_layers - 1}")
        if p.layer_weights is not None and len(p.layer_weights) != len(self._layers):
            raise UserError(f"defenses.{self.name}.params.layer_weights: {len(p.layer_weights)} weights for the "
                            f"{len(self._layers)} constrained layers {self._layers}")
        if p.direction == "refresh" and ctx.direction_prompts is None:
            raise UserError(f"defenses.{self.name}.params.direction: refresh needs the direction data")
        device = next(ctx.model.parameters()).device
        self.r0 = ctx.direction.directions[self._layers].to(device=device, dtype=torch.float32)  # [L, d]
        self.r = self.r0.clone()
        weights = torch.tensor(p.layer_weights if p.layer_weights is not None else [1.0] * len(self._layers))
        self.layer_weights = weights.to(device)
        examples = sorted(ctx.examples, key=lambda e: e.index)
        if [e.index for e in examples] != list(range(len(examples))):
            raise ValueError("training examples must be indexed 0..N-1")
        self.harmful = torch.tensor([e.kind in HARMFUL_KINDS for e in examples], device=device)
        is_safety = torch.tensor([e.kind.startswith("safety") for e in examples], device=device)
        self.constrained = {"all": torch.ones_like(is_safety), "task": ~is_safety, "safety": is_safety}[p.constrain]
        self.n_post = 1
        if p.positions == "post_instruction":
            from harness.selection import post_instruction_positions

            self.n_post = len(post_instruction_positions(ctx.tokenizer, ctx.system_prompt))
        # class means of the start model at the last prompt token, projected on r: [2, L] (harmless, harmful)
        means = torch.stack([ctx.direction.mean_harmless[self._layers], ctx.direction.mean_harmful[self._layers]])
        self.class_means = means.to(device=device, dtype=torch.float32)  # [2, L, d]
        self.reference, valid, self.reference_states = self._reference(ctx, examples, device)
        ref_values = self.reference.permute(1, 0, 2)[:, valid]  # [L, n_valid]
        std = ref_values.std(dim=1) if ref_values.shape[1] > 1 else torch.ones(len(self._layers), device=device)
        self.sigma = (std.clamp_min(1e-6) if p.scale == "std" else torch.ones_like(std)).to(device)
        ctx.state[self.name] = {"layers": self._layers, "sigma": self.sigma.tolist(), "n_post": self.n_post,
                                "constrained_samples": int(self.constrained.sum())}

    @torch.no_grad()
    def _reference(self, ctx: DefenseContext, examples: list, device):
        """Start-model projections [N, L, W] at every position, their valid mask [N, W], and (refresh)
        the start model's last-prompt hidden states [N, L, d]. Adapters off, training autocast."""
        p = self.params
        full = p.positions == "response"
        width = max(len(e.input_ids) if full else e.prompt_len for e in examples)
        out = torch.zeros(len(examples), len(self._layers), width, device=device)
        valid = torch.zeros(len(examples), width, dtype=torch.bool, device=device)
        states = torch.zeros(len(examples), len(self._layers), self.r0.shape[1], device=device) \
            if p.direction == "refresh" else None
        model = ctx.model
        was_training = model.training
        model.eval()
        disable = model.disable_adapter() if hasattr(model, "disable_adapter") else contextlib.nullcontext()
        pad = ctx.tokenizer.pad_token_id
        bs = p.reference_batch_size
        with disable:
            for start in range(0, len(examples), bs):
                chunk = examples[start : start + bs]
                plen = torch.tensor([e.prompt_len for e in chunk], device=device)
                seqs = [e.input_ids if full else e.input_ids[: e.prompt_len] for e in chunk]
                lens = torch.tensor([len(s) for s in seqs], device=device)
                w = int(lens.max())
                ids = torch.tensor([s + [pad] * (w - len(s)) for s in seqs], device=device)
                attn = (torch.arange(w, device=device).unsqueeze(0) < lens.unsqueeze(1)).long()
                # The forward runs under the training pass's autocast (the Trainer autocasts only the
                # model's forward; ``loss`` projects outside it, and so does this): step 0 costs zero.
                with ctx.autocast():
                    hidden = forward_capture(model, self._layers, input_ids=ids, attention_mask=attn)
                rows = slice(start, start + len(chunk))
                out[rows, :, :w] = self._project(hidden, w)
                valid[rows, :w] = position_mask(p.positions, plen, attn, w, self.n_post)
                if states is not None:
                    states[rows] = torch.stack([gather_positions(hidden[layer].float(), plen - 1)
                                                for layer in self._layers], dim=1)
        model.train(was_training)
        return out, valid, states

    def _project(self, hidden: dict[int, torch.Tensor], width: int) -> torch.Tensor:
        """[B, L, width] projections on the current r at every position."""
        return torch.stack([hidden[layer][:, :width].float() @ self.r[i] for i, layer in enumerate(self._layers)],
                           dim=1)

    # ------------------------------------------------------------ training hooks
    def on_step(self, ctx: DefenseContext, step: int) -> None:
        p = self.params
        warmup = p.warmup_steps if p.warmup_steps is not None else round(p.warmup_fraction * max(ctx.total_steps, 1))
        self.multiplier = warmup_multiplier(p.schedule, step, warmup, p.warmup_factor)
        if p.direction == "refresh" and step > 0 and step % p.refresh_every == 0:
            self._refresh(ctx)

    @torch.no_grad()
    def _refresh(self, ctx: DefenseContext) -> None:
        """Re-extract r on the training model (difference in means of the direction data)."""
        from harness.directions import last_prompt_states

        harmful, harmless = ctx.direction_prompts
        kw = {"system_prompt": ctx.system_prompt, "layers": self._layers}
        diff = (last_prompt_states(ctx.model, ctx.tokenizer, harmful, **kw).mean(0)
                - last_prompt_states(ctx.model, ctx.tokenizer, harmless, **kw).mean(0))  # [L, d]
        self.r = (diff / diff.norm(dim=-1, keepdim=True).clamp_min(1e-12)).to(self.r0.device)

    def _target(self, batch, width: int) -> torch.Tensor:
        p = self.params
        idx = batch["sample_index"]
        if p.target == "zero":
            return torch.zeros(len(idx), len(self._layers), width, device=self.r.device)
        if p.target == "class_mean":
            means = self.class_means[self.harmful[idx].long()]  # [B, L, d]
            return torch.einsum("bld,ld->bl", means, self.r).unsqueeze(-1).expand(-1, -1, width)
        if self.reference_states is not None:  # refresh: the start's states on the current r
            value = torch.einsum("bld,ld->bl", self.reference_states[idx], self.r)
            return value.unsqueeze(-1).expand(-1, -1, width)
        ref = self.reference[idx, :, :width]
        if ref.shape[-1] < width:  # prompt-only references are narrower than full sequences
            ref = torch.nn.functional.pad(ref, (0, width - ref.shape[-1]))
        return ref

    def loss(self, ctx: DefenseContext, batch, hidden):
        p = self.params
        prompt_len, idx = batch["prompt_len"], batch["sample_index"]
        width = int(prompt_len.max()) if p.positions in ("last_prompt", "prompt", "post_instruction") \
            else batch["input_ids"].shape[1]
        proj = self._project(hidden, width)  # [B, L, W]
        target = self._target(batch, width)
        mask = position_mask(p.positions, prompt_len, batch.get("attention_mask"), width, self.n_post)
        mask = mask & self.constrained[idx].unsqueeze(1)
        weights = mask.unsqueeze(1).float() * self.layer_weights.view(1, -1, 1)  # [B, L, W]
        diff = (proj - target) / self.sigma.view(1, -1, 1)
        l_proj = (penalty(diff, p.norm, self.harmful[idx]) * weights).sum() / weights.sum().clamp_min(1e-12)
        lam = p.lam * self.multiplier
        shift = ((proj - target).detach() * weights).sum() / weights.sum().clamp_min(1e-12)
        logs = {"proj_loss": float(l_proj.detach()), "lambda": lam, "proj_shift": float(shift),
                "constrained": float(mask.any(1).float().sum())}
        if p.direction == "refresh":
            logs["r_cosine"] = float(torch.nn.functional.cosine_similarity(self.r, self.r0, dim=-1).mean())
        return lam * l_proj, logs


@register_defense
class ProConWu(ProCon):
    name = "procon_wu"
    Params = ProConWuParams


@register_defense
class ProConSafe(ProCon):
    name = "procon_safe"
    Params = ProConSafeParams


@register_defense
class ProConWuSafe(ProCon):
    name = "procon_wu_safe"
    Params = ProConWuSafeParams
