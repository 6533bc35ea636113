"""SafeInstr (Bianchi et al. 2023, "Safety-Tuned LLaMAs"): safety samples mixed into fine-tuning, LM loss only.

The control for ProCon_safe: the same mixing code and defaults (``defenses/safety_mix.py``), no
constraint, so the two rows differ only by the constraint. With equal seeds both see identical batches.
"""

from __future__ import annotations

from defenses import register_defense
from defenses.base import Defense, DefenseContext
from defenses.safety_mix import SafetyMixParams, add_safety_examples, check_safety_data


@register_defense
class SafeInstr(Defense):
    name = "safeinstr"
    Params = SafetyMixParams

    def check(self) -> None:
        check_safety_data(self.params, f"defenses.{self.name}.params")

    def prepare(self, ctx: DefenseContext) -> None:
        if not self.params.lm_loss:
            from harness.errors import UserError

            raise UserError(f"defenses.{self.name}.params.lm_loss: false would make safeinstr train on nothing "
                            "extra; it is the LM-loss-only control")
        add_safety_examples(ctx, self.params, f"defenses.{self.name}.params")
