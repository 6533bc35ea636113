"""How well a refusal judge agrees with labels, or with another judge: ``procon-bench judge-agreement``.

The positive class is *refused* (``measure="refusal"``, the default; ``"harm"`` compares a harm
judge's ``harmful`` with harm labels instead, positive = harmful). Against labels, precision is "of the responses the judge calls
refusals, the fraction labelled refusal" and recall "of the labelled refusals, the fraction the
judge calls refusals"; a judge that misses refusals over-states the non-refusal (attack success)
rate, one with low precision under-states it. Cohen's κ corrects the raw agreement for the
agreement two raters with these refusal rates would reach by chance:
``κ = (p_o - p_e) / (1 - p_e)``, ``p_e = p_judge · p_label + (1 - p_judge)(1 - p_label)``; it is
undefined (None) when both raters give one class only (``p_e = 1``). Its 95% CI is a percentile
bootstrap over items (``n_boot`` resamples of (verdict, label) pairs with replacement, seeded as
``harness.metrics.bootstrap_ci``: resamples where κ is undefined are left out); accuracy's CI is
``bootstrap_ci`` of the per-item agreement.

Judge against judge (a run folder's ``judgments/<judge>/<model>/<benchmark>.jsonl``): the same
numbers over the items both judged, with judge A in the labels' place (precision and recall of B
taking A as the reference; κ and agreement are symmetric). A registered judge without verdicts in
the run is applied to the run's ``generations/`` (the same responses).

A verdict without a value for the measure (a classifier's parse failure) is left out of every
number and counted as ``parse_failures``; it is never mapped to a class.
"""

from __future__ import annotations

import fnmatch
import json
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.data import DataSpec, read_rows, to_records
from harness.errors import UserError, expect
from harness.io import safe_name
from harness.judges.base import Verdict, available_judges, get_judge
from harness.metrics import bootstrap_ci, bootstrap_index_chunks, percentile_interval

POSITIVE_LABELS = ("refusal", "refused", "refuse", "true", "1", "yes")
NEGATIVE_LABELS = ("compliance", "complied", "comply", "not-refused", "not_refused", "non-refusal", "false", "0", "no")
HARM_POSITIVE_LABELS = ("harmful", "unsafe", "true", "1", "yes")
HARM_NEGATIVE_LABELS = ("harmless", "safe", "not-harmful", "not_harmful", "false", "0", "no")
# what a verdict is compared on: the Verdict field, and the default label values of its two classes
MEASURES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "refusal": ("refused", POSITIVE_LABELS, NEGATIVE_LABELS),
    "harm": ("harmful", HARM_POSITIVE_LABELS, HARM_NEGATIVE_LABELS),
}
GROUP_COLUMNS = ("type", "category")  # the breakdown column used when --by is not given, first present


def _none_if_nan(x: float) -> float | None:
    return None if x is None or math.isnan(x) else float(x)


# ------------------------------------------------------------------------------------ statistics
@dataclass(frozen=True)
class Confusion:
    """The 2×2 table; positive = refused. ``tp``: both say refused; ``fp``: the judge says refused, the
    reference not; ``fn``: the reference says refused, the judge not; ``tn``: neither."""

    tp: int
    fp: int
    fn: int
    tn: int

    @classmethod
    def of(cls, predicted: Sequence[bool], reference: Sequence[bool]) -> Confusion:
        expect(len(predicted) == len(reference),
               f"agreement: {len(predicted)} verdicts but {len(reference)} reference labels")
        pairs = Counter((bool(p), bool(r)) for p, r in zip(predicted, reference, strict=True))
        return cls(pairs[True, True], pairs[True, False], pairs[False, True], pairs[False, False])

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    def accuracy(self) -> float:
        return (self.tp + self.tn) / self.n if self.n else math.nan

    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else math.nan

    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else math.nan

    def f1(self) -> float:
        p, r = self.precision(), self.recall()
        if math.isnan(p) or math.isnan(r):
            return math.nan
        return 0.0 if p + r == 0 else 2 * p * r / (p + r)

    def kappa(self) -> float:
        """Cohen's κ; nan when chance agreement is 1 (both raters use one class only)."""
        if not self.n:
            return math.nan
        p_o = self.accuracy()
        p_judge, p_ref = (self.tp + self.fp) / self.n, (self.tp + self.fn) / self.n
        p_e = p_judge * p_ref + (1 - p_judge) * (1 - p_ref)
        return math.nan if p_e >= 1.0 else (p_o - p_e) / (1 - p_e)

    def to_dict(self) -> dict[str, int]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn}


