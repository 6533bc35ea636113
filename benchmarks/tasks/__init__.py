"""Built-in generated task sets: deterministic generators registered by name (used as `builtin: NAME`)."""

from __future__ import annotations

from collections.abc import Callable

from benchmarks.tasks import string_ops

GENERATED_SETS: dict[str, Callable[[], list[dict]]] = {"string-ops": string_ops.rows}
