"""Benchmark registry: one YAML spec per benchmark in ``benchmarks/specs/`` (lm-eval style).

A benchmark = data source + kind + metric (+ judge or scorer). ``kind`` decides the judging:
``harmful`` and ``overrefusal`` go through a refusal judge, ``task`` through a scorer against the
record's reference answer. The (kind, metric) pair must be registered in ``harness.metrics``, which
also gives its direction (``refusal_rate`` is good on harmful prompts, bad on harmless ones). Configs name a benchmark, optionally overriding its fields
(``{name: advbench, data: {path: my/advbench.csv, fields: {prompt: goal}}}``), or define a new one inline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from harness.data import DataSpec
from harness.errors import UserError, unknown_name

SPEC_DIR = Path(__file__).resolve().parent / "specs"
KIND_METRIC = {"harmful": "attack_success_rate", "overrefusal": "refusal_rate", "task": "accuracy"}


@dataclass
class BenchmarkSpec:
    name: str
    kind: Literal["harmful", "overrefusal", "task"]
    data: DataSpec
    metric: str | None = None  # default from kind
    judge: str | None = None  # refusal judge; default: the run's evaluation.judge
    scorer: str | None = None  # task scorer (benchmarks.scorers)
    reference_field: str = "response"  # record field (or meta key) holding the task's reference answer
    max_new_tokens: int | None = None  # overrides the run's sampling.max_new_tokens
    chat: bool = True  # false: send the raw prompt text, no chat template (base models, completion tasks)
    limit: int | None = None
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from harness.metrics import metric_direction, metric_spec

        self.metric = self.metric or KIND_METRIC[self.kind]
        metric_direction(self.kind, self.metric, f"benchmark {self.name}")  # a typo fails before any model loads
        self.metric = metric_spec(self.metric).name  # aliases ("asr") resolved: one name per column
        if self.kind == "task" and not self.scorer:
            raise UserError(f"benchmark {self.name}: a task benchmark needs a scorer")
        if self.limit is not None and (isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit <= 0):
            raise UserError(f"benchmark {self.name}: limit: expected a positive integer (or null for all prompts), "
                            f"got {self.limit!r}")

    @property
    def higher_is_better(self) -> bool:
        """The metric's direction on this kind of benchmark (a UserError if the pair is not defined)."""
        from harness.metrics import metric_direction

        return metric_direction(self.kind, self.metric, f"benchmark {self.name}")


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
