"""Task scorers: GSM8K answers compare as numbers, as lm-eval's GSM8K filters extract them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from benchmarks.scorers import get_scorer, gsm8k, gsm8k_answer


@pytest.mark.parametrize("response, reference", [
    ("The total is $72.00", "48 + 24 = 72\n#### 72"),
    ("So she has 72.0 apples.", "#### 72"),
    ("It costs $1,234.50 in all.", "#### 1234.5"),
    ("#### 1,234", "#### 1234"),
    ("First 3, then 4, so the answer is 5.", "#### 5"),
    ("#### 18\nI double-checked 3 times.", "#### 18"),  # the marked answer wins over the last number
    ("He lost -$5 overall", "#### -5"),
])
def test_gsm8k_compares_numbers_after_normalising(response, reference):
    assert gsm8k(response, reference)


@pytest.mark.parametrize("response, reference", [
    ("The answer is 72.5", "#### 72"),
    ("no number here", "#### 3"),
    ("1,234", "#### 123"),
    ("", "#### 0"),
])
def test_gsm8k_rejects_other_numbers(response, reference):
    assert not gsm8k(response, reference)


def test_gsm8k_answer_extraction_and_registry():
    assert gsm8k_answer("$1,234.50") == Decimal("1234.5") and gsm8k_answer("none") is None
    assert get_scorer("gsm8k") is gsm8k
