"""`procon-bench lm-eval CONFIG --tasks ...`: lm-evaluation-harness tasks on a run's models.

The models are those the run folder's rows belong to: for a config with ``defenses:`` (and no
``models:``) the run's start model and every defense trained in its run folder with this config (as
``run`` evaluates them; found as ``drift`` finds them), for any other config ``eval``'s (``models:``,
else ``model:``). Generation goes through our cached
``Generator`` with the config's ``evaluation.engine`` and ``max_model_len``; the rows are merged
into ``<run>/metrics.json`` (replacing earlier lm-eval rows of the same model and task) and the run's
leaderboard files are rewritten, so ``procon-bench leaderboard RUN`` shows them beside the safety
metrics. See README "Task suites through lm-eval".
"""

from __future__ import annotations

import math
import sys

from harness.commands._common import add_config_arguments, config_from_args
from harness.errors import UserError

NAME = "lm-eval"
HELP = "Run lm-evaluation-harness tasks on the config's models; rows go into the run's metrics table."


def add_arguments(parser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--tasks", action="append", required=True, metavar="TASK[,TASK]",
                        help="lm-eval task, group or tag names (comma-separated or repeated), or task YAML paths; "
                             "the local ones: procon_string_ops, procon_gsm8k_local (benchmarks/lm_eval_tasks/)")
    parser.add_argument("--include-path", action="append", default=[], metavar="DIR",
                        help="another folder of lm-eval task YAMLs (benchmarks/lm_eval_tasks/ is always included)")
    parser.add_argument("--data-file", action="append", default=[], metavar="TASK[:SPLIT]=PATH",
                        help="the local data file of a task that reads one (split default: test; a train file "
                             "becomes the few-shot pool), e.g. procon_gsm8k_local=gsm8k_test.jsonl")
    parser.add_argument("--limit", type=float, default=None, metavar="N",
                        help="lm-eval's limit: the first N documents of each task (a fraction if < 1)")
    parser.add_argument("--num-fewshot", type=int, default=None, metavar="K", help="override the tasks' shots")
    parser.add_argument("--apply-chat-template", action="store_true",
                        help="format prompts with the model's chat template and the run's system_prompt "
                             "(as `eval` does; lm-eval's default is raw text)")
    parser.add_argument("--batch-size", type=int, default=16, metavar="B",
                        help="loglikelihood windows per forward pass (default: 16)")
    parser.add_argument("--models", default=None, metavar="NAME[,NAME]",
                        help="only these of the config's models (default: all)")
    parser.add_argument("--dry-run", action="store_true",
                        help="resolve the models and the tasks (names, data files) without loading weights")


def _split(values: list[str] | None) -> list[str]:
    return [v.strip() for value in values or [] for v in value.split(",") if v.strip()]


def targets_of(cfg, dry_run: bool = False) -> list:
    """The models whose rows the run folder holds: a config with ``defenses:`` (and no ``models:``) is
    scored as ``run`` scores it (the start model and every finished training, as ``drift`` finds them);
    any other as ``eval`` scores it (``models:``, else ``model:`` under its own name)."""
    from harness.config import ModelEntry
    from harness.evaluation import EvalTarget
    from harness.models import classify_model_ref, resolve_model

    if cfg.models or not cfg.defenses:
        entries = cfg.models or [ModelEntry(name=cfg.model)]
        if dry_run:
            for e in entries:
                classify_model_ref(e.model or cfg.model)
            return [EvalTarget(e.name, e.model or cfg.model, e.adapter, e.model or cfg.model) for e in entries]
        return [EvalTarget(e.name, str(resolve_model(e.model or cfg.model, cfg.revision).path), e.adapter,
                           e.model or cfg.model) for e in entries]
    if dry_run:
        classify_model_ref(cfg.model)
        return [EvalTarget("base" if cfg.alignment is None else "aligned", cfg.model)]
    from harness.pipeline import RunState, finished_trainings, prepare_start_model

    state = RunState(cfg, partial=True)
    prepare_start_model(state)
    targets = [EvalTarget(state.start_name, str(state.start_model))]
    state.trained, stale = finished_trainings(state)
    for name in stale:
        print(f"lm-eval {name}: skipped, no finished training with this run's config", file=sys.stderr)
    own_starts = {t.start_model: t.name for t in state.trained.values() if t.start_model is not None}
    targets += [EvalTarget(f"{state.start_name}+{name}", str(path)) for path, name in own_starts.items()]
    targets += [t.eval_target(state.start_model) for t in state.trained.values()]
    return targets


def _fmt(x: float) -> str:
    return "nan" if x is None or math.isnan(x) else f"{x:.4g}"


def run(args) -> int:
    from harness.seeds import run_seeds
    from harness.tasks.lm_eval_run import (
        LOCAL_TASKS,
        LMEvalReport,
        LMEvalSettings,
        parse_data_files,
        require_lm_eval,
        resolve_tasks,
        run_lm_eval,
        task_manager,
        write_run_tables,
    )

    cfg = config_from_args(args)
    require_lm_eval()
    seeds = run_seeds(cfg.seed)
    limit = args.limit
    if limit is not None and limit >= 1:
        if limit != int(limit):
            raise UserError(f"--limit: a count must be a whole number (a fraction must be < 1), got {limit!r}")
        limit = int(limit)
    settings = LMEvalSettings(
        tasks=_split(args.tasks), include_paths=[str(LOCAL_TASKS), *args.include_path], limit=limit,
        num_fewshot=args.num_fewshot, apply_chat_template=args.apply_chat_template,
        data_files=parse_data_files(args.data_file), batch_size=args.batch_size,
        bootstrap=cfg.evaluation.bootstrap, bootstrap_seed=seeds["bootstrap"], sampling_seed=seeds["sampling"])
    targets = targets_of(cfg, dry_run=args.dry_run)
    wanted = _split([args.models] if args.models else None)
    if wanted:
        names = list(dict.fromkeys(t.name for t in targets))
        unknown = [w for w in wanted if w not in names]
        if unknown:
            raise UserError(f"--models: unknown model(s) {', '.join(unknown)}; accepted: {', '.join(names)}")
        targets = [t for t in targets if t.name in wanted]
    if args.dry_run:
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as tmp:
            specs = resolve_tasks(settings, task_manager(settings), Path(tmp))
        tasks = [s if not s.endswith(".yaml") else f"{Path(s).stem} (with --data-file)" for s in specs]
        print(f"lm-eval dry run: {len(targets)} model(s) x {len(tasks)} task(s); engine {cfg.evaluation.engine}, "
              f"max_model_len {cfg.evaluation.max_model_len}")
        for t in targets:
            print(f"  model {t.name}: {t.model_path}" + (f" + adapter {t.adapter}" if t.adapter else ""))
        for task in tasks:
            print(f"  task {task}")
        return 0
    report = LMEvalReport()
    rows = run_lm_eval(settings, targets, cfg.run_dir, cfg.run, engine=cfg.evaluation.engine,
                       max_model_len=cfg.evaluation.max_model_len, system_prompt=cfg.system_prompt,
                       seed=cfg.seed, report=report)
    write_run_tables(cfg, rows)
    for r in rows:
        print(f"{r.model:<16} {r.benchmark}/{r.metric}: {_fmt(r.value)} [{_fmt(r.ci_low)}, {_fmt(r.ci_high)}] "
              f"n={r.n}")
    print(f"lm-eval: {report.generated} completions generated, {report.cached} from the cache")
    print(f"results: {cfg.run_dir}")
    return 0
