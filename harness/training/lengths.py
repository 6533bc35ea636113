"""Length limits: reject settings that train on nothing, and count what ``max_length`` cuts off.

An example is encoded as prompt (left-truncated to ``max_prompt_length``) + response + EOS, cut at
``max_length``. A cut response loses its EOS (the model never learns to stop there); a prompt that
fills ``max_length`` leaves no response token, so the example adds nothing but a zero loss.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from harness.errors import UserError


def validate_lengths(cfg: Any) -> None:
    """Up-front check of a TrainConfig's length fields (messages name the field; the config loader
    adds its path, e.g. ``config.training.``)."""
    if cfg.max_prompt_length >= cfg.max_length:
        raise UserError(f"max_prompt_length: expected < max_length ({cfg.max_length}), got {cfg.max_prompt_length} "
                        "(a prompt that long leaves no response token to train on)")
    fraction = cfg.max_truncated_fraction
    if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 <= fraction <= 1:
        raise UserError(f"max_truncated_fraction: expected a fraction in [0, 1], got {fraction!r}")


@dataclass
class TruncationStats:
    """Per-run count of examples that ``max_length`` cut (written to train_config.json)."""

    examples: int
    truncated: int  # response cut at max_length: lost (at least) its EOS
    empty: int  # no response token left: trained on nothing
    max_length: int
    max_prompt_length: int

    @property
    def truncated_fraction(self) -> float:
        return self.truncated / self.examples if self.examples else 0.0

    def summary(self) -> str:
        return (f"{self.examples} examples: {self.truncated} responses cut at max_length {self.max_length} "
                f"({100 * self.truncated_fraction:.1f}%, lost their EOS), {self.empty} with no response token left")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "truncated_fraction": round(self.truncated_fraction, 6)}


def truncation_stats(examples: Sequence, max_length: int, max_prompt_length: int) -> TruncationStats:
    """Count cut and emptied examples (``harness.training.examples.Example``)."""
    return TruncationStats(len(examples), sum(ex.truncated for ex in examples),
                           sum(ex.response_tokens == 0 for ex in examples), max_length, max_prompt_length)


def check_truncation(stats: TruncationStats, cfg: Any, where: str = "training") -> None:
    """Fail (one line) when an example trains on nothing or too many responses lost their end."""
    if stats.empty:
        raise UserError(f"{where}.max_length: {stats.empty} of {stats.examples} examples have no response token "
                        f"left at max_length {stats.max_length} (prompts up to max_prompt_length "
                        f"{stats.max_prompt_length}); raise {where}.max_length or lower {where}.max_prompt_length")
    limit = cfg.max_truncated_fraction
    if stats.truncated_fraction > limit:
        raise UserError(f"{where}.max_length: {stats.truncated} of {stats.examples} responses "
                        f"({100 * stats.truncated_fraction:.1f}%) are cut at max_length {stats.max_length} and lose "
                        f"their EOS; accepted: at most {where}.max_truncated_fraction = {limit}; raise "
                        f"{where}.max_length (or max_truncated_fraction)")
