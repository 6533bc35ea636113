"""The results file every run ends with: ``<run>/metrics.json``, one row per (model, benchmark, metric).

Format (``schema`` is bumped on any incompatible change)::

    {"schema": 1,
     "rows": [{"run": "r1", "model": "vanilla", "benchmark": "builtin-harmful",
               "metric": "non_refusal_rate", "value": 0.4, "ci_low": 0.3, "ci_high": 0.5,
               "n": 100, "judge": "keyword:gcg-29@1", "seed": 0,
               "higher_is_better": false, "details": {"truncated": 0}}, ...]}

A metric over zero items has value/ci nan, written as JSON ``null`` (NaN is not valid JSON); so has
the CI of a deterministic statistic (``r_cosine``: ``details`` holds its min, max and per-layer
values). ``higher_is_better`` (the direction for this benchmark's kind) and ``details`` are
optional: files written before they existed read as before. A benchmark whose records carry a
category gets ``details.per_category``: ``{category: {"value": mean, "n": items}}`` over the same
per-item values as the row's metric (``category_breakdown``; no CI per category).

Files written before metrics were named by what their judge measures hold ``attack_success_rate``
rows scored by a refusal (keyword) judge: the fraction of harmful prompts not refused. They are read
as ``non_refusal_rate`` (``current_metric_name``; same per-item values, same direction), so old and
new runs share one column and no table calls a keyword-judged number an attack success. The file
itself is left as it is. An ``attack_success_rate`` row from a harm judge (classifier) keeps its name.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from harness.errors import UserError, expect
from harness.io import read_json, write_json_atomic
from harness.metrics import MetricValue
from harness.metrics import higher_is_better as default_direction

SCHEMA = 1
METRICS_FILE = "metrics.json"
REFUSAL_JUDGE_PREFIXES = ("keyword:",)  # judge ids of refusal judges (keyword lists), the only ones before harm judges
_LEGACY_REFUSAL_NAMES = ("attack_success_rate", "asr")  # what a refusal judge's non-refusal rate used to be called


def is_refusal_judge_id(judge: str | None) -> bool:
    return bool(judge) and str(judge).startswith(REFUSAL_JUDGE_PREFIXES)


def current_metric_name(metric: str, judge: str | None) -> str:
    """The name a metric has today: ``attack_success_rate`` from a refusal judge is ``non_refusal_rate``
    (see the module docstring); every other (metric, judge) pair is unchanged."""
    return "non_refusal_rate" if metric in _LEGACY_REFUSAL_NAMES and is_refusal_judge_id(judge) else metric
_FLOAT_FIELDS = ("value", "ci_low", "ci_high")
NO_CATEGORY = "(none)"  # the per-category key of records without a category, when others have one


def category_breakdown(categories: Sequence[str | None], values: Sequence[float]) -> dict[str, dict[str, Any]] | None:
    """``{category: {"value": mean, "n": items}}`` of per-item metric values, sorted by category; None
    when no item has a category (nothing to break down). Items without one are grouped as ``NO_CATEGORY``."""
    expect(len(categories) == len(values), f"category_breakdown: {len(categories)} categories for {len(values)} values")
    if all(c is None for c in categories):
        return None
    groups: dict[str, list[float]] = {}
    for category, value in zip(categories, values, strict=True):
        groups.setdefault(NO_CATEGORY if category is None else str(category), []).append(float(value))
    return {c: {"value": math.fsum(v) / len(v), "n": len(v)} for c, v in sorted(groups.items())}


@dataclass
class MetricRow:
    run: str
    model: str
    benchmark: str
    metric: str
    value: float
    ci_low: float
    ci_high: float
    n: int
    judge: str | None
    seed: int | None = None
    higher_is_better: bool | None = None  # None: the metric's registered default direction
    details: dict[str, Any] | None = None  # min/max/per_layer of a deterministic statistic; truncated count

    @classmethod
    def from_value(
        cls,
        *,
        run: str,
        model: str,
        benchmark: str,
        metric: str,
        mv: MetricValue,
        judge: str | None,
        seed: int | None = None,
        higher_is_better: bool | None = None,
        details: dict[str, Any] | None = None,
    ) -> MetricRow:
        """Build a row from ``compute_metric(...)``'s result (its details merged with ``details``)."""
        merged = {**(mv.details or {}), **(details or {})} or None
        return cls(run, model, benchmark, metric, mv.value, mv.ci_low, mv.ci_high, mv.n, judge, seed,
                   higher_is_better, merged)

    def direction(self) -> bool | None:
        """This row's higher_is_better: recorded by the evaluation, else the metric's default."""
        return self.higher_is_better if self.higher_is_better is not None else default_direction(self.metric)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in _FLOAT_FIELDS:
            if isinstance(d[key], float) and math.isnan(d[key]):
                d[key] = None
        for key in _OPTIONAL_FIELDS:
            if d[key] is None:
                del d[key]
        return d


