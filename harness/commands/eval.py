"""`procon-bench eval CONFIG`: generate + judge + metrics for the config's models and benchmarks."""

from __future__ import annotations

from dataclasses import replace

from harness.commands._common import add_config_arguments, add_dry_run_argument, config_from_args
from harness.config import ModelEntry
from harness.evaluation import EvalTarget, evaluate
from harness.manifest import write_manifest
from harness.models import resolve_model
from harness.pipeline import RunState, _config_dict, write_tables
from harness.seeds import run_seeds

NAME = "eval"
HELP = "Evaluate models (+ LoRA adapters) on benchmarks; writes generations, judgments, metrics, leaderboard."


def add_arguments(parser) -> None:
    add_config_arguments(parser)
    add_dry_run_argument(parser)


def run(args) -> int:
    cfg = config_from_args(args)
    if args.dry_run:
        from harness.dry_run import print_dry_run

        return print_dry_run(cfg, evaluate_only=True)
    entries = cfg.models or [ModelEntry(name=cfg.model)]
    # evaluate() refuses an adapter whose recorded base is other weights than its entry's model
    targets = [EvalTarget(e.name, str(resolve_model(e.model or cfg.model, cfg.revision).path), e.adapter,
                          e.model or cfg.model) for e in entries]
    seeds = run_seeds(cfg.seed)
    write_manifest(cfg.run_dir, _config_dict(cfg), seeds)
    sampling = replace(cfg.evaluation.sampling, seed=seeds["sampling"])
    rows = evaluate(replace(cfg.evaluation, sampling=sampling), targets, cfg.run_dir, cfg.run, cfg.system_prompt,
                    cfg.seed, bootstrap_seed=seeds["bootstrap"])
    write_tables(RunState(cfg), rows)
    print(f"results: {cfg.run_dir}")
    return 0
