"""Paired comparison of two models of a run, per metric: B - A with a CI and a p-value.

Both models answered the same prompts, so the comparison is paired by item: for each shared item
id, ``d_i`` is B's per-item value minus A's (the metric's own per-item values, read back from the
verdicts, ``harness/report/items.py``). Across seeds, seed ``s`` of A is paired with seed ``s`` of B
(the same data order and initialisation, so the pair differs only by the defense), and ``d_i`` is
averaged over the seed pairs; a model with one seed (the start model, evaluated once) is paired
with every seed of the other. Then

* the difference is the mean of ``d_i`` (equal to the difference of the seed-averaged metrics when
  every seed saw every item);
* its CI is the percentile bootstrap of that mean over items (``harness.metrics.bootstrap_ci`` on
  the ``d_i``: the paired bootstrap, one resample of items serving both models and every seed);
* its p-value is a two-sided paired permutation (sign-flip) test: under "A and B are exchangeable"
  each ``d_i`` is as likely to have the other sign; ``p = (1 + #{|mean of flipped d| >= |mean d|})
  / (1 + resamples)`` (never 0, as it should be for a Monte Carlo test).

Both hold the trained seeds fixed: they say whether the models differ on this benchmark's prompt
population, not how a new training seed would come out (the leaderboard's std over seeds shows
that). A deterministic statistic (``r_cosine``) gets the difference of its values, no CI or p-value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import UserError, expect, unknown_name
from harness.metrics import bootstrap_ci
from harness.report.items import has_items, item_values
from harness.report.metrics_table import MetricRow

ALPHA = 0.05  # a difference is marked significant when its p-value is below this
COMPARE_DIR = "compare"
_FLIP_CHUNK_ELEMENTS = 4_000_000
_EPS = 1e-12


def sign_flip_pvalue(diffs: Sequence[float], n_resamples: int = 10_000, seed: int = 0) -> float:
    """Two-sided paired permutation test of mean(diffs) = 0 by random sign flips (see the module doc)."""
    expect(n_resamples >= 1, f"sign-flip resamples must be >= 1, got {n_resamples}")
    d = np.asarray(diffs, dtype=float)
    if d.size == 0:
        return math.nan
    observed = abs(d.mean())
    rng = np.random.default_rng(seed)
    rows_per_chunk = max(1, _FLIP_CHUNK_ELEMENTS // d.size)
    hits = 0
    for start in range(0, n_resamples, rows_per_chunk):
        rows = min(rows_per_chunk, n_resamples - start)
        signs = rng.integers(0, 2, size=(rows, d.size)) * 2 - 1
        hits += int((np.abs((signs * d).mean(axis=1)) >= observed - _EPS).sum())
    return (1 + hits) / (1 + n_resamples)


def pair_seeds(a: Sequence[int | None], b: Sequence[int | None]) -> list[tuple[int | None, int | None]]:
    """Seed s of A with seed s of B; a side with one seed is paired with every seed of the other."""
    if len(a) == 1 or len(b) == 1:
        return [(x, y) for x in a for y in b]
    return [(s, s) for s in sorted(set(a) & set(b), key=lambda s: (s is None, s or 0))]


@dataclass(frozen=True)
class MetricComparison:
    """B - A on one (benchmark, metric, judge) column."""

    benchmark: str
    metric: str
    judge: str | None
    higher_is_better: bool | None
    a_value: float
    b_value: float
    diff: float
    ci_low: float | None
    ci_high: float | None
    p_value: float | None  # None: a deterministic statistic, nothing to test
    n_items: int
    seed_pairs: list[tuple[int | None, int | None]]
    per_seed_diff: dict[str, float] = field(default_factory=dict)  # "a_seed:b_seed" -> B - A on the shared items

    @property
    def key(self) -> str:
        return f"{self.benchmark}/{self.metric}"

    def significant(self, alpha: float = ALPHA) -> bool:
        return self.p_value is not None and self.p_value < alpha

    def better(self) -> str:
        """Which model the difference favours, by the metric's direction ("" when equal or unknown)."""
        if self.higher_is_better is None or abs(self.diff) < _EPS or math.isnan(self.diff):
            return ""
        return "B" if (self.diff > 0) == self.higher_is_better else "A"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["seed_pairs"] = [list(p) for p in self.seed_pairs]
        d["significant"] = self.significant()
        return d

    def reference_details(self, reference: str) -> dict[str, Any]:
        """What a leaderboard row stores about its test against the reference model (``details.vs_reference``)."""
        return {"model": reference, "diff": self.diff, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "p_value": self.p_value, "n_items": self.n_items}


