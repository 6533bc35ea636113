"""Task scorers: (response, reference) -> correct?  Registered by name, used by task benchmarks."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from benchmarks.tasks import string_ops
from harness.errors import unknown_name

# A number as written in answers: optional sign and currency sign, thousands commas, decimals.
_NUMBER = r"-?\$?\s?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_MARKED = re.compile(r"####\s*(" + _NUMBER + ")")
_ANY = re.compile(_NUMBER)


def gsm8k_answer(text: str | None) -> Decimal | None:
    """The answer of a GSM8K solution as a number: the one after ``####``, else the last number.

    Like lm-eval's GSM8K filters (strict ``#### N``, flexible last number), after dropping ``$``,
    thousands commas and a trailing period; compared as numbers, so "72.00", "$72" and "72" agree.
    """
    text = text or ""
    marked = _MARKED.search(text)
    found = [marked.group(1)] if marked else _ANY.findall(text)
    if not found:
        return None
    try:
        return Decimal(re.sub(r"[$,\s]", "", found[-1]))
    except InvalidOperation:
        return None


def exact(response: str, reference: str) -> bool:
    return response.strip() == reference.strip()


def gsm8k(response: str, reference: str) -> bool:
    """GSM8K: the response's answer (``#### N`` or its last number) equals the reference's, numerically."""
    answer, gold = gsm8k_answer(response), gsm8k_answer(reference)
    return answer is not None and answer == gold


SCORERS: dict[str, Callable[[str, str], bool]] = {
    "exact": exact,
    "string-ops": string_ops.score,
    "gsm8k": gsm8k,
}


def get_scorer(name: str) -> Callable[[str, str], bool]:
    if name not in SCORERS:
        raise unknown_name("scorer", name, SCORERS)
    return SCORERS[name]
