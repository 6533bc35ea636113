"""Evaluate models on benchmarks: generate (cached) -> judge/score -> metrics with bootstrap CIs.

All adapters of one base model are scored in one generate call per benchmark: as LoRA requests
mixed in one engine's batches, or each as merged weights (``evaluation.adapter_serving``,
``harness/generation/serving.py``). Every stage writes its files under the run folder (HarmBench layout):
``generations/<model>/<benchmark>.jsonl``, ``judgments/<judge>/<model>/<benchmark>.jsonl`` (``<model>/seed-<s>``
for each seed of a trained model in a multi-seed run).

A benchmark can be scored by several judges (``evaluation.judges`` or a benchmark's ``judges``):
the answers are generated once, and each judge writes its own judgments folder and metric row, its
metric named by what it measures (``benchmarks.registry.default_metric``; a metric the judge cannot
measure fails in ``load_benchmarks``). Every judgments row also carries the ``degenerate`` flag and
its reason (``harness/degenerate.py``), and each (model, benchmark) gets a ``degenerate_rate`` row
(judge ``DEGENERATE_ID``, its items read from the first judge's judgments file). A task benchmark
keeps its scorer's row first and may add quality judges (``judges: [mt-bench?model=...]``), which get
the records' reference answers (``uses_reference``: MT-Bench's reference-guided prompt).
"""

from __future__ import annotations

import hashlib
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from benchmarks.registry import QUALITY, BenchmarkSpec, resolve_benchmark
from benchmarks.sampling import stratified_sample
from benchmarks.scorers import get_scorer
from harness.config import EvalConfig
from harness.data import load_records
from harness.degenerate import DEGENERATE_ID, degenerate_all
from harness.errors import UserError, expect
from harness.generation import Completion, GenerationRequest, Generator, SamplingConfig
from harness.generation.lora import check_adapter_base
from harness.io import safe_name as _safe
from harness.io import write_jsonl_atomic
from harness.judges import get_judge
from harness.judges.base import Judge, Verdict
from harness.metrics import has_sampling_ci, metric_spec, rate, spread
from harness.models import format_prompt, load_tokenizer
from harness.records import Record
from harness.report.items import judgments_file
from harness.report.metrics_table import MetricRow, category_breakdown


@dataclass
class EvalTarget:
    """One row of the leaderboard: a base model folder plus an optional LoRA adapter.

    A multi-seed run evaluates one target per (defense, seed): they share ``name``, and ``seed``
    labels their rows and picks their own sampling and bootstrap sub-seeds; ``folder`` keeps their
    generations and judgments apart (``<name>/seed-<s>``)."""

    name: str
    model_path: str
    adapter: str | None = None
    model_ref: str | None = None  # the configured model reference (to compare with an adapter's hub-id base)
    seed: int | None = None  # row label; None: evaluate()'s seed
    folder: str | None = None  # under generations/ and judgments/<judge>/; None: the name made safe
    sampling_seed: int | None = None  # used only when sampling is not greedy; None: the config's sampling seed
    bootstrap_seed: int | None = None  # None: evaluate()'s bootstrap seed
    # Evaluated with this system prompt instead of the run's (a defense's evaluation-time setting,
    # e.g. BEA's secret trigger); None: the run's. ``note`` says so in the rows and the footnote.
    system_prompt: str | None = None
    note: str | None = None

    @property
    def folder_name(self) -> str:
        return self.folder or _safe(self.name)


def folder_names(kind: str, names: list[str]) -> dict[str, str]:
    """``name -> folder`` via ``_safe``; refuses two names that would share a folder (and overwrite files)."""
    folders: dict[str, str] = {}
    for name in dict.fromkeys(names):
        folder = _safe(name)
        clash = next((other for other, f in folders.items() if f == folder), None)
        if clash is not None:
            raise UserError(f"{kind} names {clash!r} and {name!r} both map to the folder {folder!r}; "
                            "rename one (letters, digits, '-', '_' and '.' are kept, everything else becomes '_')")
        folders[name] = folder
    return folders


def _reference(record: Record, spec: BenchmarkSpec) -> str:
    ref = record.meta.get(spec.reference_field) if spec.reference_field != "response" else record.response
    if ref is None:
        raise UserError(f"benchmark {spec.name}: record {record.id} has no reference answer in {spec.reference_field!r}")
    return str(ref)


def _references(spec: BenchmarkSpec, records: list[Record]) -> list[str | None]:
    """What a reference-using judge grades against: a task's reference answers; None per item elsewhere
    (a harmful or harmless benchmark has no reference answer)."""
    return [_reference(r, spec) for r in records] if spec.kind == "task" else [None] * len(records)


