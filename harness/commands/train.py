"""`procon-bench train CONFIG`: (align if configured) -> refusal direction -> train every defense."""

from __future__ import annotations

from harness.commands.run import add_arguments, run_configs

NAME = "train"
HELP = "Train each configured defense (after the alignment stage, if any); no evaluation."

__all__ = ["NAME", "HELP", "add_arguments", "run"]


def run(args) -> int:
    for state in run_configs(args, do_eval=False):
        for name, trained in state.trained.items():
            print(f"{name}: {trained.path} ({state.stages[f'train {name}'].status})")
    return 0
