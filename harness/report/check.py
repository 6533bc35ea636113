"""Regression gate: compare a results run against a baseline file and fail on a real regression.

Baseline file (YAML, or JSON with the same structure)::

    schema: 1
    tolerance: {absolute: 0.05, ci_aware: true}      # defaults for every entry (these values if omitted)
    metrics:
      - {model: vanilla, benchmark: builtin-harmful, metric: non_refusal_rate,
         value: 0.40, ci_low: 0.30, ci_high: 0.50, n: 100, judge: "keyword:gcg-29@1", seed: 0,
         tolerance: 0.10}                            # per-entry absolute tolerance (optional)

Entry fields: ``model``, ``benchmark``, ``metric``, ``value`` required; ``judge``, ``seed``, ``run``
(when given, a result row must match them too), ``n`` (the result must have the same n),
``ci_low``/``ci_high`` (informational), ``tolerance`` and ``higher_is_better`` (the direction: by
default the one the result row records for its benchmark kind, else the metric's). Tolerances are
in the metric's units (a rate is a fraction: 0.05 = 5 points) and must lie inside its range.

Rule, per entry, with ``worse = new - old`` for lower-is-better metrics (``old - new`` otherwise):

* MISSING (a regression) if no result row matches, or the match has no value (n = 0);
* MISMATCH (a regression) if the result's ``n`` differs from the entry's (another ``limit`` or data:
  a smaller n also loosens the CI rule), unless ``allow_n_change``;
* FAIL if ``worse > tolerance`` and, when ``ci_aware`` and the metric has a sampling CI, the
  baseline value lies outside the new run's CI ``[ci_low, ci_high]`` (so a move that the new run's
  own sampling noise can explain passes); deterministic metrics (``r_cosine``) are gated on value;
* PASS otherwise (improvements always pass).

Baselines pinned before metrics were named by what their judge measures hold
``attack_success_rate`` entries for a refusal (keyword) judge's numbers: they are read as
``non_refusal_rate`` (``harness/report/metrics_table.py``, ``current_metric_name``), the name new
runs write, so they gate new runs as before; an entry without a judge falls back to that name when
no row has its own.

Every line states the gate's power, the smallest regression it can detect at that n
(``harness.report.power``). A judge is part of the match: a result scored by another judge version
is reported MISSING, since numbers from different judges are not comparable.

``rebaseline`` rewrites a baseline after a passing check without loosening it: every setting is
kept, and an entry's pinned value (its anchor) is replaced only by a result that improved on it by
more than its tolerance. Passing steps in the bad direction never move the anchor, so k of them
cannot add up past the tolerance from the first pinned value.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from harness.errors import UserError, expect
from harness.io import read_json, write_text_atomic
from harness.metrics import available_metrics, has_sampling_ci, higher_is_better, is_rate, known_metric
from harness.report.metrics_table import MetricRow, current_metric_name, is_refusal_judge_id
from harness.report.power import detectable_regression

SCHEMA = 1
PASS, FAIL, MISSING, MISMATCH = "PASS", "FAIL", "MISSING", "MISMATCH"
STATUSES = (PASS, FAIL, MISSING, MISMATCH)
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

    def direction(self, row: MetricRow | None = None) -> bool:
        """Set on the entry, else recorded by the result row (kind-aware), else the metric's default."""
        if self.higher_is_better is not None:
            return self.higher_is_better
        known = row.direction() if row is not None else higher_is_better(self.metric)
        assert known is not None  # load_baseline guarantees one of the two
        return known

    def matches(self, row: MetricRow, *, ignore_judge: bool = False, legacy: bool = False) -> bool:
        """``legacy``: match as the metric's current name for the row's judge (a judge-less old entry)."""
        metric = current_metric_name(self.metric, row.judge) if legacy else self.metric
        return (
            (row.model, row.benchmark, row.metric) == (self.model, self.benchmark, metric)
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


def check_tolerance(where: str, tolerance: float, metric: str) -> None:
    """A tolerance must be >= 0 and smaller than the metric's range (else the gate can never fail)."""
    spec = known_metric(metric)
    if spec is None:
        expect(tolerance >= 0, f"{where}: tolerance must be >= 0, got {tolerance}")
        return
    width = spec.value_range[1] - spec.value_range[0]
    expect(0 <= tolerance < width, f"{where}: tolerance {tolerance:g} is outside the range of {spec.name} "
                                   f"({spec.unit()}); accepted: 0 <= tolerance < {width:g}")


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
    if is_refusal_judge_id(entry.judge):  # an old entry's attack_success_rate of a keyword judge
        entry = replace(entry, metric=current_metric_name(entry.metric, entry.judge))
    if entry.tolerance is not None:
        check_tolerance(where, entry.tolerance, entry.metric)
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
    tolerance = _parse_tolerance(f"{source} tolerance", data.get("tolerance"))
    for entry in entries:
        if entry.tolerance is None:
            check_tolerance(f"{source} tolerance.absolute (for {entry.label()})", tolerance.absolute, entry.metric)
    return Baseline(entries=entries, tolerance=tolerance)


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


def _entry_from_row(row: MetricRow) -> BaselineEntry:
    """Pin one row; its direction is written when it differs from the metric's default (or is unknown)."""
    direction = row.direction()
    return BaselineEntry(
        model=row.model,
        benchmark=row.benchmark,
        metric=row.metric,
        value=_round(row.value),
        ci_low=None if math.isnan(row.ci_low) else _round(row.ci_low),
        ci_high=None if math.isnan(row.ci_high) else _round(row.ci_high),
        n=row.n,
        judge=row.judge,
        seed=row.seed,
        higher_is_better=None if direction is not None and direction == higher_is_better(row.metric)
        else (True if direction is None else direction),
    )


def baseline_from_rows(rows: Sequence[MetricRow], tolerance: float = 0.05, ci_aware: bool = True,
                       where: str = "tolerance") -> Baseline:
    """A baseline pinning every row that has a value (rows with n = 0 are skipped).

    A metric whose direction the harness does not know is written with ``higher_is_better: true``,
    visibly, so the user can flip it.
    """
    entries: list[BaselineEntry] = []
    runs: dict[str, str] = {}
    for row in rows:
        if math.isnan(row.value):
            continue
        check_tolerance(where, tolerance, row.metric)
        entry = _entry_from_row(row)
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
        "# `tolerance` overrides) and, with ci_aware, the baseline value is outside the new CI;",
        "# a result with another n is a MISMATCH. Rewriting keeps every setting and each value",
        "# (anchor) unless a result improved on it by more than its tolerance.",
        f"schema: {SCHEMA}",
        f"tolerance: {flow(tol)}",
        "metrics:",
        *(f"  - {flow(_entry_dict(e))}" for e in baseline.entries),
    ]
    return "\n".join(lines) + "\n"