@dataclass(frozen=True)
class Scoring:
    """One judge (or a task's scorer) of a benchmark: the name it is configured by, its versioned id
    (the judgments folder and the rows' ``judge``) and the metric it scores there."""

    name: str
    id: str
    metric: str
    scorer: bool = False  # a task's scorer (``benchmarks.scorers``), not a judge


_HARM_JUDGES = "e.g. harmbench-cls, llama-guard-3, wildguard"
# Why a metric that needs a kind of judge (``MetricSpec.measures``) refuses another, by that kind
_MEASURE_HINTS = {
    "harm": ("metric {metric} (ASR) counts harmful answers and needs a harm judge (" + _HARM_JUDGES + "); "
             "what a refusal judge measures on harmful prompts is non_refusal_rate, its default metric "
             "(set metric: non_refusal_rate, or leave metric unset)"),
    "refusal": ("metric {metric} needs a refusal judge (keyword-*, or wildguard, which also labels "
                "refusals); a harm judge's metric on harmful prompts is attack_success_rate"),
    "quality": "metric {metric} is an answer-quality rating and needs a quality judge (mt-bench?model=...)",
}


def check_judge_metric(judge: Judge, metric: str, where: str) -> None:
    """A metric that needs a kind of judge (``MetricSpec.measures``) with a judge that measures
    something else is refused, in one line that names the metric to use instead."""
    spec = metric_spec(metric)
    if spec.measures is not None and spec.measures not in judge.measures:
        measured = ", ".join(sorted(judge.measures))
        hint = _MEASURE_HINTS[spec.measures].format(metric=spec.name)
        raise UserError(f"{where}: judge {judge.id} measures {measured}, not {spec.measures}: {hint}")
    try:
        judge.check_metric(spec.complement_of or metric)
    except UserError as exc:
        raise UserError(f"{where}: {exc}") from None


def judge_metric_values(judge: Judge, metric: str, verdicts: list[Verdict]) -> list[float | None]:
    """Per-item values of ``metric`` from ``judge``'s verdicts (None: no verdict); a complement metric
    (``non_refusal_rate``) is 1 - the judge's values of the metric it complements."""
    spec = metric_spec(metric)
    if spec.complement_of is None:
        return judge.metric_values(metric, verdicts)
    return [None if v is None else 1.0 - v for v in judge.metric_values(spec.complement_of, verdicts)]


def benchmark_scorings(spec: BenchmarkSpec, cfg: EvalConfig) -> list[Scoring]:
    """The judges (or the scorer) of a benchmark with their metrics, each checked: a bad judge name
    or a metric its judge cannot score is a one-line UserError naming the benchmark."""
    where = f"benchmark {spec.name}"
    scorings: list[Scoring] = []
    if spec.kind == "task":
        assert spec.metric is not None and spec.scorer is not None  # BenchmarkSpec guarantees both
        scorings.append(Scoring(spec.scorer, f"scorer:{spec.scorer}", spec.metric, scorer=True))
    for name in spec.judge_names(cfg.judge_names):
        try:
            judge = get_judge(name)
        except UserError as exc:
            raise UserError(f"{where}: {exc}") from None
        if spec.kind == "task" and QUALITY not in judge.measures:
            raise UserError(f"{where}: a task benchmark is scored by its scorer ({spec.scorer}); the judges it adds "
                            f"grade answer quality (e.g. mt-bench?model=...), and judge {judge.id} measures "
                            f"{', '.join(sorted(judge.measures))}")
        metric = spec.metric_for(judge.measures)
        spec.direction(metric)
        check_judge_metric(judge, metric, where)
        clash = next((s for s in scorings if s.id == judge.id), None)
        if clash is not None:
            raise UserError(f"{where}: judges {clash.name!r} and {name!r} are both {judge.id}: their verdicts would "
                            "share one judgments folder and column; list each judge once")
        scorings.append(Scoring(name, judge.id, metric))
    return scorings


def load_benchmarks(cfg: EvalConfig, seed: int = 0) -> list[tuple[BenchmarkSpec, list[Record]]]:
    """Resolve every benchmark, its metric, judges or scorer, and its data: all bad input fails here,
    before models load. ``limit`` keeps a seeded, category-stratified sample (``benchmarks.sampling``)."""
    out = []
    for entry in cfg.benchmarks:
        spec = resolve_benchmark(entry)  # also checks the (kind, metric) pair
        if spec.kind == "task":
            get_scorer(spec.scorer)
        benchmark_scorings(spec, cfg)  # every judge with its metric (a harm judge cannot score refusal_rate)
        records = load_records(spec.data)
        out.append((spec, stratified_sample(records, spec.limit if spec.limit is not None else cfg.limit, seed)))
    folder_names("benchmark", [spec.name for spec, _ in out])
    return out


