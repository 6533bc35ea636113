"""Run lm-evaluation-harness tasks on a run's models and put the results in its metrics table.

One ``Generator`` (one engine) and one scoring model per base model serve all of its adapters, as in
``procon-bench eval``; each target is one ``lm_eval.simple_evaluate`` call on a ``ProconLM``. Every
metric lm-eval reports becomes a ``MetricRow``: benchmark ``lm-eval:<task>``, metric lm-eval's name
(``acc``, ``exact_match``; ``exact_match,strict-match`` for a filter other than ``none``), judge
``lm-eval:<version>``. The CI is the percentile bootstrap of the per-document values (the same
resampling and seed as the safety metrics) for mean-aggregated metrics, else lm-eval's stderr
(value ± 1.96·stderr); ``details.lm_eval`` says which, with the stderr, task version, shots, filter.
Over seeds, the per-document values give the same pooled CI as the safety rows (``write_run_tables``),
and ``procon-bench compare`` pairs them by document.

Files under the run folder: ``lm-eval/<model>/results.json`` (lm-eval's results, samples left out),
``lm-eval/<model>/samples_<task>.jsonl`` (lm-eval's per-document records),
``judgments/lm-eval_<version>/<model>/lm-eval_<task>/<metric>.jsonl`` (``{"id", "correct"}`` per
document, what ``details.judgments`` points at) and ``lm-eval/tasks/<task>.yaml`` (a task given a
``--data-file``: the shipped YAML included, its ``data_files`` replaced).
"""

from __future__ import annotations

import difflib
import functools
import json
import math
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import benchmarks
from harness.errors import UserError, expect
from harness.io import read_json, safe_name, write_json_atomic, write_jsonl_atomic, write_text_atomic
from harness.metrics import bootstrap_ci
from harness.report.metrics_table import METRICS_FILE, MetricRow, read_metrics, write_metrics

BENCHMARK_PREFIX = "lm-eval:"
LOCAL_TASKS = Path(benchmarks.__file__).resolve().parent / "lm_eval_tasks"  # the shipped task YAMLs
DATA_PLACEHOLDER = "GIVE-A-FILE-WITH--data-file"  # in a shipped YAML: the file comes from --data-file
_NOT_METRICS = {"alias", "name", "sample_len", " ", ""}
Z95 = 1.959963984540054


def lm_eval_version() -> str:
    try:
        return version("lm_eval")
    except PackageNotFoundError:
        return "unknown"


def require_lm_eval() -> None:
    try:
        import lm_eval  # noqa: F401
    except Exception as exc:  # a broken dependency raises more than ImportError
        raise UserError(f"lm-eval is not installed ({type(exc).__name__}: {exc}); install the extras: "
                        "pip install -e '.[cpu]' (or '.[gpu]'), or pip install lm-eval") from None


def judge_id() -> str:
    return f"lm-eval:{lm_eval_version()}"


@dataclass
class LMEvalSettings:
    """What to run, as lm-eval's ``simple_evaluate`` takes it (plus our task-file overrides)."""

    tasks: list[str]
    include_paths: list[str] = field(default_factory=lambda: [str(LOCAL_TASKS)])
    include_defaults: bool = True  # lm-eval's own task registry (hub data sets unless cached)
    limit: int | float | None = None  # lm-eval's: the first N documents (a fraction if < 1)
    num_fewshot: int | None = None
    apply_chat_template: bool = False
    data_files: dict[str, dict[str, str]] = field(default_factory=dict)  # task -> split -> file
    batch_size: int = 16  # loglikelihood windows per forward pass
    bootstrap: int = 1000  # our CI resamples, and lm-eval's bootstrap_iters for non-mean stderrs
    bootstrap_seed: int = 0
    sampling_seed: int = 0
    dtype: str = "float32"

    def __post_init__(self) -> None:
        expect(bool(self.tasks), "--tasks: expected at least one lm-eval task")
        if self.limit is not None:
            expect(self.limit > 0, f"--limit: expected a positive number, got {self.limit!r}")
        if self.num_fewshot is not None:
            expect(self.num_fewshot >= 0, f"--num-fewshot: expected >= 0, got {self.num_fewshot!r}")
        expect(self.batch_size > 0, f"--batch-size: expected a positive integer, got {self.batch_size!r}")


# ---------------------------------------------------------------- tasks
def task_manager(settings: LMEvalSettings):
    """lm-eval's task index over its own tasks and ``include_paths`` (built once per process and set of
    folders: indexing lm-eval's ~10k YAMLs takes seconds)."""
    for path in settings.include_paths:
        expect(Path(path).is_dir(), f"--include-path {path!r}: not a folder; expected a folder of lm-eval task YAMLs")
    return _task_manager(tuple(str(Path(p).resolve()) for p in settings.include_paths), settings.include_defaults)


