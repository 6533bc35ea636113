"""Settings of the direction selection (Arditi et al. 2024); kept free of torch so configs load fast."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.data import DataSpec
from harness.errors import UserError

# First tokens of the built-in models' refusals (the refusal score sums their next-token probability).
# smollm2-135m-instruct: measured on the quickstart's aligned model (greedy, builtin val, 30 + 30
# prompts, keyword-inclusive judge): all 33 refusals start with "I" (27: I cannot / I'm sorry / ...)
# or "Sorry" (6); none of the 27 other answers starts with either ("The", "In", "To", ...).
# tiny-random: random weights, nothing to measure; "I" is Arditi et al.'s choice for most chat models.
DEFAULT_REFUSAL_TOKENS: dict[str, list[str]] = {
    "smollm2-135m-instruct": ["I", "Sorry"],
    "tiny-random": ["I"],
}
GENERIC_REFUSAL_TOKENS = ["I"]


@dataclass
class SelectionConfig:
    """Candidates r_{l,p} (layer l, post-instruction position p) and the filters that keep one.

    Candidates are difference-in-means vectors of the ``direction:`` data; the scores use the
    validation prompts here (Arditi et al.: separate train/val sets).
    """

    harmful: DataSpec = field(default_factory=lambda: DataSpec(builtin="harmful", split="val"))
    harmless: DataSpec = field(default_factory=lambda: DataSpec(builtin="harmless", split="val"))
    # Offsets from the last prompt token (-1 = the token before the answer); null = every token the
    # chat template puts after the instruction (SmolLM2: -1..-5, "<|im_end|>\n<|im_start|>assistant\n").
    positions: list[int] | None = None
    # Single tokens whose next-token probability at the answer's first position counts as refusal;
    # null = the built-in model's default (DEFAULT_REFUSAL_TOKENS), else ["I"].
    refusal_tokens: list[str] | None = None
    ablation_min_drop: float = 0.0  # keep if baseline(harmful) - ablated(harmful) > this
    addition_min_rise: float = 0.0  # keep if added(harmless) - baseline(harmless) > this
    addition_min_score: float | None = None  # and added(harmless) > this (Arditi's induce threshold, 0.0); null = off
    kl_threshold: float | None = 0.1  # keep if KL(base || ablated) on harmless <= this; null = off
    prune_layer_fraction: float = 0.2  # drop layers >= int(L * (1 - fraction)) (Arditi: the last 20 %)
    batch_size: int = 32
    max_prompt_length: int = 256

    def __post_init__(self) -> None:
        if self.positions is not None and (not self.positions or any(p >= 0 for p in self.positions)):
            raise UserError(f"positions: expected negative offsets from the last prompt token (-1, -2, ...), "
                            f"got {self.positions!r}")
        if self.refusal_tokens is not None and not self.refusal_tokens:
            raise UserError("refusal_tokens: expected at least one token, or null for the model's default")
        if not 0 <= self.prune_layer_fraction < 1:
            raise UserError(f"prune_layer_fraction: expected in [0, 1), got {self.prune_layer_fraction!r}")
        if self.kl_threshold is not None and self.kl_threshold < 0:
            raise UserError(f"kl_threshold: expected >= 0 or null, got {self.kl_threshold!r}")
        for name in ("batch_size", "max_prompt_length"):
            if getattr(self, name) <= 0:
                raise UserError(f"{name}: expected a positive integer, got {getattr(self, name)!r}")

    def tokens_for(self, model_ref: str) -> list[str]:
        """The refusal tokens: configured, else the built-in model's default, else ["I"]."""
        if self.refusal_tokens is not None:
            return list(self.refusal_tokens)
        return list(DEFAULT_REFUSAL_TOKENS.get(model_ref, GENERIC_REFUSAL_TOKENS))


@dataclass
class InterventionConfig:
    """Held-out prompts (test split: neither the direction's nor the selection's data) and decoding."""

    harmful: DataSpec = field(default_factory=lambda: DataSpec(builtin="harmful", split="test", limit=64))
    harmless: DataSpec = field(default_factory=lambda: DataSpec(builtin="harmless", split="test", limit=64))
    judge: str | None = None  # null = the run's evaluation.judge
    max_new_tokens: int = 24
    coeff: float = 1.0  # activation addition adds coeff * (mean harmful - mean harmless)
    batch_size: int = 32

    def __post_init__(self) -> None:
        if self.max_new_tokens <= 0 or self.batch_size <= 0:
            raise UserError("max_new_tokens and batch_size: expected positive integers")