def evaluate(cfg: EvalConfig, targets: list[EvalTarget], run_dir: str | Path, run_name: str,
             system_prompt: str | None = None, seed: int | None = None, progress: bool = True,
             report: dict | None = None, sample_seed: int = 0, bootstrap_seed: int | None = None) -> list[MetricRow]:
    """Score every target on every benchmark; ``report``, when given, is filled with what the
    evaluation did: ``generated`` / ``cached`` completions, ``generation_keys`` (sha256 over every
    generation cache key, in order) and the sorted ``judges`` (judge, scorer and degenerate-heuristic ids).

    ``seed`` labels the rows and seeds the bootstrap unless ``bootstrap_seed`` is given (the pipeline
    passes the run's derived bootstrap sub-seed); ``sample_seed`` seeds the ``limit`` sample, fixed by default so that every
    run seed is scored on the same records (README "Seeds")."""
    run_dir = Path(run_dir)
    benchmarks = load_benchmarks(cfg, sample_seed)
    names = [t.name for t in targets]
    labels = [(t.name, t.seed) for t in targets]
    if len(set(labels)) != len(labels):
        raise UserError(f"models: names must be unique, got {names}")
    folder_names("model", names)
    folders = [t.folder_name for t in targets]
    expect(len(set(folders)) == len(folders), f"models: two targets share an output folder: {folders}")
    for t in targets:
        if t.adapter:
            check_adapter_base(t.adapter, t.model_path, t.name, t.model_ref)
    by_base: dict[str, list[EvalTarget]] = defaultdict(list)
    for t in targets:
        by_base[t.model_path].append(t)
    scorings = {spec.name: benchmark_scorings(spec, cfg) for spec, _ in benchmarks}
    rows: list[MetricRow] = []
    digest, generated, cached = hashlib.sha256(), 0, 0
    for base, group in by_base.items():
        tokenizer = load_tokenizer(base)
        adapters = tuple(dict.fromkeys(t.adapter for t in group if t.adapter))
        generator = Generator(base, adapters=adapters, engine=cfg.engine, max_model_len=cfg.max_model_len,
                              adapter_serving=cfg.adapter_serving)
        try:
            # every benchmark's requests first, then one generation pass over all of them (merged weights:
            # each adapter merged and served once), then judging
            jobs: list[tuple[BenchmarkSpec, list[Record], list[EvalTarget], list[GenerationRequest], SamplingConfig]] = []
            for spec, records in benchmarks:
                base_sampling = replace(cfg.sampling, max_new_tokens=spec.max_new_tokens or cfg.sampling.max_new_tokens)
                prompts: dict[str | None, list[str]] = {}  # by system prompt: the run's, or a target's own
                for t in group:
                    sp = system_prompt if t.system_prompt is None else t.system_prompt
                    if sp not in prompts:
                        prompts[sp] = [format_prompt(tokenizer, r.prompt, sp, chat=spec.chat) for r in records]
                for sampling, members in _by_sampling_seed(group, base_sampling):
                    requests = [GenerationRequest(p, t.adapter) for t in members
                                for p in prompts[system_prompt if t.system_prompt is None else t.system_prompt]]
                    for key in generator.keys(requests, sampling):
                        digest.update(key.encode())
                    jobs.append((spec, records, members, requests, sampling))
            outputs = generator.generate_jobs([(requests, sampling) for *_, requests, sampling in jobs],
                                              desc=f"{len(benchmarks)} benchmark(s) x{len(group)} models",
                                              progress=progress)
            for (spec, records, members, _, _), completions in zip(jobs, outputs, strict=True):
                for k, target in enumerate(members):
                    outs = completions[k * len(records) : (k + 1) * len(records)]
                    boot = target.bootstrap_seed if target.bootstrap_seed is not None else (
                        (seed or 0) if bootstrap_seed is None else bootstrap_seed)
                    rows += _judge_and_score(spec, scorings[spec.name], cfg, records, outs, target, run_dir,
                                             run_name, seed if target.seed is None else target.seed, boot)
        finally:
            generated, cached = generated + generator.generated, cached + generator.cached
            generator.close()
    if report is not None:
        report.update(generated=generated, cached=cached, generation_keys=digest.hexdigest(),
                      judges=sorted({s.id for ss in scorings.values() for s in ss} | {DEGENERATE_ID}))
    return rows