def _nan_none(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def compare_column(run_dir: Path, rows_a: Sequence[MetricRow], rows_b: Sequence[MetricRow],
                   n_resamples: int = 10_000, seed: int = 0) -> MetricComparison:
    """B - A on one column; ``rows_a``/``rows_b`` are each model's per-seed rows of that column."""
    first = rows_b[0]
    by_seed_a = {r.seed: r for r in rows_a}
    by_seed_b = {r.seed: r for r in rows_b}
    pairs = pair_seeds(list(by_seed_a), list(by_seed_b))
    expect(bool(pairs), f"{first.benchmark}/{first.metric}: no shared seeds between {rows_a[0].model} "
                        f"(seeds {sorted(by_seed_a, key=str)}) and {first.model} (seeds {sorted(by_seed_b, key=str)})")
    direction = first.direction()
    common = dict(benchmark=first.benchmark, metric=first.metric, judge=first.judge, higher_is_better=direction,
                  seed_pairs=pairs)
    if not all(has_items(r) for r in (*rows_a, *rows_b)):
        a = float(np.mean([by_seed_a[x].value for x, _ in pairs]))
        b = float(np.mean([by_seed_b[y].value for _, y in pairs]))
        return MetricComparison(a_value=a, b_value=b, diff=b - a, ci_low=None, ci_high=None, p_value=None,
                                n_items=0, **common)
    values = [(item_values(run_dir, by_seed_a[x]), item_values(run_dir, by_seed_b[y])) for x, y in pairs]
    shared = set.intersection(*(set(va) & set(vb) for va, vb in values))
    ids = [i for i in values[0][1] if i in shared]
    expect(bool(ids), f"{first.benchmark}/{first.metric}: {rows_a[0].model} and {first.model} share no items "
                      "(no item id was scored for both); expected the two models to be evaluated on the same prompts")
    d = np.array([[vb[i] - va[i] for i in ids] for va, vb in values]).mean(axis=0)
    a = float(np.mean([[va[i] for i in ids] for va, _ in values]))
    b = float(np.mean([[vb[i] for i in ids] for _, vb in values]))
    low, high = bootstrap_ci(d, n_boot=n_resamples, seed=seed)
    per_seed = {f"{x}:{y}": float(np.mean([vb[i] - va[i] for i in ids])) for (x, y), (va, vb) in zip(pairs, values, strict=True)}
    return MetricComparison(a_value=a, b_value=b, diff=float(d.mean()), ci_low=_nan_none(low), ci_high=_nan_none(high),
                            p_value=sign_flip_pvalue(d, n_resamples, seed), n_items=len(ids),
                            per_seed_diff=per_seed, **common)


@dataclass(frozen=True)
class Comparison:
    """Every column two models share in one run."""

    run_dir: str
    a: str
    b: str
    n_resamples: int
    seed: int
    metrics: list[MetricComparison]

    def to_dict(self) -> dict[str, Any]:
        return {"schema": 1, "run": self.run_dir, "a": self.a, "b": self.b, "difference": "B - A",
                "n_resamples": self.n_resamples, "seed": self.seed, "alpha": ALPHA,
                "test": "paired bootstrap CI and sign-flip permutation p-value over items; seed s of A with seed s of B",
                "metrics": [m.to_dict() for m in self.metrics]}


def _column(r: MetricRow) -> tuple[str, str, str | None]:
    return (r.benchmark, r.metric, r.judge)


def compare_models(run_dir: Path | str, rows: Sequence[MetricRow], a: str, b: str, *, n_resamples: int = 10_000,
                   seed: int = 0) -> Comparison:
    """B - A per shared column of a run's per-seed rows (``metrics.json``); bad names are one-line errors."""
    models = {r.model for r in rows}
    for name in (a, b):
        if name not in models:
            raise unknown_name("model", name, models)
    expect(a != b, f"compare: A and B are the same model {a!r}; expected two different models")
    by_model: dict[str, dict[tuple, list[MetricRow]]] = {a: {}, b: {}}
    for r in rows:
        if r.model in by_model:
            by_model[r.model].setdefault(_column(r), []).append(r)
    shared = [c for c in by_model[b] if c in by_model[a]]
    if not shared:
        raise UserError(f"compare: {a} and {b} share no benchmark/metric/judge column; expected models scored on "
                        "the same benchmarks")
    metrics = [compare_column(Path(run_dir), by_model[a][c], by_model[b][c], n_resamples, seed) for c in shared]
    return Comparison(str(run_dir), a, b, n_resamples, seed, metrics)


def annotate_significance(rows: Sequence[MetricRow], reference: str, run_dir: Path | str, *,
                          per_seed_rows: Sequence[MetricRow] | None = None, n_resamples: int = 1000,
                          seed: int = 0) -> list[MetricRow]:
    """Each row of another model gets ``details.vs_reference``: its paired test against ``reference``.

    Per-seed rows (``per_seed_rows`` None) are tested seed against seed (the reference's one seed if it
    has one); aggregated rows against the reference over all seeds, from ``per_seed_rows``. Rows of a
    run without the reference, and deterministic statistics, are left as they are."""
    source = rows if per_seed_rows is None else per_seed_rows
    columns: dict[tuple, dict[str, list[MetricRow]]] = {}
    for r in source:
        columns.setdefault((r.run, *_column(r)), {}).setdefault(r.model, []).append(r)
    out = []
    for row in rows:
        column = columns.get((row.run, *_column(row)), {})
        ref_rows = column.get(reference)
        if row.model == reference or not ref_rows or not has_items(row):
            out.append(row)
            continue
        mine = column[row.model] if per_seed_rows is not None else [row]
        if per_seed_rows is None and len(ref_rows) > 1:
            ref_rows = [r for r in ref_rows if r.seed == row.seed]
        if not ref_rows:
            out.append(row)
            continue
        result = compare_column(Path(run_dir), ref_rows, mine, n_resamples, seed)
        out.append(replace(row, details={**(row.details or {}), "vs_reference": result.reference_details(reference)}))
    return out
