"""Freeze the safety layers during fine-tuning (Li et al. 2024, "Safety Layers in Aligned Large Language
Models: The Key to LLM Security", SPPFT: Safely Partial-Parameter Fine-Tuning).

Li et al. find a small contiguous band of middle layers ("safety layers") where an aligned model's
representations of malicious and normal queries come apart, and fine-tune with those layers' parameters
fixed. Here every parameter of the chosen decoder blocks gets ``requires_grad = False`` in ``prepare``,
before the optimiser is built: the blocks' LoRA matrices under LoRA, all their weights (attention, MLP,
norms) under full fine-tuning. Nothing else changes; the LM loss is the only loss.

The layers: ``layers`` as a list or a range ``"a-b"``, or null (default) for a band chosen from the
refusal direction's per-layer separation d' (``ctx.direction.stats[l]["separation"]``, the harmful/
harmless gap of projections on r over their pooled std; the directions module computes it on the start
model). Li et al. locate their layers with a cosine-similarity gap analysis plus over-rejection
scaling experiments, which this benchmark does not re-run; our rule is a stand-in built on the same
idea, "where the model tells harmful from harmless":

* width w = ``width`` or max(1, round(L / 6)) (5 of SmolLM2's 30 layers: "a small set of layers");
* candidates: bands of w consecutive layers ending below the last ``exclude_last_fraction`` of the
  layers (default 20 %, as the Arditi et al. selection prunes: there r encodes the next token more
  than the refusal decision);
* score: the band's mean separation; the chosen band is the *earliest* whose score is within
  ``tolerance`` (default 5 %) of the best. The separation rises and then plateaus; Li et al.'s safety
  layers sit where the distinction forms (the start of the plateau), not at its noisy maximum, and with
  tolerance 0 the rule is the plain argmax.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from defenses import register_defense
from defenses.base import Defense, DefenseContext
from harness.errors import UserError
from harness.models import decoder_layers

_RANGE = re.compile(r"^\s*(\d+)\s*-\s*(\d+)\s*$")


@dataclass
class FreezeSafetyLayersParams:
    layers: list[int] | str | None = None  # list | "a-b" | null = chosen from the direction's separation
    width: int | None = None  # band width for null layers; null = max(1, round(L / 6))
    exclude_last_fraction: float = 0.2  # the band must end before the last 20 % of the layers
    tolerance: float = 0.05  # earliest band within 5 % of the best mean separation

    def __post_init__(self) -> None:
        if isinstance(self.layers, str):
            match = _RANGE.match(self.layers)
            if not match or int(match[1]) > int(match[2]):
                raise UserError(f"layers: expected a list, a range like '10-14' or null; got {self.layers!r}")
            self.layers = list(range(int(match[1]), int(match[2]) + 1))
        if isinstance(self.layers, list) and not self.layers:
            raise UserError("layers: empty list; give the layers to freeze, or null to choose them")
        if self.width is not None and self.width < 1:
            raise UserError(f"width: expected an integer >= 1, got {self.width!r}")
        if not 0 <= self.exclude_last_fraction < 1:
            raise UserError(f"exclude_last_fraction: expected in [0, 1), got {self.exclude_last_fraction!r}")
        if not 0 <= self.tolerance < 1:
            raise UserError(f"tolerance: expected in [0, 1), got {self.tolerance!r}")


def safety_band(separation: list[float], width: int | None = None, exclude_last_fraction: float = 0.2,
                tolerance: float = 0.05) -> list[int]:
    """The earliest band of ``width`` layers, ending before int(L * (1 - exclude_last_fraction)), whose
    mean separation is within ``tolerance`` (relative) of the best such band's."""
    n = len(separation)
    width = width or max(1, round(n / 6))
    limit = max(int(n * (1 - exclude_last_fraction)), width)  # first excluded layer (at least one band)
    if width > n:
        raise UserError(f"width {width} > the model's {n} layers")
    if any(math.isnan(s) for s in separation[:limit]):
        raise UserError("the refusal direction's separation is NaN at some layer (too few direction prompts?); "
                        "give `layers` explicitly")
    scores = [sum(separation[lo : lo + width]) / width for lo in range(limit - width + 1)]
    best = max(scores)
    threshold = best - tolerance * abs(best)
    lo = next(i for i, s in enumerate(scores) if s >= threshold)
    return list(range(lo, lo + width))


@register_defense
class FreezeSafetyLayers(Defense):
    name = "freeze_safety_layers"
    Params = FreezeSafetyLayersParams

    @property
    def needs_direction(self) -> bool:  # only the automatic band reads the direction
        return self.params.layers is None

    def prepare(self, ctx: DefenseContext) -> None:
        p = self.params
        blocks = decoder_layers(ctx.model)
        n = len(blocks)
        if p.layers is None:
            if ctx.direction is None:
                raise UserError(f"defense {self.name}: layers null needs the refusal direction's separation "
                                "(the run computes it from `direction:`); or give `layers`")
            separation = [float(s["separation"]) for s in ctx.direction.stats]
            if len(separation) != n:
                raise UserError(f"defense {self.name}: the direction has {len(separation)} layers, the model {n}")
            self.frozen = safety_band(separation, p.width, p.exclude_last_fraction, p.tolerance)
        else:
            self.frozen = list(p.layers)
        bad = [i for i in self.frozen if not 0 <= i < n]
        if bad:
            raise UserError(f"defenses.{self.name}.params.layers: {bad} out of range 0..{n - 1}")
        frozen_params = 0
        for i in self.frozen:
            for param in blocks[i].parameters():
                if param.requires_grad:
                    param.requires_grad_(False)
                    frozen_params += param.numel()
        trainable = sum(param.numel() for param in ctx.model.parameters() if param.requires_grad)
        if trainable == 0:
            raise UserError(f"defense {self.name}: freezing layers {self.frozen} leaves nothing to train")
        ctx.state[self.name] = {"layers": self.frozen, "frozen_parameters": frozen_params,
                                "trainable_parameters": trainable}
