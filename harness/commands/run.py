"""`procon-bench run CONFIG`: the whole pipeline, align -> train -> drift -> evaluate -> leaderboard."""

from __future__ import annotations

from harness.commands._common import (
    add_config_arguments,
    add_dry_run_argument,
    add_force_argument,
    configs_from_args,
)
from harness.dry_run import print_dry_run
from harness.pipeline import run_pipeline

NAME = "run"
HELP = "Run the whole pipeline for a config: align, train each defense, evaluate, write the leaderboard."


def add_arguments(parser) -> None:
    add_config_arguments(parser)
    add_force_argument(parser)
    add_dry_run_argument(parser)


def run_configs(args, do_eval: bool) -> list:
    """Run the pipeline for every run of the config (one per scenario) and return their states;
    with ``--dry-run`` only check them (and return none)."""
    configs = configs_from_args(args)  # one per scenario (config `scenarios:`), else the config itself
    if args.dry_run:
        for cfg in configs:
            print_dry_run(cfg)
        return []
    return [run_pipeline(cfg, do_eval=do_eval, force=args.force) for cfg in configs]


def run(args) -> int:
    for state in run_configs(args, do_eval=True):
        summary = ", ".join(f"{name} {rec.status} {rec.seconds:.0f}s" for name, rec in state.stages.items()
                            if name != "total")
        print(f"results: {state.cfg.run_dir}  ({summary}; total {state.stage_seconds['total']:.0f}s)")
    return 0
