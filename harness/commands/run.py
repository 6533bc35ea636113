"""`procon-bench run CONFIG`: the whole pipeline, align -> train -> drift -> evaluate -> leaderboard."""

from __future__ import annotations

from harness.commands._common import add_config_arguments, config_from_args
from harness.pipeline import run_pipeline

NAME = "run"
HELP = "Run the whole pipeline for a config: align, train each defense, evaluate, write the leaderboard."


def add_arguments(parser) -> None:
    add_config_arguments(parser)


def run(args) -> int:
    cfg = config_from_args(args)
    state = run_pipeline(cfg)
    print(f"results: {cfg.run_dir}  (stage seconds: {state.stage_seconds})")
    return 0
