"""`procon-bench train CONFIG`: (align if configured) -> refusal direction -> train every defense."""

from __future__ import annotations

from harness.commands._common import add_config_arguments, config_from_args
from harness.pipeline import run_pipeline

NAME = "train"
HELP = "Train each configured defense (after the alignment stage, if any); no evaluation."


def add_arguments(parser) -> None:
    add_config_arguments(parser)


def run(args) -> int:
    cfg = config_from_args(args)
    state = run_pipeline(cfg, do_eval=False)
    for name, path in state.trained.items():
        print(f"{name}: {path}")
    return 0