def _by_sampling_seed(group: list[EvalTarget], sampling: SamplingConfig) -> list[tuple[SamplingConfig, list[EvalTarget]]]:
    """Targets that share one sampling config (one generate call). Greedy decoding draws nothing, so
    every target keeps the config's seed (one call, and the generation keys single-seed runs always had);
    sampled decoding gives each target its own seed's sampling sub-seed, which is in its generation keys."""
    if sampling.greedy:
        return [(sampling, group)]
    by_seed: dict[int, list[EvalTarget]] = defaultdict(list)
    for t in group:
        by_seed[sampling.seed if t.sampling_seed is None else t.sampling_seed].append(t)
    return [(replace(sampling, seed=s), members) for s, members in by_seed.items()]


def _warn_truncated(spec: BenchmarkSpec, cfg: EvalConfig, target: EvalTarget, count: int, total: int) -> None:
    print(f"warning: {spec.name}: {count}/{total} answers of {target.name} were cut short by max_model_len "
          f"{cfg.max_model_len} (prompt + max_new_tokens did not fit); they are counted as given. "
          "Raise evaluation.max_model_len to score full answers", file=sys.stderr)


def _judge_and_score(spec: BenchmarkSpec, scorings: list[Scoring], cfg: EvalConfig, records: list[Record],
                     completions: list[Completion], target: EvalTarget, run_dir: Path, run_name: str,
                     seed: int | None, bootstrap_seed: int) -> list[MetricRow]:
    """One row per judge (or the scorer), then the ``degenerate_rate`` row; every judge's judgments file."""
    model = target.folder_name
    outputs = [c.text for c in completions]
    truncated = sum(c.truncated for c in completions)
    if truncated:
        _warn_truncated(spec, cfg, target, truncated, len(completions))
    write_jsonl_atomic(run_dir / "generations" / model / f"{_safe(spec.name)}.jsonl", [
        {"id": r.id, "prompt": r.prompt, "response": c.text, "category": r.category, "truncated": c.truncated}
        for r, c in zip(records, completions, strict=True)
    ])
    flags = degenerate_all(outputs)
    categories = [r.category for r in records]
    rows: list[MetricRow] = []
    files: list[str] = []

    def metric_row(metric: str, judge_id: str, per_item: list[float | None], judgments: str,
                   extra: dict) -> MetricRow:
        # Per-item values; None = no verdict (a classifier judge's parse failure): left out of the metric's n
        judged = [(c, v) for c, v in zip(categories, per_item, strict=True) if v is not None]
        values = [v for _, v in judged]
        value = rate(values, n_boot=cfg.bootstrap, seed=bootstrap_seed) if has_sampling_ci(metric) else spread(values)
        per_category = category_breakdown([c for c, _ in judged], values)
        scored = metric != "degenerate_rate"  # the judges' rows carry the truncation count (shown once)
        higher = spec.direction(metric) if scored else metric_spec(metric).higher_is_better
        return MetricRow.from_value(run=run_name, model=target.name, benchmark=spec.name, metric=metric,
                                    mv=value, judge=judge_id, seed=seed, higher_is_better=higher,
                                    details={**({"truncated": truncated} if scored else {}), "judgments": judgments,
                                             **extra,
                                             **({"per_category": per_category} if per_category else {}),
                                             **({"evaluation": target.note} if target.note else {})})

    for scoring in scorings:
        details: dict = {}
        if scoring.scorer:
            scorer = get_scorer(spec.scorer)
            items = [scorer(out, _reference(r, spec)) for r, out in zip(records, outputs, strict=True)]
            verdict_rows = [{"id": r.id, "correct": ok} for r, ok in zip(records, items, strict=True)]
            per_item = metric_spec(scoring.metric).item_values(items)
        else:
            judge = get_judge(scoring.name)
            prompts = [r.prompt for r in records]
            verdicts = (judge.judge(prompts, outputs, references=_references(spec, records))
                        if getattr(judge, "uses_reference", False) else judge.judge(prompts, outputs))
            verdict_rows = [{"id": r.id, **judge.verdict_record(v)} for r, v in zip(records, verdicts, strict=True)]
            per_item = judge_metric_values(judge, scoring.metric, verdicts)
            details = judge.report()  # classifier judges: parse_failures, judge_inputs_truncated, judge_model
        for row, c, flag in zip(verdict_rows, completions, flags, strict=True):
            row.update(truncated=c.truncated, **flag.record())
        judgments = judgments_file(scoring.id, model, spec.name)
        write_jsonl_atomic(run_dir / judgments, verdict_rows)
        files.append(judgments)
        rows.append(metric_row(scoring.metric, scoring.id, per_item, judgments, details))
    reasons = Counter(f.reason.split(":")[0] for f in flags if f.reason)
    rows.append(metric_row("degenerate_rate", DEGENERATE_ID, [float(f.degenerate) for f in flags], files[0],
                           {"reasons": dict(sorted(reasons.items()))} if reasons else {}))
    return rows