def save_baseline(baseline: Baseline, path: str | Path) -> Baseline:
    """Write ``baseline`` atomically (JSON for ``.json``, YAML otherwise)."""
    write_text_atomic(path, dump_baseline(baseline, "json" if Path(path).suffix == ".json" else "yaml"))
    return baseline


def write_baseline(
    rows: Sequence[MetricRow], path: str | Path, tolerance: float = 0.05, ci_aware: bool = True,
    where: str = "tolerance",
) -> Baseline:
    """Pin ``rows`` as a new baseline at ``path`` (JSON for ``.json``, YAML otherwise)."""
    return save_baseline(baseline_from_rows(rows, tolerance, ci_aware, where), path)


def rebaseline(baseline: Baseline, report: CheckReport, rows: Sequence[MetricRow],
               tolerance: float | None = None, where: str = "tolerance") -> Baseline:
    """The baseline to write after a passing ``check``: every user setting kept, no ratchet.

    An entry keeps its settings (tolerance, direction, judge, seed, run) and its anchor (value, CI,
    n) unless its result improved by more than its tolerance, which re-pins value, CI and n. Rows
    that no entry matches are added as new entries. ``tolerance`` replaces the default tolerance.
    """
    expect(report.ok, "the check failed: a baseline is rewritten only after a passing check")
    default = baseline.tolerance if tolerance is None else replace(baseline.tolerance, absolute=tolerance)
    for entry in baseline.entries:
        if tolerance is not None and entry.tolerance is None:
            check_tolerance(where, tolerance, entry.metric)
    entries = []
    for c in report.checks:
        entry = c.entry
        if c.new is not None and c.note.startswith(IMPROVED):
            pinned = _entry_from_row(c.new)
            entry = replace(entry, value=pinned.value, ci_low=pinned.ci_low, ci_high=pinned.ci_high, n=pinned.n)
        entries.append(entry)
    matched = [c.new for c in report.checks]
    new_rows = [r for r in rows if not any(r is m for m in matched) and not math.isnan(r.value)]
    if new_rows:
        entries += baseline_from_rows(new_rows, default.absolute, default.ci_aware, where).entries
    return parse_baseline(
        {"schema": SCHEMA, "tolerance": {"absolute": default.absolute, "ci_aware": default.ci_aware},
         "metrics": [_entry_dict(e) for e in entries]}, "rewritten baseline")