def cohen_kappa(predicted: Sequence[bool], reference: Sequence[bool]) -> float:
    return Confusion.of(predicted, reference).kappa()


def kappa_bootstrap_ci(predicted: Sequence[bool], reference: Sequence[bool], n_boot: int = 1000,
                       confidence: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap CI of κ over items (pairs resampled together); (nan, nan) when undefined."""
    expect(n_boot >= 1, f"bootstrap n_boot must be >= 1, got {n_boot}")
    expect(0.0 < confidence < 1.0, f"bootstrap confidence must be between 0 and 1 (exclusive), got {confidence}")
    p = np.asarray(predicted, dtype=float)
    r = np.asarray(reference, dtype=float)
    n = p.size
    if n == 0:
        return (math.nan, math.nan)
    kappas = np.empty(n_boot)
    for start, idx in bootstrap_index_chunks(n, n_boot, seed):
        rows = len(idx)
        ps, rs = p[idx], r[idx]
        p_o = (ps == rs).mean(axis=1)
        pp, pr = ps.mean(axis=1), rs.mean(axis=1)
        p_e = pp * pr + (1 - pp) * (1 - pr)
        with np.errstate(divide="ignore", invalid="ignore"):
            kappas[start:start + rows] = np.where(p_e < 1.0, (p_o - p_e) / (1 - p_e), np.nan)
    kappas = kappas[~np.isnan(kappas)]
    if kappas.size == 0:
        return (math.nan, math.nan)
    return percentile_interval(kappas, confidence)


@dataclass
class Agreement:
    """A rater (a judge) against a reference (labels, or another judge) over the same items."""

    rater: str
    reference: str
    confusion: Confusion
    accuracy_ci: tuple[float, float]
    kappa_ci: tuple[float, float]
    by_group: dict[str, dict[str, Any]] = field(default_factory=dict)
    parse_failures: int = 0  # items left out: the rater gave no verdict on the measure

    @property
    def n(self) -> int:
        return self.confusion.n

    def to_dict(self) -> dict[str, Any]:
        c = self.confusion
        return {
            "rater": self.rater, "reference": self.reference, "n": c.n, "parse_failures": self.parse_failures,
            "accuracy": _none_if_nan(c.accuracy()), "accuracy_ci": [_none_if_nan(x) for x in self.accuracy_ci],
            "precision": _none_if_nan(c.precision()), "recall": _none_if_nan(c.recall()),
            "f1": _none_if_nan(c.f1()),
            "kappa": _none_if_nan(c.kappa()), "kappa_ci": [_none_if_nan(x) for x in self.kappa_ci],
            "rater_refusal_rate": _none_if_nan((c.tp + c.fp) / c.n if c.n else math.nan),
            "reference_refusal_rate": _none_if_nan((c.tp + c.fn) / c.n if c.n else math.nan),
            "confusion": {**c.to_dict(), "rows": "rater refused / not", "columns": "reference refused / not",
                          "table": [[c.tp, c.fp], [c.fn, c.tn]]},
            "by_group": self.by_group,
        }


def agreement(predicted: Sequence[bool], reference: Sequence[bool], *, rater: str = "judge",
              reference_name: str = "labels", groups: Sequence[str] | None = None, n_boot: int = 1000,
              confidence: float = 0.95, seed: int = 0) -> Agreement:
    """Accuracy, precision, recall, F1, κ (bootstrap CIs for accuracy and κ), and a per-group breakdown."""
    c = Confusion.of(predicted, reference)
    agree = [float(bool(p) == bool(r)) for p, r in zip(predicted, reference, strict=True)]
    acc_ci = bootstrap_ci(agree, n_boot=n_boot, confidence=confidence, seed=seed)
    kappa_ci = kappa_bootstrap_ci(predicted, reference, n_boot=n_boot, confidence=confidence, seed=seed)
    by_group: dict[str, dict[str, Any]] = {}
    if groups is not None:
        expect(len(groups) == len(predicted), f"agreement: {len(groups)} groups for {len(predicted)} items")
        members: dict[str, list[int]] = defaultdict(list)
        for i, g in enumerate(groups):
            members[g].append(i)
        for g in sorted(members):
            gc = Confusion.of([predicted[i] for i in members[g]], [reference[i] for i in members[g]])
            by_group[g] = {"n": gc.n, "accuracy": gc.accuracy(), "disagreements": gc.fp + gc.fn,
                           "rater_refusal_rate": (gc.tp + gc.fp) / gc.n,
                           "reference_refusal_rate": (gc.tp + gc.fn) / gc.n, "kappa": _none_if_nan(gc.kappa())}
    return Agreement(rater, reference_name, c, acc_ci, kappa_ci, by_group)


# ------------------------------------------------------------------------------------ judges
def measures(judge: Any) -> frozenset[str]:
    return frozenset(getattr(judge, "measures", frozenset({"refusal"})))


def verdict_value(verdict: Verdict, measure: str = "refusal") -> bool | None:
    """The verdict's answer on ``measure`` (None: no verdict, e.g. a parse failure)."""
    if getattr(verdict, "parse_error", False):
        return None
    value = getattr(verdict, MEASURES[measure][0], None)
    return None if value is None else bool(value)


def _check_measure(measure: str) -> None:
    if measure not in MEASURES:
        raise UserError(f"--measure: unknown measure {measure!r}; accepted: {', '.join(MEASURES)}")


def resolve_judges(patterns: Sequence[str], measure: str = "refusal") -> tuple[list[str], list[str]]:
    """Judge names from names (options included: ``name?key=value``) or shell patterns (``keyword-*``;
    ``all`` = every registered judge), in order; and the names a pattern matched that do not measure
    ``measure`` (left out). A judge named exactly that does not measure it is a UserError."""
    _check_measure(measure)
    known = available_judges()
    names: list[str] = []
    skipped: list[str] = []
    for pattern in patterns:
        exact = pattern != "all" and (pattern in known or "=" in pattern or not any(c in pattern for c in "*?["))
        if exact:
            judge = get_judge(pattern)  # the registry's one-line "unknown judge ...; accepted: ..." error
            expect(measure in measures(judge), f"judge {pattern!r} ({judge.id}) measures "
                                               f"{', '.join(sorted(measures(judge)))}, not {measure}; "
                                               f"choose --measure {'/'.join(sorted(measures(judge)))}")
            found = [pattern]
        else:
            found = known if pattern == "all" else [n for n in known if fnmatch.fnmatchcase(n, pattern)]
            expect(bool(found), f"unknown judge pattern {pattern!r}: it matches no registered judge; "
                                f"accepted: {', '.join(known)}")
            kept = [n for n in found if measure in measures(get_judge(n))]
            skipped.extend(n for n in found if n not in kept and n not in skipped)
            found = kept
        names.extend(n for n in found if n not in names)
    expect(bool(names), f"no judge left that measures {measure}: {', '.join(skipped)} do(es) not")
    return names, skipped


# ------------------------------------------------------------------------------------ labelled files
@dataclass
class LabelledItem:
    id: str
    prompt: str
    response: str
    label: str  # as written in the file
    refused: bool  # what the label means: the positive class (refused; harmful for --measure harm)
    group: str | None = None


def label_values(text: str | Sequence[str]) -> tuple[str, ...]:
    """``"refusal,refused"`` -> ``("refusal", "refused")``, lower-cased, blanks dropped."""
    parts = text.split(",") if isinstance(text, str) else list(text)
    return tuple(dict.fromkeys(p.strip().lower() for p in parts if p.strip()))


def _label_key(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip().lower()


def load_labelled(path: str | Path, *, prompt_field: str = "prompt", response_field: str = "response",
                  label_field: str = "label", id_field: str | None = None,
                  positive: Sequence[str] | None = None, negative: Sequence[str] | None = None,
                  by: str | None = None, split: str | None = None,
                  measure: str = "refusal") -> tuple[list[LabelledItem], str | None]:
    """The items of a labelled file (columns mapped as for data sources), and the breakdown column used.
    ``positive``/``negative``: the label values of the two classes (default: ``MEASURES[measure]``'s)."""
    _check_measure(measure)
    positive = label_values(MEASURES[measure][1] if positive is None else positive)
    negative = label_values(MEASURES[measure][2] if negative is None else negative)
    expect(bool(positive), "--positive: give at least one label value of the positive class")
    overlap = sorted(set(positive) & set(negative))
    expect(not overlap, f"--positive and --negative both list {', '.join(map(repr, overlap))}")
    fields = {"prompt": prompt_field, "response": response_field, **({"id": id_field} if id_field else {})}
    spec = DataSpec(path=str(path), fields=fields, split=split, name=Path(path).stem)
    rows = read_rows(spec)
    records = to_records(rows, spec)  # one line naming the column for a missing prompt/response column
    source = f"labels {path}"
    expect(label_field in rows[0], f"{source}: --label-field names column {label_field!r}, which is missing; "
                                   f"available: {', '.join(map(str, rows[0]))}")
    if by is None:
        by = next((c for c in GROUP_COLUMNS if c in rows[0]), None)
    else:
        expect(by in rows[0], f"{source}: --by names column {by!r}, which is missing; available: "
                              f"{', '.join(map(str, rows[0]))}")
    unmapped: Counter[str] = Counter()
    items = []
    for i, (row, record) in enumerate(zip(rows, records, strict=True)):
        key = _label_key(row.get(label_field))
        expect(key is not None, f"{source}: row {i} has no {label_field!r} label")
        if key not in positive and key not in negative:
            unmapped[key] += 1
            continue
        group = row.get(by) if by else None
        items.append(LabelledItem(record.id, record.prompt, record.response or "", str(row[label_field]),
                                  key in positive, None if group is None else str(group)))
    if unmapped:
        shown = ", ".join(f"{v!r} ({k} rows)" for v, k in unmapped.most_common(5))
        raise UserError(f"{source}: label value(s) {shown} in column {label_field!r} map to neither --positive "
                        f"({', '.join(positive)}) nor --negative ({', '.join(negative)}); pass the values meaning "
                        f"'{'refused' if measure == 'refusal' else 'harmful'}' with --positive and the others with "
                        "--negative")
    ids = [it.id for it in items]
    expect(len(set(ids)) == len(ids), f"{source}: item ids repeat; give a unique id column with --id-field")
    return items, by


@dataclass
class JudgeOnLabels:
    name: str
    judge_id: str
    agreement: Agreement
    verdicts: list[Verdict]
    values: list[bool | None]  # each verdict's answer on the measure (None: parse failure)


def judge_on_labels(name: str, items: Sequence[LabelledItem], *, measure: str = "refusal", n_boot: int = 1000,
                    confidence: float = 0.95, seed: int = 0) -> JudgeOnLabels:
    judge = get_judge(name)
    verdicts = judge.judge([it.prompt for it in items], [it.response for it in items])
    values = [verdict_value(v, measure) for v in verdicts]
    kept = [i for i, v in enumerate(values) if v is not None]
    grouped = any(it.group is not None for it in items)
    result = agreement([bool(values[i]) for i in kept], [items[i].refused for i in kept], rater=judge.id,
                       reference_name="labels", groups=[items[i].group or "" for i in kept] if grouped else None,
                       n_boot=n_boot, confidence=confidence, seed=seed)
    result.parse_failures = len(items) - len(kept)
    return JudgeOnLabels(name, judge.id, result, verdicts, values)


def disagreements(result: JudgeOnLabels, items: Sequence[LabelledItem]) -> list[dict[str, Any]]:
    """The items where the judge and the label differ (and parse failures, ``judge_value`` None)."""
    return [{"judge": result.judge_id, "id": it.id, "group": it.group, "label": it.label,
             "label_value": it.refused, "judge_value": value, "evidence": v.evidence,
             **({"parse_error": True} if value is None else {}), "prompt": it.prompt, "response": it.response}
            for it, v, value in zip(items, result.verdicts, result.values, strict=True) if value != it.refused]


# ------------------------------------------------------------------------------------ run folders
@dataclass
class RunVerdicts:
    """One judge's verdicts in a run: ``{(model/benchmark, item id): (value, evidence)}`` on the measure."""

    judge: str  # as the user named it
    folder: str  # under judgments/ ("" when judged now from generations/)
    judge_id: str | None
    source: str  # "judgments" or "generations"
    items: dict[tuple[str, str], tuple[bool, str | None]]
    parse_failures: int = 0


def _read_jsonl(path: Path) -> list[dict]:
    rows = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                raise UserError(f"{path}: line {i + 1} is not JSON") from None
    return rows


def _selected(key: str, model: str | None, benchmark: str | None) -> bool:
    parent, _, stem = key.rpartition("/")
    if benchmark is not None and stem != safe_name(benchmark):
        return False
    return model is None or parent == safe_name(model) or parent.startswith(safe_name(model) + "/")


def _files(root: Path) -> dict[str, Path]:
    return {p.relative_to(root).with_suffix("").as_posix(): p for p in sorted(root.rglob("*.jsonl"))}


def run_verdicts(run_dir: Path, judge: str, *, measure: str = "refusal", model: str | None = None,
                 benchmark: str | None = None) -> RunVerdicts:
    """``judge`` (a registered name, a judge id or a folder under judgments/) on the run's items."""
    _check_measure(measure)
    column = MEASURES[measure][0]
    selection = " for the selected --model/--benchmark" if model or benchmark else ""
    judgments = run_dir / "judgments"
    registered = judge.partition("?")[0] in available_judges()
    engine = get_judge(judge) if registered else None
    candidates = ([safe_name(engine.id)] if engine else []) + [safe_name(judge), judge]
    folder = next((c for c in candidates if (judgments / c).is_dir()), None)
    items: dict[tuple[str, str], tuple[bool, str | None]] = {}
    failures = 0
    if folder is not None:
        for key, path in _files(judgments / folder).items():
            if not _selected(key, model, benchmark):
                continue
            for i, row in enumerate(_read_jsonl(path)):
                expect("id" in row, f"{path}: line {i + 1} has no id; expected a judgments file")
                if row.get("parse_error"):
                    failures += 1
                elif row.get(column) is not None:  # rows without it: a task scorer's, or another measure's
                    items[key, str(row["id"])] = (bool(row[column]), row.get("evidence"))
        expect(bool(items) or failures > 0, f"run {run_dir}: judgments/{folder} holds no {column!r} verdicts"
                                            f"{selection}" + ("; a harm judge? try --measure harm"
                                                              if measure == "refusal" else ""))
        return RunVerdicts(judge, folder, engine.id if engine else _first_judge_id(judgments / folder),
                           "judgments", items, failures)
    present = sorted(p.name for p in judgments.iterdir() if p.is_dir()) if judgments.is_dir() else []
    generations = run_dir / "generations"
    if engine is None or not generations.is_dir():
        why = ("it is not a registered judge either" if engine is None
               else "and the run has no generations/ to apply it to")
        raise UserError(f"run {run_dir}: no verdicts of judge {judge!r} under judgments/ (found: "
                        f"{', '.join(present) or 'none'}); {why}")
    expect(measure in measures(engine), f"judge {judge!r} ({engine.id}) does not measure {measure}")
    for key, path in _files(generations).items():
        if not _selected(key, model, benchmark):
            continue
        rows = _read_jsonl(path)
        expect(all("id" in r for r in rows), f"{path}: a row has no id; expected a generations file")
        verdicts = engine.judge([str(r.get("prompt") or "") for r in rows],
                                [str(r.get("response") or "") for r in rows])
        for r, v in zip(rows, verdicts, strict=True):
            value = verdict_value(v, measure)
            if value is None:
                failures += 1
            else:
                items[key, str(r["id"])] = (value, v.evidence)
    expect(bool(items) or failures > 0, f"run {run_dir}: generations/ holds no responses{selection}")
    return RunVerdicts(judge, "", engine.id, "generations", items, failures)


def _first_judge_id(folder: Path) -> str | None:
    for path in sorted(folder.rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                return json.loads(line).get("judge")
    return None


@dataclass
class JudgeVsJudge:
    a: RunVerdicts
    b: RunVerdicts
    agreement: Agreement
    keys: list[tuple[str, str]]

    def disagreements(self, run_dir: Path) -> list[dict[str, Any]]:
        generations: dict[str, dict[str, dict]] = {}
        rows = []
        for key in self.keys:
            (ra, ea), (rb, eb) = self.a.items[key], self.b.items[key]
            if ra == rb:
                continue
            where, item_id = key
            if where not in generations:
                path = run_dir / "generations" / f"{where}.jsonl"
                generations[where] = {str(r.get("id")): r for r in _read_jsonl(path)} if path.is_file() else {}
            gen = generations[where].get(item_id, {})
            rows.append({"item": where, "id": item_id, "a_refused": ra, "a_evidence": ea, "b_refused": rb,
                         "b_evidence": eb, "prompt": gen.get("prompt"), "response": gen.get("response")})
        return rows


def judge_vs_judge(run_dir: str | Path, a: str, b: str, *, measure: str = "refusal", model: str | None = None,
                   benchmark: str | None = None, n_boot: int = 1000, confidence: float = 0.95,
                   seed: int = 0) -> JudgeVsJudge:
    """κ and agreement of two judges over the items of a run both judged (A plays the labels' part)."""
    run_dir = Path(run_dir)
    expect(run_dir.is_dir(), f"run folder {str(run_dir)!r} not found; expected a folder written by "
                             "`procon-bench run` or `eval`")
    va = run_verdicts(run_dir, a, measure=measure, model=model, benchmark=benchmark)
    vb = run_verdicts(run_dir, b, measure=measure, model=model, benchmark=benchmark)
    same = (va.folder and va.folder == vb.folder) or (va.judge_id is not None and va.judge_id == vb.judge_id)
    expect(not same, f"judge-agreement: {a!r} and {b!r} are the same judge's verdicts; name two different judges")
    keys = sorted(set(va.items) & set(vb.items))
    expect(bool(keys), f"run {run_dir}: no item was judged by both {a!r} ({len(va.items)} items) and {b!r} "
                       f"({len(vb.items)} items)")
    result = agreement([vb.items[k][0] for k in keys], [va.items[k][0] for k in keys],
                       rater=vb.judge_id or b, reference_name=va.judge_id or a, groups=[k[0] for k in keys],
                       n_boot=n_boot, confidence=confidence, seed=seed)
    result.parse_failures = va.parse_failures + vb.parse_failures
    return JudgeVsJudge(va, vb, result, keys)
