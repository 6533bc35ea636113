"""`procon-bench train CONFIG`: (align if configured) -> refusal direction -> train every defense."""

from __future__ import annotations

from harness.commands._common import (
    add_config_arguments,
    add_dry_run_argument,
    add_force_argument,
    config_from_args,
)
from harness.dry_run import print_dry_run
from harness.pipeline import run_pipeline

NAME = "train"
HELP = "Train each configured defense (after the alignment stage, if any); no evaluation."


def add_arguments(parser) -> None:
    add_config_arguments(parser)
    add_force_argument(parser)
    add_dry_run_argument(parser)


def run(args) -> int:
    cfg = config_from_args(args)
    if args.dry_run:
        return print_dry_run(cfg)
    state = run_pipeline(cfg, do_eval=False, force=args.force)
    for name, trained in state.trained.items():
        print(f"{name}: {trained.path} ({state.stages[f'train {name}'].status})")
    return 0