# -------------------------------------------------------------------------------------- checking


IMPROVED = "improved"


@dataclass(frozen=True)
class MetricCheck:
    entry: BaselineEntry
    status: str  # PASS / FAIL / MISSING / MISMATCH
    new: MetricRow | None
    tolerance: float
    note: str
    detectable: float | None = None  # the gate's power: smallest regression that fails at this n

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
        elif self.new.details and {"min", "max"} <= set(self.new.details):
            new += f" (min {num(self.new.details['min'])}, max {num(self.new.details['max'])})"
        power = "" if self.status == MISMATCH else (
            f"; detects {diff(self.detectable)[1:]} at n={self.new.n}" if self.detectable is not None
            else f"; detects no regression at n={self.new.n}")
        return head + f"{new} (delta {diff(self.delta)}, tolerance {diff(self.tolerance)[1:]}; {self.note}{power})"


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
        counts = {s: sum(c.status == s for c in self.checks) for s in STATUSES}
        verdict = "OK" if self.ok else "REGRESSION"
        mismatched = f", {counts[MISMATCH]} n mismatched" if counts[MISMATCH] else ""
        return (f"check: {verdict}: {counts[PASS]} passed, {counts[FAIL]} failed, {counts[MISSING]} missing"
                + mismatched)

    def render(self) -> str:
        return "\n".join([*self.lines(), self.summary()]) + "\n"


def exit_code(report: CheckReport) -> int:
    """1 if any metric regressed or is missing, else 0."""
    return report.exit_code


def _judge_one(entry: BaselineEntry, rows: Sequence[MetricRow], default: Tolerance,
               allow_n_change: bool = False) -> MetricCheck:
    tol = default.absolute if entry.tolerance is None else entry.tolerance
    found = [r for r in rows if entry.matches(r)]
    if not found and entry.judge is None:
        found = [r for r in rows if entry.matches(r, legacy=True)]
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
    if entry.n is not None and new.n != entry.n and not allow_n_change:
        return MetricCheck(entry, MISMATCH, new, tol, f"n={new.n} but the baseline has n={entry.n} (another limit "
                                                      "or data); rerun with the baseline's, or pass --allow-n-change")
    higher = entry.direction(new)
    ci_rule = default.ci_aware and has_sampling_ci(entry.metric)
    detectable = detectable_regression(entry.metric, entry.value, new.n, higher, tol, ci_rule)

    def verdict(status: str, note: str) -> MetricCheck:
        return MetricCheck(entry, status, new, tol, note, detectable)

    worse = (entry.value - new.value) if higher else (new.value - entry.value)
    if worse <= tol + _EPS:
        return verdict(PASS, IMPROVED if worse < -tol - _EPS else "within tolerance")
    ci_known = not (math.isnan(new.ci_low) or math.isnan(new.ci_high))
    if ci_rule and ci_known and new.ci_low <= entry.value <= new.ci_high:
        return verdict(PASS, "worse beyond tolerance, but baseline value is inside the new CI")
    return verdict(FAIL, "worse beyond tolerance" + (", baseline value outside the new CI" if ci_rule and ci_known else ""))


def check(results_rows: Sequence[MetricRow], baseline: Baseline, allow_n_change: bool = False) -> CheckReport:
    """One verdict per baseline entry; see the module docstring for the rule."""
    return CheckReport([_judge_one(entry, results_rows, baseline.tolerance, allow_n_change)
                        for entry in baseline.entries])
