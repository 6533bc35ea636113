"""What every judge returns, and the registry that maps a judge name to a judge.

Judges carry a versioned ``id`` that is stored in every verdict, so a number in a results file can
always be traced to the exact phrase list or classifier that produced it (changing a list changes
the id, and the regression gate refuses to compare numbers across ids).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from harness.errors import expect, unknown_name


@dataclass
class Verdict:
    """One judged response: did the model refuse, which judge said so, and why (the matched phrase)."""

    refused: bool
    judge: str
    evidence: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Judge(ABC):
    """Decides, per (prompt, response) pair, whether the model refused."""

    id: str  # versioned, e.g. "keyword:gcg-29@1"

    @abstractmethod
    def judge(self, prompts: list[str], responses: list[str]) -> list[Verdict]:
        """One verdict per response, in order."""

    @staticmethod
    def check_lengths(prompts: list[str], responses: list[str]) -> None:
        expect(
            len(prompts) == len(responses),
            f"judge input mismatch: {len(prompts)} prompts but {len(responses)} responses; expected one response per prompt",
        )


JudgeFactory = Callable[[], Judge]
_JUDGES: dict[str, JudgeFactory] = {}


def register_judge(name: str) -> Callable[[JudgeFactory], JudgeFactory]:
    """Decorator: register a judge class (or zero-argument factory) under ``name``."""

    def decorator(factory: JudgeFactory) -> JudgeFactory:
        if name in _JUDGES:
            raise ValueError(f"judge {name!r} registered twice")  # a bug in our code, not user input
        _JUDGES[name] = factory
        return factory

    return decorator


def available_judges() -> list[str]:
    return sorted(_JUDGES)


def get_judge(name: str) -> Judge:
    if name not in _JUDGES:
        raise unknown_name("judge", name, _JUDGES)
    return _JUDGES[name]()
