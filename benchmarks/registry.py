"""Benchmark registry: one YAML spec per benchmark in ``benchmarks/specs/`` (lm-eval style).

A benchmark = data source + kind + metric (+ judges or scorer). ``kind`` decides the judging:
``harmful`` and ``overrefusal`` go through one or more judges (``judge:`` or a list ``judges:``,
default: the run's ``evaluation.judge(s)``), ``task`` through a scorer against the record's
reference answer, plus the quality judges it names itself (``judges: [mt-bench?model=...]``: one
more row each, ``mt_bench_score``; the run's judges grade safety and never score a task). The (kind,
metric) pair must be registered in ``harness.metrics``, which also gives its direction
(``refusal_rate`` is good on harmful prompts, bad on harmless ones).

A harmful benchmark's metric, unless the spec or config names one, follows what each judge
measures (``metric_for``): ``non_refusal_rate`` for a refusal judge (keyword lists),
``attack_success_rate`` (harmful answers, HarmBench's ASR) for a harm judge; so one benchmark scored
by a keyword judge and a classifier shows refusal and harm side by side. Configs name a benchmark,
optionally overriding its fields (``{name: advbench, data: {path: my/advbench.csv, fields: {prompt:
goal}}}``), or define a new one inline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.data import DataSpec
from harness.errors import UserError, unknown_name

SPEC_DIR = Path(__file__).resolve().parent / "specs"
KIND_METRIC = {"overrefusal": "refusal_rate", "task": "accuracy"}  # harmful: by judge (``default_metric``)
HARM_METRIC, REFUSAL_METRIC = "attack_success_rate", "non_refusal_rate"
QUALITY, QUALITY_METRIC = "quality", "mt_bench_score"  # what an answer-quality judge (mt-bench) measures, and scores


def default_metric(kind: str, measures: frozenset[str] | set[str] | None = None) -> str:
    """A benchmark's metric when none is named: by kind, and on harmful prompts by what the judge
    measures: harm (a classifier; also WildGuard, which measures both) -> ``attack_success_rate``,
    refusal only (keyword lists, or unknown) -> ``non_refusal_rate``."""
    if kind != "harmful":
        return KIND_METRIC[kind]
    return HARM_METRIC if measures and "harm" in measures else REFUSAL_METRIC


@dataclass
class BenchmarkSpec:
    name: str
    kind: Literal["harmful", "overrefusal", "task"]
    data: DataSpec
    metric: str | None = None  # default from kind (harmful: from each judge's kind, ``metric_for``)
    judge: str | None = None  # one judge; default: the run's evaluation.judge / judges
    judges: list[str] | None = None  # several judges, each with its own judgments and metric rows (task: quality judges)
    scorer: str | None = None  # task scorer (benchmarks.scorers)
    reference_field: str = "response"  # record field (or meta key) holding the task's reference answer
    max_new_tokens: int | None = None  # overrides the run's sampling.max_new_tokens
    chat: bool = True  # false: send the raw prompt text, no chat template (base models, completion tasks)
    limit: int | None = None
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from harness.metrics import metric_direction, metric_spec

        if self.metric is None and self.kind != "harmful":
            self.metric = KIND_METRIC[self.kind]
        if self.metric is not None:
            metric_direction(self.kind, self.metric, f"benchmark {self.name}")  # a typo fails before any model loads
            self.metric = metric_spec(self.metric).name  # aliases ("asr") resolved: one name per column
        if self.kind == "task" and not self.scorer:
            raise UserError(f"benchmark {self.name}: a task benchmark needs a scorer")
        check_judge_names(f"benchmark {self.name}: ", self.judge, self.judges)
        if self.limit is not None and (isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit <= 0):
            raise UserError(f"benchmark {self.name}: limit: expected a positive integer (or null for all prompts), "
                            f"got {self.limit!r}")

    @property
    def higher_is_better(self) -> bool:
        """The metric's direction on this kind of benchmark (a UserError if the pair is not defined);
        for a harmful benchmark without a named metric, that of both judge-kind defaults (lower is better)."""
        return self.direction(self.metric or default_metric(self.kind))

    def direction(self, metric: str) -> bool:
        from harness.metrics import metric_direction

        return metric_direction(self.kind, metric, f"benchmark {self.name}")

    def metric_for(self, measures: frozenset[str] | set[str] | None) -> str:
        """The metric a judge that measures ``measures`` scores here: the named one, else ``default_metric``;
        a quality judge scores its rating whatever the named metric (a task's is its scorer's)."""
        if measures and QUALITY in measures:
            return QUALITY_METRIC
        return self.metric or default_metric(self.kind, measures)

    def judge_names(self, run_judges: list[str]) -> list[str]:
        """The judges that score this benchmark: its own ``judge``/``judges``, else the run's (a task
        benchmark: its own only; the run's judges grade safety, a task's scorer its answers)."""
        return [self.judge] if self.judge else list(self.judges or (run_judges if self.kind != "task" else []))


def check_judge_names(where: str, judge: str | None, judges: list[str] | None) -> None:
    """``judge`` (one) and ``judges`` (a list) exclude each other; a list is non-empty, of distinct
    names. ``where`` prefixes the message ("benchmark x: "; "" inside a config section, which
    ``from_dict`` names)."""
    if judge is not None and judges is not None:
        raise UserError(f"{where}give either judge: (one judge) or judges: (a list), not both")
    if judge is not None and (not isinstance(judge, str) or not judge.strip()):
        raise UserError(f"{where}judge: expected a judge name, got {judge!r}")
    if judges is None:
        return
    if not judges:
        raise UserError(f"{where}judges: expected at least one judge name, e.g. [keyword-gcg, keyword-rules]")
    for i, name in enumerate(judges):
        if not isinstance(name, str) or not name.strip():
            raise UserError(f"{where}judges[{i}]: expected a judge name, got {name!r}")
    repeated = sorted({n for n in judges if judges.count(n) > 1})
    if repeated:
        raise UserError(f"{where}judges: {', '.join(repeated)} listed twice; expected each judge once")


def _load_specs() -> dict[str, dict]:
    import yaml

    specs = {}
    for path in sorted(SPEC_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        specs[data["name"]] = data
    return specs


def available_benchmarks() -> list[str]:
    return sorted(_load_specs())


def resolve_benchmark(entry: str | dict) -> BenchmarkSpec:
    """A registry name, or a mapping with ``name`` (+ overrides, or a full inline definition)."""
    from harness.config import from_dict

    specs = _load_specs()
    if isinstance(entry, str):
        entry = {"name": entry}
    if not isinstance(entry, dict) or "name" not in entry:
        raise UserError(f"evaluation.benchmarks: expected a name or a mapping with name, got {entry!r}")
    name = entry["name"]
    base = dict(specs.get(name, {}))
    if not base and "data" not in entry:
        raise unknown_name("benchmark", name, specs)
    merged = {**base, **entry}
    if "data" in entry and "data" in base and isinstance(entry["data"], dict):
        replaces_source = any(k in entry["data"] for k in ("builtin", "path", "hub"))
        merged["data"] = entry["data"] if replaces_source else {**base["data"], **entry["data"]}
    return from_dict(BenchmarkSpec, merged, f"benchmark {name}")
