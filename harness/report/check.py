"""Regression gate: compare a results run against a baseline file and fail on a real regression.

Baseline file (YAML, or JSON with the same structure)::

    schema: 1
    tolerance: {absolute: 0.05, ci_aware: true}      # defaults for every entry (these values if omitted)
    metrics:
      - {model: vanilla, benchmark: builtin-harmful, metric: attack_success_rate,
         value: 0.40, ci_low: 0.30, ci_high: 0.50, n: 100, judge: "keyword:gcg-29@1", seed: 0,
         tolerance: 0.10}                            # per-entry absolute tolerance (optional)

Entry fields: ``model``, ``benchmark``, ``metric``, ``value`` required; ``judge``, ``seed``, ``run``
(when given, a result row must match them too), ``ci_low``/``ci_high``/``n`` (informational),
``tolerance`` and ``higher_is_better`` (needed only for a metric ``harness.metrics`` does not know).

Rule, per entry, with ``worse = new - old`` for lower-is-better metrics (``old - new`` otherwise):

* MISSING (a regression) if no result row matches, or the match has no value (n = 0);
* FAIL if ``worse > tolerance`` and, when ``ci_aware``, the baseline value lies outside the new
  run's CI ``[ci_low, ci_high]`` (so a move that the new run's own sampling noise can explain passes);
* PASS otherwise (improvements always pass).

A judge is part of the match: a result scored by another judge version is reported MISSING, since
numbers from different judges are not comparable.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.errors import UserError, expect
from harness.io import read_json, write_text_atomic
from harness.metrics import available_metrics, higher_is_better, is_rate
from harness.report.metrics_table import MetricRow

SCHEMA = 1
PASS, FAIL, MISSING = "PASS", "FAIL", "MISSING"
_EPS = 1e-9  # float slack so that a delta equal to the tolerance passes


@dataclass(frozen=True)
class Tolerance:
    absolute: float = 0.05
    ci_aware: bool = True


@dataclass(frozen=True)
class BaselineEntry:
    model: str
    benchmark: str
    metric: str
    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None
    judge: str | None = None
    seed: int | None = None
    run: str | None = None
    tolerance: float | None = None
    higher_is_better: bool | None = None

    def label(self) -> str:
        extra = [f"judge={self.judge}"] * bool(self.judge) + [f"seed={self.seed}"] * (self.seed is not None)
        extra += [f"run={self.run}"] * bool(self.run)
        return f"{self.model} {self.benchmark}/{self.metric}" + (f" ({', '.join(extra)})" if extra else "")

    def direction(self) -> bool:
        if self.higher_is_better is not None:
            return self.higher_is_better
        known = higher_is_better(self.metric)
        assert known is not None  # load_baseline guarantees one of the two
        return known

    def matches(self, row: MetricRow, *, ignore_judge: bool = False) -> bool:
        return (
            (row.model, row.benchmark, row.metric) == (self.model, self.benchmark, self.metric)
            and (ignore_judge or self.judge is None or row.judge == self.judge)
            and (self.seed is None or row.seed == self.seed)
            and (self.run is None or row.run == self.run)
        )


@dataclass(frozen=True)
class Baseline:
    entries: list[BaselineEntry]
    tolerance: Tolerance = field(default_factory=Tolerance)


# ---------------------------------------------------------------------------------- baseline file

_ENTRY_TYPES: dict[str, tuple[type, ...]] = {
    "model": (str,),
    "benchmark": (str,),
    "metric": (str,),
    "value": (int, float),
    "ci_low": (int, float, type(None)),
    "ci_high": (int, float, type(None)),
    "n": (int, type(None)),
    "judge": (str, type(None)),
    "seed": (int, type(None)),
    "run": (str, type(None)),
    "tolerance": (int, float, type(None)),
    "higher_is_better": (bool, type(None)),
}
_REQUIRED = ("model", "benchmark", "metric", "value")
_HINT = (
    "expected {schema: 1, tolerance: {absolute, ci_aware}, metrics: [{model, benchmark, metric, value, ...}]}"
)


def _type_ok(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in types
    return isinstance(value, types)


def _type_names(types: tuple[type, ...]) -> str:
    names = {str: "string", int: "integer", float: "number", bool: "true/false", type(None): "null"}
    return "/".join(dict.fromkeys(names[t] for t in types))


def _parse_entry(where: str, raw: Any) -> BaselineEntry:
    expect(isinstance(raw, dict), f"{where}: expected a mapping with fields {', '.join(_ENTRY_TYPES)}")
    unknown = sorted(set(raw) - set(_ENTRY_TYPES), key=str)
    expect(
        not unknown,
        f"{where}: unknown field(s) {', '.join(map(str, unknown))}; accepted: {', '.join(_ENTRY_TYPES)}",
    )
    missing = [k for k in _REQUIRED if k not in raw]
    expect(not missing, f"{where}: missing field(s) {', '.join(missing)}")
    for key, value in raw.items():
        expect(
            _type_ok(value, _ENTRY_TYPES[key]),
            f"{where}: {key} must be {_type_names(_ENTRY_TYPES[key])}, got {value!r}",
        )
    entry = BaselineEntry(**raw)
    expect(
        entry.tolerance is None or entry.tolerance >= 0,
        f"{where}: tolerance must be >= 0, got {entry.tolerance}",
    )
    expect(
        entry.higher_is_better is not None or higher_is_better(entry.metric) is not None,
        f"{where}: unknown direction for metric {entry.metric!r}; set higher_is_better: true/false, "
        f"or use one of: {', '.join(available_metrics())}",
    )
    return entry


def _parse_tolerance(where: str, raw: Any) -> Tolerance:
    if raw is None:
        return Tolerance()
    expect(isinstance(raw, dict), f"{where}: expected a mapping {{absolute: 0.05, ci_aware: true}}")
    unknown = sorted(set(raw) - {"absolute", "ci_aware"}, key=str)
    expect(
        not unknown, f"{where}: unknown field(s) {', '.join(map(str, unknown))}; accepted: absolute, ci_aware"
    )
    tol = Tolerance(**raw)
    expect(
        _type_ok(tol.absolute, (int, float)) and tol.absolute >= 0,
        f"{where}.absolute must be a number >= 0, got {tol.absolute!r}",
    )
    expect(isinstance(tol.ci_aware, bool), f"{where}.ci_aware must be true/false, got {tol.ci_aware!r}")
    return tol


def parse_baseline(data: Any, source: str = "baseline") -> Baseline:
    expect(isinstance(data, dict), f"{source}: {_HINT}")
    unknown = sorted(set(data) - {"schema", "tolerance", "metrics"}, key=str)
    expect(
        not unknown,
        f"{source}: unknown field(s) {', '.join(map(str, unknown))}; accepted: schema, tolerance, metrics",
    )
    expect(
        data.get("schema", SCHEMA) == SCHEMA,
        f"{source}: unsupported schema {data.get('schema')!r}; accepted: {SCHEMA}",
    )
    metrics = data.get("metrics")
    expect(
        isinstance(metrics, list) and len(metrics) > 0,
        f"{source}: 'metrics' must be a non-empty list; {_HINT}",
    )
    entries = [_parse_entry(f"{source} metrics[{i}]", raw) for i, raw in enumerate(metrics)]
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries):
        expect(
            entry.label() not in seen,
            f"{source} metrics[{i}]: duplicate of metrics[{seen.get(entry.label())}] ({entry.label()})",
        )
        seen[entry.label()] = i
    return Baseline(entries=entries, tolerance=_parse_tolerance(f"{source} tolerance", data.get("tolerance")))


def load_baseline(path: str | Path) -> Baseline:
    """Read and validate a baseline file (``.json`` as JSON, anything else as YAML)."""
    path = Path(path)
    source = f"baseline file {str(path)!r}"
    expect(
        path.is_file(),
        f"{source} not found; expected a YAML/JSON baseline (create one with "
        "`procon-bench check RESULTS --write-baseline FILE`)",
    )
    try:
        if path.suffix == ".json":
            data = read_json(path)
        else:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{source} is not valid JSON ({exc}); {_HINT}") from None
    except yaml.YAMLError as exc:  # its message spans several lines: keep the CLI error to one
        raise UserError(f"{source} is not valid YAML ({' '.join(str(exc).split())}); {_HINT}") from None
    return parse_baseline(data, source)


def _round(x: float) -> float:
    return round(float(x), 6)


def baseline_from_rows(rows: Sequence[MetricRow], tolerance: float = 0.05, ci_aware: bool = True) -> Baseline:
    """A baseline pinning every row that has a value (rows with n = 0 are skipped).

    A metric whose direction the harness does not know is written with ``higher_is_better: true``,
    visibly, so the user can flip it.
    """
    expect(tolerance >= 0, f"tolerance must be >= 0, got {tolerance}")
    entries: list[BaselineEntry] = []
    runs: dict[str, str] = {}
    for row in rows:
        if math.isnan(row.value):
            continue
        entry = BaselineEntry(
            model=row.model,
            benchmark=row.benchmark,
            metric=row.metric,
            value=_round(row.value),
            ci_low=None if math.isnan(row.ci_low) else _round(row.ci_low),
            ci_high=None if math.isnan(row.ci_high) else _round(row.ci_high),
            n=row.n,
            judge=row.judge,
            seed=row.seed,
            higher_is_better=None if higher_is_better(row.metric) is not None else True,
        )
        expect(
            entry.label() not in runs,
            f"results hold {entry.label()} twice (runs {runs.get(entry.label())!r} and {row.run!r}); "
            "expected a single run to write a baseline from",
        )
        runs[entry.label()] = row.run
        entries.append(entry)
    expect(len(entries) > 0, "no metric with a value in the results; nothing to write a baseline from")
    return Baseline(entries=entries, tolerance=Tolerance(absolute=tolerance, ci_aware=ci_aware))


def _entry_dict(entry: BaselineEntry) -> dict[str, Any]:
    return {k: getattr(entry, k) for k in _ENTRY_TYPES if getattr(entry, k) is not None}


def dump_baseline(baseline: Baseline, fmt: str = "yaml") -> str:
    tol = {"absolute": baseline.tolerance.absolute, "ci_aware": baseline.tolerance.ci_aware}
    if fmt == "json":
        doc = {"schema": SCHEMA, "tolerance": tol, "metrics": [_entry_dict(e) for e in baseline.entries]}
        return json.dumps(doc, indent=2) + "\n"

    def flow(obj: Any) -> str:
        return yaml.safe_dump(obj, default_flow_style=True, sort_keys=False, width=10_000).strip()

    lines = [
        "# procon-bench regression baseline (see harness/report/check.py for the rule).",
        "# A metric FAILS if it moved the bad way by more than `tolerance` (absolute; per-entry",
        "# `tolerance` overrides) and, with ci_aware, the baseline value is outside the new CI.",
        f"schema: {SCHEMA}",
        f"tolerance: {flow(tol)}",
        "metrics:",
        *(f"  - {flow(_entry_dict(e))}" for e in baseline.entries),
    ]
    return "\n".join(lines) + "\n"


def write_baseline(
    rows: Sequence[MetricRow], path: str | Path, tolerance: float = 0.05, ci_aware: bool = True
) -> Baseline:
    """Pin ``rows`` as the new baseline at ``path`` (JSON for ``.json``, YAML otherwise)."""
    baseline = baseline_from_rows(rows, tolerance, ci_aware)
    write_text_atomic(path, dump_baseline(baseline, "json" if Path(path).suffix == ".json" else "yaml"))
    return baseline


# -------------------------------------------------------------------------------------- checking


@dataclass(frozen=True)
class MetricCheck:
    entry: BaselineEntry
    status: str  # PASS / FAIL / MISSING
    new: MetricRow | None
    tolerance: float
    note: str

    @property
    def delta(self) -> float | None:
        return None if self.new is None or math.isnan(self.new.value) else self.new.value - self.entry.value

    def line(self) -> str:
        pct = is_rate(self.entry.metric)

        def num(x: float) -> str:
            return f"{100 * x:.1f}%" if pct else f"{x:.4g}"

        def diff(x: float) -> str:
            return f"{100 * x:+.1f} pts" if pct else f"{x:+.4g}"

        head = f"{self.status:<7} {self.entry.label()}: {num(self.entry.value)} → "
        if self.new is None or self.delta is None:
            return head + f"(none) ({self.note})"
        new = num(self.new.value)
        if not (math.isnan(self.new.ci_low) or math.isnan(self.new.ci_high)):
            new += f" [{num(self.new.ci_low)}, {num(self.new.ci_high)}]"
        return head + f"{new} (delta {diff(self.delta)}, tolerance {diff(self.tolerance)[1:]}; {self.note})"


@dataclass
class CheckReport:
    checks: list[MetricCheck]

    @property
    def regressions(self) -> list[MetricCheck]:
        return [c for c in self.checks if c.status != PASS]

    @property
    def ok(self) -> bool:
        return not self.regressions

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def lines(self) -> list[str]:
        return [c.line() for c in self.checks]

    def summary(self) -> str:
        counts = {s: sum(c.status == s for c in self.checks) for s in (PASS, FAIL, MISSING)}
        verdict = "OK" if self.ok else "REGRESSION"
        return f"check: {verdict}: {counts[PASS]} passed, {counts[FAIL]} failed, {counts[MISSING]} missing"

    def render(self) -> str:
        return "\n".join([*self.lines(), self.summary()]) + "\n"


def exit_code(report: CheckReport) -> int:
    """1 if any metric regressed or is missing, else 0."""
    return report.exit_code


def _judge_one(entry: BaselineEntry, rows: Sequence[MetricRow], default: Tolerance) -> MetricCheck:
    tol = default.absolute if entry.tolerance is None else entry.tolerance
    found = [r for r in rows if entry.matches(r)]
    if not found:
        others = sorted({str(r.judge) for r in rows if entry.matches(r, ignore_judge=True)})
        note = f"only scored by judge {', '.join(others)}: not comparable" if others else "not in results"
        return MetricCheck(entry, MISSING, None, tol, note)
    if len(found) > 1:
        where = ", ".join(f"run={r.run} seed={r.seed} judge={r.judge}" for r in found)
        raise UserError(
            f"baseline entry {entry.label()} matches {len(found)} result rows ({where}); "
            "add seed, judge or run to the entry to pick one"
        )
    new = found[0]
    if math.isnan(new.value):
        return MetricCheck(entry, MISSING, new, tol, f"no value (n={new.n})")
    worse = (entry.value - new.value) if entry.direction() else (new.value - entry.value)
    if worse <= tol + _EPS:
        return MetricCheck(entry, PASS, new, tol, "improved" if worse < -tol - _EPS else "within tolerance")
    ci_known = not (math.isnan(new.ci_low) or math.isnan(new.ci_high))
    if default.ci_aware and ci_known and new.ci_low <= entry.value <= new.ci_high:
        return MetricCheck(
            entry, PASS, new, tol, "worse beyond tolerance, but baseline value is inside the new CI"
        )
    reason = "worse beyond tolerance" + (
        ", baseline value outside the new CI" if default.ci_aware and ci_known else ""
    )
    return MetricCheck(entry, FAIL, new, tol, reason)


def check(results_rows: Sequence[MetricRow], baseline: Baseline) -> CheckReport:
    """One verdict per baseline entry; see the module docstring for the rule."""
    return CheckReport([_judge_one(entry, results_rows, baseline.tolerance) for entry in baseline.entries])
