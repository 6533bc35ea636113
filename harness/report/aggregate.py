"""Seed aggregation: one row per (run, model, benchmark, metric, judge) over the run seeds.

An aggregated row is a ``MetricRow`` with ``seed: null`` whose ``details`` hold the seed statistics
(``SeedStats``): ``value`` is the mean of the seeds' values, ``std`` their sample standard deviation
(ddof 1; null for one seed), and ``ci_low``/``ci_high`` a **pooled item bootstrap**: the per-item
values of every seed are averaged per item id (the seeds are scored on the same prompts), and the
percentile bootstrap of ``harness.metrics.bootstrap_ci`` resamples those item means. Resampling an
item keeps its verdicts under every seed together: the same hard prompt tends to be missed by every
seed, and resampling each seed's items independently would ignore that correlation and give too
narrow an interval. The CI covers prompt sampling given the trained seeds; ``std`` shows the spread
between trainings. A model with one seed (the start model, evaluated once) keeps its row's own CI;
a metric without items (``r_cosine``) gets mean and std only. Written to ``metrics_aggregated.json``
(same schema as ``metrics.json``) by multi-seed runs. ``details.per_category`` (when every seed's
row has one) holds, per category, the mean of the seeds' category values.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.metrics import bootstrap_ci
from harness.report.items import has_items, item_values
from harness.report.metrics_table import MetricRow

AGGREGATE_FILE = "metrics_aggregated.json"
_KEPT_DETAILS = ("min", "max", "per_layer")  # a one-seed row's own spread (r_cosine) stays shown


@dataclass(frozen=True)
class SeedStats:
    """What an aggregated row adds to a metrics row (kept in its ``details``)."""

    n_seeds: int
    seeds: list[int | None]
    std: float | None  # sample std over the seeds' values; None for one seed
    per_seed: dict[str, float | None]

    def to_details(self) -> dict[str, Any]:
        return {"n_seeds": self.n_seeds, "seeds": self.seeds, "std": self.std, "per_seed": self.per_seed}

    @classmethod
    def of(cls, row: MetricRow) -> SeedStats | None:
        """The seed statistics of an aggregated row; None for a per-seed row."""
        d = row.details or {}
        if "n_seeds" not in d:
            return None
        return cls(d["n_seeds"], d.get("seeds", []), d.get("std"), d.get("per_seed", {}))


def is_aggregated(row: MetricRow) -> bool:
    return SeedStats.of(row) is not None


def _finite(x: float) -> float | None:
    return None if x is None or math.isnan(x) else float(x)


def pooled_items(run_dir: Path, rows: Sequence[MetricRow]) -> list[float]:
    """Per-item means over the seeds' verdicts, for the items every seed was scored on."""
    per_seed = [item_values(run_dir, r) for r in rows]
    shared = set.intersection(*(set(v) for v in per_seed))
    ids = [i for i in per_seed[0] if i in shared]
    return [sum(v[i] for v in per_seed) / len(per_seed) for i in ids]


def _aggregate(group: list[MetricRow], run_dir: Path | None, n_boot: int, seed: int) -> MetricRow:
    group = sorted(group, key=lambda r: (r.seed is None, r.seed or 0))
    values = [r.value for r in group if not math.isnan(r.value)]
    first = group[0]
    stats = SeedStats(len(group), [r.seed for r in group],
                      statistics.stdev(values) if len(values) > 1 else None,
                      {str(r.seed): _finite(r.value) for r in group})
    details = {k: v for k, v in (first.details or {}).items() if k in _KEPT_DETAILS} if len(group) == 1 else {}
    truncated = sum((r.details or {}).get("truncated") or 0 for r in group)
    details.update(stats.to_details(), **({"truncated": truncated} if truncated else {}))
    if (first.details or {}).get("evaluation"):  # an evaluation-time setting is the same for every seed
        details["evaluation"] = first.details["evaluation"]
    if (per_category := _per_category_mean(group)) is not None:
        details["per_category"] = per_category
    value = statistics.fmean(values) if values else math.nan
    ci, n = (first.ci_low, first.ci_high), first.n
    if len(group) > 1:
        ci = (math.nan, math.nan)
        if run_dir is not None and all(has_items(r) for r in group):
            items = pooled_items(run_dir, group)
            ci, n = bootstrap_ci(items, n_boot=n_boot, seed=seed), len(items)
    return replace(first, value=value, ci_low=ci[0], ci_high=ci[1], n=n, seed=None, details=details)


def _per_category_mean(group: list[MetricRow]) -> dict[str, dict[str, Any]] | None:
    """Per category, the mean over the seeds of its value (as the row's value) and the category's n;
    None unless every seed's row has a breakdown."""
    breakdowns = [(r.details or {}).get("per_category") for r in group]
    if not breakdowns or not all(isinstance(b, dict) for b in breakdowns):
        return None
    out = {}
    for category in sorted({c for b in breakdowns for c in b}):
        cells = [b[category] for b in breakdowns if category in b]
        out[category] = {"value": statistics.fmean(c["value"] for c in cells), "n": max(c["n"] for c in cells)}
    return out


def aggregate_rows(rows: Sequence[MetricRow], run_dir: Path | str | None = None, *, n_boot: int = 1000,
                   seed: int = 0) -> list[MetricRow]:
    """One aggregated row per (run, model, benchmark, metric, judge), in first-seen order.

    ``run_dir`` (the run folder with ``judgments/``) enables the pooled CI of multi-seed groups;
    without it their CI is nan (mean and std need only the rows)."""
    groups: dict[tuple, list[MetricRow]] = {}
    for r in rows:
        groups.setdefault((r.run, r.model, r.benchmark, r.metric, r.judge), []).append(r)
    folder = Path(run_dir) if run_dir is not None else None
    return [_aggregate(group, folder, n_boot, seed) for group in groups.values()]
