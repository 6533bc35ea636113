"""Plain instruction fine-tuning: the LM loss alone (the base class's no-op hooks)."""

from defenses import register_defense
from defenses.base import Defense


@register_defense
class Vanilla(Defense):
    name = "vanilla"