_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "run": (str,),
    "model": (str,),
    "benchmark": (str,),
    "metric": (str,),
    "value": (int, float, type(None)),
    "ci_low": (int, float, type(None)),
    "ci_high": (int, float, type(None)),
    "n": (int,),
    "judge": (str, type(None)),
    "seed": (int, type(None)),
    "higher_is_better": (bool, type(None)),
    "details": (dict, type(None)),
}
_OPTIONAL_FIELDS = ("higher_is_better", "details")
_REQUIRED = [f.name for f in fields(MetricRow) if f.name not in ("seed", *_OPTIONAL_FIELDS)]


def write_metrics(path: str | Path, rows: Iterable[MetricRow]) -> Path:
    """Atomically write ``rows`` to ``path`` (a file path, normally ``<run>/metrics.json``)."""
    return write_json_atomic(path, {"schema": SCHEMA, "rows": [row.to_dict() for row in rows]})


def metrics_path(path_or_run_dir: str | Path) -> Path:
    path = Path(path_or_run_dir)
    return path / METRICS_FILE if path.is_dir() else path


def _row_from_dict(where: str, raw: Any) -> MetricRow:
    expect(isinstance(raw, dict), f"{where}: expected an object with fields {', '.join(_FIELD_TYPES)}")
    unknown = sorted(set(raw) - set(_FIELD_TYPES))
    expect(
        not unknown, f"{where}: unknown field(s) {', '.join(unknown)}; accepted: {', '.join(_FIELD_TYPES)}"
    )
    missing = [name for name in _REQUIRED if name not in raw]
    expect(not missing, f"{where}: missing field(s) {', '.join(missing)}")
    for name, value in raw.items():
        ok = isinstance(value, _FIELD_TYPES[name]) and (not isinstance(value, bool) or bool in _FIELD_TYPES[name])
        accepted = "/".join("null" if t is type(None) else t.__name__ for t in _FIELD_TYPES[name])
        expect(ok, f"{where}: field {name!r} must be {accepted}, got {value!r}")
    values = {k: (math.nan if raw.get(k) is None else float(raw[k])) for k in _FLOAT_FIELDS}
    return MetricRow(**{**raw, **values, "metric": current_metric_name(raw["metric"], raw["judge"])})


def read_metrics(path_or_run_dir: str | Path) -> list[MetricRow]:
    """Rows of a results file; accepts the file itself or a run folder containing ``metrics.json``."""
    path = metrics_path(path_or_run_dir)
    expected = f"expected a run folder containing {METRICS_FILE} or a {METRICS_FILE} file"
    expect(path.is_file(), f"results file {str(path)!r} not found; {expected}")
    try:
        data = read_json(path)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"results file {str(path)!r} is not valid JSON ({exc}); {expected}") from None
    expect(
        isinstance(data, dict) and isinstance(data.get("rows"), list),
        f'results file {str(path)!r}: expected an object {{"schema": {SCHEMA}, "rows": [...]}}',
    )
    expect(
        data.get("schema") == SCHEMA,
        f"results file {str(path)!r}: unsupported schema {data.get('schema')!r}; accepted: {SCHEMA}",
    )
    return [
        _row_from_dict(f"results file {str(path)!r} rows[{i}]", raw) for i, raw in enumerate(data["rows"])
    ]
