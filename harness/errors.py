"""One exception type for bad user input: the CLI turns it into a one-line message and exit code 2."""

from __future__ import annotations

from collections.abc import Iterable


class UserError(Exception):
    """Bad config, path, name or data supplied by the user (never a bug in our code)."""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise UserError(message)


def unknown_name(kind: str, name: object, accepted: Iterable[str]) -> UserError:
    """The standard 'unknown X; accepted: a, b, c' error used by every registry."""
    choices = ", ".join(sorted(accepted)) or "(none registered)"
    return UserError(f"unknown {kind} {name!r}; accepted: {choices}")
