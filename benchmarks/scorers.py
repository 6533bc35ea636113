"""Task scorers: (response, reference) -> correct?  Registered by name, used by task benchmarks."""

from __future__ import annotations

import re
from collections.abc import Callable

from benchmarks.tasks import string_ops
from harness.errors import unknown_name

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def _number(text: str) -> str | None:
    found = _NUMBER.findall(text or "")
    return found[-1].replace(",", "").rstrip(".") if found else None


def exact(response: str, reference: str) -> bool:
    return response.strip() == reference.strip()


def gsm8k(response: str, reference: str) -> bool:
    """GSM8K: the last number in the response equals the number after '####' in the reference."""
    gold = reference.split("####")[-1]
    return _number(response) is not None and _number(response) == _number(gold)


SCORERS: dict[str, Callable[[str, str], bool]] = {
    "exact": exact,
    "string-ops": string_ops.score,
    "gsm8k": gsm8k,
}


def get_scorer(name: str) -> Callable[[str, str], bool]:
    if name not in SCORERS:
        raise unknown_name("scorer", name, SCORERS)
    return SCORERS[name]
