"""`procon-bench run CONFIG`: the whole pipeline, align -> train -> drift -> evaluate -> leaderboard."""

from __future__ import annotations

from harness.commands._common import (
    add_config_arguments,
    add_dry_run_argument,
    add_force_argument,
    config_from_args,
)
from harness.dry_run import print_dry_run
from harness.pipeline import run_pipeline

NAME = "run"
HELP = "Run the whole pipeline for a config: align, train each defense, evaluate, write the leaderboard."


def add_arguments(parser) -> None:
    add_config_arguments(parser)
    add_force_argument(parser)
    add_dry_run_argument(parser)


def run(args) -> int:
    cfg = config_from_args(args)
    if args.dry_run:
        return print_dry_run(cfg)
    state = run_pipeline(cfg, force=args.force)
    summary = ", ".join(f"{name} {rec.status} {rec.seconds:.0f}s" for name, rec in state.stages.items()
                        if name != "total")
    print(f"results: {cfg.run_dir}  ({summary}; total {state.stage_seconds['total']:.0f}s)")
    return 0