@functools.lru_cache(maxsize=4)
def _task_manager(include_paths: tuple[str, ...], include_defaults: bool):
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=list(include_paths), include_defaults=include_defaults)


def resolve_tasks(settings: LMEvalSettings, manager, work_dir: Path) -> list[str]:
    """Task specs for ``simple_evaluate``: names, or the path of an override YAML for a task given
    ``--data-file``. Unknown names and local-file tasks without their file fail here, before any model loads."""
    known = set(manager.all_tasks) | set(manager.all_groups) | set(manager.all_tags)
    for task in [*settings.tasks, *settings.data_files]:
        if task not in known and not (task.endswith(".yaml") and Path(task).is_file()):
            close = difflib.get_close_matches(task, sorted(known), n=5)
            raise UserError(f"--tasks: unknown lm-eval task {task!r}" + (f"; did you mean {', '.join(close)}?"
                            if close else "; see `lm-eval ls tasks`, or add a folder of YAMLs with --include-path"))
    unknown = sorted(set(settings.data_files) - set(settings.tasks))
    expect(not unknown, f"--data-file: task(s) {', '.join(unknown)} are not in --tasks")
    specs = []
    for task in settings.tasks:
        entry = manager.task_index.get(task)
        yaml_path = getattr(entry, "yaml_path", None)
        if task in settings.data_files:
            expect(yaml_path is not None, f"--data-file {task}: the task has no YAML file to override")
            specs.append(str(_override_yaml(task, Path(yaml_path), settings.data_files[task], work_dir)))
            continue
        if yaml_path is not None and DATA_PLACEHOLDER in Path(yaml_path).read_text(encoding="utf-8"):
            raise UserError(f"--tasks {task}: the task reads a local file (its YAML {yaml_path} has no path); "
                            f"give it with --data-file {task}=PATH")
        specs.append(task)
    return specs


def _override_yaml(task: str, original: Path, files: dict[str, str], work_dir: Path) -> Path:
    """A YAML that includes the shipped one and replaces its data files (lm-eval's ``include``).

    A ``train`` file becomes the few-shot pool (``fewshot_split: train``)."""
    import yaml

    for split, path in files.items():
        expect(Path(path).is_file(), f"--data-file {task}:{split}={path}: file not found")
    config: dict[str, Any] = {"include": str(original.resolve()), "task": task,
                              "dataset_kwargs": {"data_files": {s: str(Path(p).resolve()) for s, p in files.items()}}}
    if "train" in files:
        config["fewshot_split"] = "train"
    out = work_dir / "tasks" / f"{safe_name(task)}.yaml"
    write_text_atomic(out, "# written by procon-bench lm-eval (--data-file)\n" + yaml.safe_dump(config, sort_keys=False))
    return out


def parse_data_files(values: list[str]) -> dict[str, dict[str, str]]:
    """``TASK=PATH`` (the test split) or ``TASK:SPLIT=PATH`` -> {task: {split: path}}."""
    out: dict[str, dict[str, str]] = defaultdict(dict)
    for value in values:
        key, sep, path = value.partition("=")
        expect(bool(sep and key and path), f"--data-file {value!r}: expected TASK=PATH or TASK:SPLIT=PATH")
        task, _, split = key.partition(":")
        out[task][split or "test"] = path
    return dict(out)


# ---------------------------------------------------------------- results -> rows
def _metric_keys(task_results: dict) -> list[tuple[str, str, str]]:
    """``(key, metric, filter)`` of every metric value in one task's results (stderrs left out)."""
    out = []
    for key in task_results:
        if key in _NOT_METRICS or "," not in key:
            continue
        metric, _, filt = key.partition(",")
        if metric.endswith("_stderr"):
            continue
        out.append((key, metric, filt))
    return out


def _aggregations(config: dict) -> dict[str, str | None]:
    out = {}
    for item in config.get("metric_list") or []:
        if isinstance(item, dict) and "metric" in item:
            agg = item.get("aggregation")
            out[str(item["metric"])] = agg if isinstance(agg, str) else None
    return out


def _per_doc(samples: list[dict], metric: str, filt: str) -> list[tuple[str, float]] | None:
    """``(doc id, value)`` of one metric under one filter, if every document has a number for it."""
    out = []
    for s in samples:
        if s.get("filter", "none") != filt:
            continue
        value = s.get(metric)
        if isinstance(value, bool | int | float) and not (isinstance(value, float) and math.isnan(value)):
            out.append((str(s.get("doc_id")), float(value)))
        else:
            return None
    return out or None


