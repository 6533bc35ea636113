"""Defense registry: ``@register_defense`` a ``Defense`` subclass; ``build_defense(name, params)`` makes one.

Each defense module registers itself on import; ``BUILTIN_MODULES`` lists ours.
"""

from __future__ import annotations

import importlib
from typing import Any

from defenses.base import Defense, DefenseContext
from harness.errors import unknown_name

BUILTIN_MODULES = ("defenses.vanilla", "defenses.procon", "defenses.safeinstr", "defenses.kl_anchor",
                   "defenses.constrained_sft", "defenses.freeze_safety_layers", "defenses.lisa",
                   "defenses.vaccine", "defenses.booster", "defenses.safelora", "defenses.bea")
_REGISTRY: dict[str, type[Defense]] = {}

__all__ = ["Defense", "DefenseContext", "available_defenses", "build_defense", "register_defense"]


def register_defense(cls: type[Defense]) -> type[Defense]:
    _REGISTRY[cls.name] = cls
    return cls


def _load_builtins() -> None:
    for module in BUILTIN_MODULES:
        importlib.import_module(module)


def available_defenses() -> list[str]:
    _load_builtins()
    return sorted(_REGISTRY)


def build_defense(name: str, params: dict[str, Any] | None = None, where: str | None = None) -> Defense:
    from harness.config import from_dict

    _load_builtins()
    if name not in _REGISTRY:
        raise unknown_name("defense", name, _REGISTRY)
    cls = _REGISTRY[name]
    return cls(from_dict(cls.Params, params or {}, where or f"defenses.{name}.params"))
