"""Evaluate models on benchmarks: generate (cached) -> judge/score -> metrics with bootstrap CIs.

All adapters of one base model are served by one engine (vLLM LoRA requests), one generate call per
benchmark. Every stage writes its files under the run folder (HarmBench layout):
``generations/<model>/<benchmark>.jsonl``, ``judgments/<judge>/<model>/<benchmark>.jsonl`` (``<model>/seed-<s>``
for each seed of a trained model in a multi-seed run).
"""

from __future__ import annotations

import hashlib
import sys
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from benchmarks.registry import BenchmarkSpec, resolve_benchmark
from benchmarks.sampling import stratified_sample
from benchmarks.scorers import get_scorer
from harness.config import EvalConfig
from harness.data import load_records
from harness.errors import UserError, expect
from harness.generation import Completion, GenerationRequest, Generator, SamplingConfig
from harness.generation.lora import check_adapter_base
from harness.io import safe_name as _safe
from harness.io import write_jsonl_atomic
from harness.judges import get_judge
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


def _judge_id(spec: BenchmarkSpec, cfg: EvalConfig) -> str:
    return f"scorer:{spec.scorer}" if spec.kind == "task" else get_judge(spec.judge or cfg.judge).id


def load_benchmarks(cfg: EvalConfig, seed: int = 0) -> list[tuple[BenchmarkSpec, list[Record]]]:
    """Resolve every benchmark, its metric, judge or scorer, and its data: all bad input fails here,
    before models load. ``limit`` keeps a seeded, category-stratified sample (``benchmarks.sampling``)."""
    out = []
    for entry in cfg.benchmarks:
        spec = resolve_benchmark(entry)  # also checks the (kind, metric) pair
        if spec.kind == "task":
            get_scorer(spec.scorer)
        else:
            get_judge(spec.judge or cfg.judge).check_metric(spec.metric)  # a harm judge cannot score refusal_rate
        records = load_records(spec.data)
        out.append((spec, stratified_sample(records, spec.limit if spec.limit is not None else cfg.limit, seed)))
    folder_names("benchmark", [spec.name for spec, _ in out])
    return out


def evaluate(cfg: EvalConfig, targets: list[EvalTarget], run_dir: str | Path, run_name: str,
             system_prompt: str | None = None, seed: int | None = None, progress: bool = True,
             report: dict | None = None, sample_seed: int = 0, bootstrap_seed: int | None = None) -> list[MetricRow]:
    """Score every target on every benchmark; ``report``, when given, is filled with what the
    evaluation did: ``generated`` / ``cached`` completions, ``generation_keys`` (sha256 over every
    generation cache key, in order) and the sorted ``judges`` (judge and scorer ids).

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
    rows: list[MetricRow] = []
    digest, generated, cached = hashlib.sha256(), 0, 0
    for base, group in by_base.items():
        tokenizer = load_tokenizer(base)
        adapters = tuple(dict.fromkeys(t.adapter for t in group if t.adapter))
        generator = Generator(base, adapters=adapters, engine=cfg.engine, max_model_len=cfg.max_model_len)
        try:
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
                    completions = generator.generate(requests, sampling, desc=f"{spec.name} x{len(members)} models",
                                                     progress=progress)
                    for k, target in enumerate(members):
                        outs = completions[k * len(records) : (k + 1) * len(records)]
                        boot = target.bootstrap_seed if target.bootstrap_seed is not None else (
                            (seed or 0) if bootstrap_seed is None else bootstrap_seed)
                        rows.append(_judge_and_score(spec, cfg, records, outs, target, run_dir, run_name,
                                                     seed if target.seed is None else target.seed, boot))
        finally:
            generated, cached = generated + generator.generated, cached + generator.cached
            generator.close()
    if report is not None:
        report.update(generated=generated, cached=cached, generation_keys=digest.hexdigest(),
                      judges=sorted({_judge_id(spec, cfg) for spec, _ in benchmarks}))
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


def _judge_and_score(spec: BenchmarkSpec, cfg: EvalConfig, records: list[Record], completions: list[Completion],
                     target: EvalTarget, run_dir: Path, run_name: str, seed: int | None,
                     bootstrap_seed: int) -> MetricRow:
    model = target.folder_name
    outputs = [c.text for c in completions]
    truncated = sum(c.truncated for c in completions)
    if truncated:
        _warn_truncated(spec, cfg, target, truncated, len(completions))
    write_jsonl_atomic(run_dir / "generations" / model / f"{_safe(spec.name)}.jsonl", [
        {"id": r.id, "prompt": r.prompt, "response": c.text, "category": r.category, "truncated": c.truncated}
        for r, c in zip(records, completions, strict=True)
    ])
    judge_id = _judge_id(spec, cfg)
    judge, judge_details = None, {}
    if spec.kind == "task":
        scorer = get_scorer(spec.scorer)
        items = [scorer(out, _reference(r, spec)) for r, out in zip(records, outputs, strict=True)]
        verdict_rows = [{"id": r.id, "correct": ok} for r, ok in zip(records, items, strict=True)]
    else:
        judge = get_judge(spec.judge or cfg.judge)
        items = judge.judge([r.prompt for r in records], outputs)
        verdict_rows = [{"id": r.id, **judge.verdict_record(v)} for r, v in zip(records, items, strict=True)]
        judge_details = judge.report()  # classifier judges: parse_failures, judge_inputs_truncated, judge_model
    for row, c in zip(verdict_rows, completions, strict=True):
        row["truncated"] = c.truncated
    judgments = judgments_file(judge_id, model, spec.name)
    write_jsonl_atomic(run_dir / judgments, verdict_rows)
    # Per-item values; None = no verdict (a classifier judge's parse failure): left out of the metric's n
    per_item = metric_spec(spec.metric).item_values(items) if judge is None else judge.metric_values(spec.metric, items)
    judged = [(r.category, v) for r, v in zip(records, per_item, strict=True) if v is not None]
    values = [v for _, v in judged]
    value = rate(values, n_boot=cfg.bootstrap, seed=bootstrap_seed) if has_sampling_ci(spec.metric) else spread(values)
    per_category = category_breakdown([c for c, _ in judged], values)
    return MetricRow.from_value(run=run_name, model=target.name, benchmark=spec.name, metric=spec.metric,
                                mv=value, judge=judge_id, seed=seed, higher_is_better=spec.higher_is_better,
                                details={"truncated": truncated, "judgments": judgments, **judge_details,
                                         **({"per_category": per_category} if per_category else {}),
                                         **({"evaluation": target.note} if target.note else {})})