def _documents(results: dict, task: str) -> int:
    """Documents scored for a task, or for a group the sum over its subtasks."""
    counts = results.get("n-samples", {}).get(task)
    if counts:
        return int(counts.get("effective") or 0)
    return sum(_documents(results, sub) for sub in results.get("group_subtasks", {}).get(task, []) if sub != task)


def _number(x: Any) -> float | None:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) else None


def rows_from_results(results: dict, samples: dict[str, list[dict]], *, run: str, model: str, folder: str,
                      seed: int | None, run_dir: Path, settings: LMEvalSettings,
                      truncated: dict[str, int] | None = None) -> list[MetricRow]:
    """One ``MetricRow`` per (task, metric, filter) of an ``lm_eval.simple_evaluate`` result; writes the
    per-document values of mean-aggregated metrics as a judgments file (``details.judgments``)."""
    rows = []
    judge = judge_id()
    for task, task_results in results.get("results", {}).items():
        config = results.get("configs", {}).get(task, {})
        aggregations = _aggregations(config)
        directions = results.get("higher_is_better", {}).get(task, {})
        counts = results.get("n-samples", {}).get(task, {})
        benchmark = f"{BENCHMARK_PREFIX}{task}"
        for key, metric, filt in _metric_keys(task_results):
            value = _number(task_results[key])
            stderr = _number(task_results.get(f"{metric}_stderr,{filt}"))
            name = metric if filt == "none" else f"{metric},{filt}"
            per_doc = _per_doc(samples.get(task, []), metric, filt) if aggregations.get(metric) == "mean" else None
            details: dict[str, Any] = {"truncated": (truncated or {}).get(task, 0), "lm_eval": {
                "task": task, "metric": metric, "filter": filt, "stderr": stderr,
                "version": results.get("versions", {}).get(task), "num_fewshot": results.get("n-shot", {}).get(task),
                "limit": settings.limit, "n_documents": counts.get("original"),
                "chat_template": settings.apply_chat_template}}
            if per_doc is not None and value is not None:
                ci = bootstrap_ci([v for _, v in per_doc], n_boot=settings.bootstrap, seed=settings.bootstrap_seed)
                n = len(per_doc)
                judgments = f"judgments/{safe_name(judge)}/{folder}/{safe_name(benchmark)}/{safe_name(name)}.jsonl"
                write_jsonl_atomic(run_dir / judgments, [{"id": i, "correct": v} for i, v in per_doc])
                details["judgments"] = judgments
                details["lm_eval"]["ci"] = "bootstrap"
            else:
                ci = (value - Z95 * stderr, value + Z95 * stderr) if value is not None and stderr is not None \
                    else (math.nan, math.nan)
                n = _documents(results, task)
                details["lm_eval"]["ci"] = "stderr" if stderr is not None else None
            higher = directions.get(metric)
            rows.append(MetricRow(run, model, benchmark, name, math.nan if value is None else value, ci[0], ci[1], n,
                                  judge, seed, higher if isinstance(higher, bool) else None, details))
    return rows


def _json_safe(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=str))


# ---------------------------------------------------------------- running
@dataclass
class LMEvalReport:
    generated: int = 0
    cached: int = 0
    results: dict[str, dict] = field(default_factory=dict)  # target name -> lm-eval results (no samples)


