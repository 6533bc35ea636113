"""Task scorers: (response, reference) -> correct (bool) or a score in [0, 1].  Registered by name.

A task benchmark's metric is the mean of its scorer's per-item values with a bootstrap CI
(``harness.metrics``): ``accuracy`` for the exact-match scorers, ``rouge_l`` for ``rouge-l``.
"""

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


def rouge_tokens(text: str | None) -> list[str]:
    """Lowercase alphanumeric word tokens (the default tokenizer of Google's ``rouge-score``, no stemming)."""
    return re.sub(r"[^a-z0-9]+", " ", (text or "").lower()).split()


def lcs_length(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence of two token lists (O(len(a) * len(b)) time, O(len(b)) memory)."""
    if len(a) < len(b):
        a, b = b, a
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, 1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(response: str, reference: str) -> float:
    """ROUGE-L F1 (Lin 2004): LCS-based precision and recall over lowercase word tokens, their harmonic mean.

    1.0 for the same words in the same order, 0.0 when no word is shared or either side is empty.
    """
    candidate, gold = rouge_tokens(response), rouge_tokens(reference)
    lcs = lcs_length(candidate, gold) if candidate and gold else 0
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(candidate), lcs / len(gold)
    return 2 * precision * recall / (precision + recall)


def exact(response: str, reference: str) -> bool:
    return response.strip() == reference.strip()


def gsm8k(response: str, reference: str) -> bool:
    """GSM8K: the response's answer (``#### N`` or its last number) equals the reference's, numerically."""
    answer, gold = gsm8k_answer(response), gsm8k_answer(reference)
    return answer is not None and answer == gold


Scorer = Callable[[str, str], bool | float]

SCORERS: dict[str, Scorer] = {
    "exact": exact,
    "string-ops": string_ops.score,
    "gsm8k": gsm8k,
    "rouge-l": rouge_l,
}


def get_scorer(name: str) -> Scorer:
    if name not in SCORERS:
        raise unknown_name("scorer", name, SCORERS)
    return SCORERS[name]
