"""Evaluate models on benchmarks: generate (cached) -> judge/score -> metrics with bootstrap CIs.

All adapters of one base model are served by one engine (vLLM LoRA requests), one generate call per
benchmark. Every stage writes its files under the run folder (HarmBench layout):
``generations/<model>/<benchmark>.jsonl``, ``judgments/<judge>/<model>/<benchmark>.jsonl``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from benchmarks.registry import BenchmarkSpec, resolve_benchmark
from benchmarks.scorers import get_scorer
from harness.config import EvalConfig
from harness.data import load_records
from harness.errors import UserError
from harness.generation import GenerationRequest, Generator
from harness.io import write_jsonl_atomic
from harness.judges import get_judge
from harness.metrics import compute_metric
from harness.models import format_prompt, load_tokenizer
from harness.records import Record
from harness.report.metrics_table import MetricRow


@dataclass
class EvalTarget:
    """One row of the leaderboard: a base model folder plus an optional LoRA adapter."""

    name: str
    model_path: str
    adapter: str | None = None


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _reference(record: Record, spec: BenchmarkSpec) -> str:
    ref = record.meta.get(spec.reference_field) if spec.reference_field != "response" else record.response
    if ref is None:
        raise UserError(f"benchmark {spec.name}: record {record.id} has no reference answer in {spec.reference_field!r}")
    return str(ref)


def load_benchmarks(cfg: EvalConfig) -> list[tuple[BenchmarkSpec, list[Record]]]:
    """Resolve every benchmark, its judge or scorer, and its data: all bad input fails here, before models load."""
    out = []
    for entry in cfg.benchmarks:
        spec = resolve_benchmark(entry)
        if spec.kind == "task":
            get_scorer(spec.scorer)
        else:
            get_judge(spec.judge or cfg.judge)
        records = load_records(spec.data)
        limit = spec.limit or cfg.limit
        out.append((spec, records[:limit] if limit else records))
    return out


def evaluate(cfg: EvalConfig, targets: list[EvalTarget], run_dir: str | Path, run_name: str,
             system_prompt: str | None = None, seed: int | None = None, progress: bool = True) -> list[MetricRow]:
    run_dir = Path(run_dir)
    benchmarks = load_benchmarks(cfg)
    names = [t.name for t in targets]
    if len(set(names)) != len(names):
        raise UserError(f"models: names must be unique, got {names}")
    by_base: dict[str, list[EvalTarget]] = defaultdict(list)
    for t in targets:
        by_base[t.model_path].append(t)
    rows: list[MetricRow] = []
    for base, group in by_base.items():
        tokenizer = load_tokenizer(base)
        adapters = tuple(dict.fromkeys(t.adapter for t in group if t.adapter))
        generator = Generator(base, adapters=adapters, engine=cfg.engine, max_model_len=cfg.max_model_len)
        try:
            for spec, records in benchmarks:
                sampling = replace(cfg.sampling, max_new_tokens=spec.max_new_tokens or cfg.sampling.max_new_tokens)
                prompts = [format_prompt(tokenizer, r.prompt, system_prompt, chat=spec.chat) for r in records]
                requests = [GenerationRequest(p, t.adapter) for t in group for p in prompts]
                completions = generator.generate(requests, sampling, desc=f"{spec.name} x{len(group)} models",
                                                 progress=progress)
                for k, target in enumerate(group):
                    outs = [c.text for c in completions[k * len(records) : (k + 1) * len(records)]]
                    rows.append(_judge_and_score(spec, cfg, records, outs, target, run_dir, run_name, seed))
        finally:
            generator.close()
    return rows


def _judge_and_score(spec: BenchmarkSpec, cfg: EvalConfig, records: list[Record], outputs: list[str],
                     target: EvalTarget, run_dir: Path, run_name: str, seed: int | None) -> MetricRow:
    model = _safe(target.name)
    write_jsonl_atomic(run_dir / "generations" / model / f"{spec.name}.jsonl", [
        {"id": r.id, "prompt": r.prompt, "response": out, "category": r.category} for r, out in zip(records, outputs, strict=True)
    ])
    if spec.kind == "task":
        scorer = get_scorer(spec.scorer)
        items = [scorer(out, _reference(r, spec)) for r, out in zip(records, outputs, strict=True)]
        judge_id = f"scorer:{spec.scorer}"
        verdict_rows = [{"id": r.id, "correct": ok} for r, ok in zip(records, items, strict=True)]
    else:
        judge = get_judge(spec.judge or cfg.judge)
        items = judge.judge([r.prompt for r in records], outputs)
        judge_id = judge.id
        verdict_rows = [{"id": r.id, **v.to_dict()} for r, v in zip(records, items, strict=True)]
    write_jsonl_atomic(run_dir / "judgments" / _safe(judge_id) / model / f"{spec.name}.jsonl", verdict_rows)
    value = compute_metric(spec.metric, items, n_boot=cfg.bootstrap, seed=seed or 0)
    return MetricRow.from_value(run=run_name, model=target.name, benchmark=spec.name, metric=spec.metric,
                                mv=value, judge=judge_id, seed=seed)