def run_lm_eval(settings: LMEvalSettings, targets: list, run_dir: str | Path, run_name: str, *,
                engine: str = "auto", max_model_len: int = 1024, system_prompt: str | None = None,
                seed: int | None = None, cache=None, progress: bool = True,
                report: LMEvalReport | None = None) -> list[MetricRow]:
    """Every task on every target (``harness.evaluation.EvalTarget``); returns the new metrics rows."""
    require_lm_eval()
    from lm_eval import simple_evaluate

    from harness.evaluation import folder_names
    from harness.generation import Generator
    from harness.generation.lora import check_adapter_base
    from harness.tasks.lm_eval_model import LogprobScorer, ProconLM

    run_dir = Path(run_dir)
    work = run_dir / "lm-eval"
    manager = task_manager(settings)
    specs = resolve_tasks(settings, manager, work)
    labels = [(t.name, t.seed) for t in targets]
    expect(len(set(labels)) == len(labels), f"models: names must be unique, got {[t.name for t in targets]}")
    folder_names("model", [t.name for t in targets])
    for t in targets:
        if t.adapter:
            check_adapter_base(t.adapter, t.model_path, t.name, t.model_ref)
    by_base: dict[str, list] = defaultdict(list)
    for t in targets:
        by_base[t.model_path].append(t)
    report = report if report is not None else LMEvalReport()
    rows: list[MetricRow] = []
    for base, group in by_base.items():
        adapters = tuple(dict.fromkeys(t.adapter for t in group if t.adapter))
        generator = Generator(base, adapters=adapters, engine=engine, dtype=settings.dtype,
                              max_model_len=max_model_len, cache=cache)
        scorer = LogprobScorer(base, adapters, settings.dtype, batch_size=settings.batch_size)
        try:
            for t in group:
                lm = ProconLM(generator=generator, scorer=scorer, adapter=t.adapter, progress=progress,
                              seed=t.sampling_seed if t.sampling_seed is not None else settings.sampling_seed)
                sp = system_prompt if t.system_prompt is None else t.system_prompt
                before = (generator.generated, generator.cached)
                print(f"lm-eval: {t.name}: {', '.join(settings.tasks)}", file=sys.stderr)
                results = simple_evaluate(
                    model=lm, tasks=list(specs), num_fewshot=settings.num_fewshot, limit=settings.limit,
                    task_manager=manager, log_samples=True, bootstrap_iters=settings.bootstrap,
                    apply_chat_template=settings.apply_chat_template,
                    system_instruction=sp if settings.apply_chat_template else None)
                expect(results is not None, "lm-eval returned no results")
                samples = results.pop("samples", {}) or {}
                folder = t.folder_name
                out = work / folder
                for task, task_samples in samples.items():
                    write_jsonl_atomic(out / f"samples_{safe_name(task)}.jsonl", _json_safe(task_samples))
                safe = _json_safe(results)
                safe["procon_bench"] = {"model": t.name, "base": base, "adapter": t.adapter, "engine":
                                        generator.engine_name, "generated": generator.generated - before[0],
                                        "cached": generator.cached - before[1], "truncated": dict(lm.truncated)}
                write_json_atomic(out / "results.json", safe)
                report.results[t.name if t.seed is None else f"{t.name}/seed-{t.seed}"] = safe
                rows += rows_from_results(results, samples, run=run_name, model=t.name, folder=folder,
                                          seed=seed if t.seed is None else t.seed, run_dir=run_dir,
                                          settings=settings, truncated=dict(lm.truncated))
        finally:
            report.generated += generator.generated
            report.cached += generator.cached
            generator.close()
            scorer.release()
    return rows


# ---------------------------------------------------------------- the run's metrics table
def merge_rows(existing: list[MetricRow], new: list[MetricRow]) -> list[MetricRow]:
    """``existing`` without the rows the new ones replace (same run, model, benchmark, seed: every metric
    of a task is rewritten together), then ``new``."""
    replaced = {(r.run, r.model, r.benchmark, r.seed) for r in new}
    return [r for r in existing if (r.run, r.model, r.benchmark, r.seed) not in replaced] + list(new)


def write_run_tables(cfg, new_rows: list[MetricRow]) -> list[MetricRow]:
    """Merge ``new_rows`` into ``<run>/metrics.json`` and rewrite the run's leaderboard files.

    A single-seed run goes through the pipeline's ``write_tables``. For a multi-seed run the stored
    aggregate of the other rows is kept, and the lm-eval rows are aggregated over seeds: mean and std,
    and the pooled item bootstrap CI (``harness.report.aggregate``) of the metrics with per-document
    values (mean-aggregated ones, ``details.judgments``); the others (perplexity, ...) get no CI over
    seeds, since lm-eval's stderr is per run."""
    from harness.pipeline import RunState, render_tables, write_tables

    run_dir = Path(cfg.run_dir)
    path = run_dir / METRICS_FILE
    rows = merge_rows(read_metrics(path) if path.is_file() else [], new_rows)
    state = RunState(cfg)
    drift = run_dir / "drift"
    if (drift / "drift.csv").is_file():  # keep the links `run` put under leaderboard.md
        state.drift_report = [drift / "drift.csv", *sorted(drift.glob("*.png"))]
    if len({r.seed for r in rows}) <= 1:
        return write_tables(state, rows)
    from harness.report.aggregate import AGGREGATE_FILE, aggregate_rows

    write_metrics(path, rows)
    stored = run_dir / AGGREGATE_FILE
    others = [r for r in (read_metrics(stored) if stored.is_file() else [])
              if not r.benchmark.startswith(BENCHMARK_PREFIX)]
    ours = [r for r in rows if r.benchmark.startswith(BENCHMARK_PREFIX)]
    aggregated = others + aggregate_rows(ours, run_dir, n_boot=cfg.evaluation.bootstrap, seed=state.seeds["bootstrap"])
    write_metrics(stored, aggregated)
    render_tables(state, {"leaderboard": aggregated, "leaderboard_seeds": rows})
    return rows


def read_results(run_dir: str | Path, folder: str) -> dict:
    """lm-eval's stored results of one model folder (``lm-eval/<folder>/results.json``)."""
    return read_json(Path(run_dir) / "lm-eval" / folder / "results.json")
