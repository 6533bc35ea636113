"""The regression gate's power: the smallest regression of an entry that ``check`` would report.

For a rate measured on ``n`` items the possible new values are ``k / n``. The smallest bad move that
fails is found by trying the counts in the bad direction: it must exceed the tolerance and, with the
CI rule, the baseline value must fall outside the new value's 95% bootstrap CI (recomputed here with
1000 resamples and seed 0, the evaluation's defaults; a run with another seed may differ by one item).
At n=16 with the CI rule an ASR pinned at 0 is only flagged at 4/16 = 25 points, however small
the tolerance: this is what a small ``limit`` costs.
"""

from __future__ import annotations

import math

from harness.metrics import bootstrap_ci, has_sampling_ci, is_rate

_EPS = 1e-9


def _fails(baseline: float, k: int, n: int, higher_is_better: bool, tolerance: float, ci_rule: bool) -> bool:
    new = k / n
    worse = baseline - new if higher_is_better else new - baseline
    if worse <= tolerance + _EPS:
        return False
    if not ci_rule:
        return True
    low, high = bootstrap_ci([1.0] * k + [0.0] * (n - k))
    return not low <= baseline <= high


def detectable_regression(metric: str, baseline: float, n: int | None, higher_is_better: bool,
                          tolerance: float, ci_aware: bool) -> float | None:
    """The smallest bad move (in the metric's units) that fails; ``tolerance`` itself when only the
    tolerance applies and the metric is not a rate; None when no possible value at this ``n`` fails."""
    ci_rule = ci_aware and has_sampling_ci(metric)
    if not is_rate(metric) or not n:
        return None if ci_rule else tolerance
    counts = range(math.floor(baseline * n), -1, -1) if higher_is_better else range(math.ceil(baseline * n), n + 1)
    counts = list(counts)
    lo, hi = 0, len(counts)  # failing is monotone along the bad direction: bisect for the first failing count
    while lo < hi:
        mid = (lo + hi) // 2
        if _fails(baseline, counts[mid], n, higher_is_better, tolerance, ci_rule):
            hi = mid
        else:
            lo = mid + 1
    if lo == len(counts):
        return None
    return abs(counts[lo] / n - baseline)
