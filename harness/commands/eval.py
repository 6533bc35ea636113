"""`procon-bench eval CONFIG`: generate + judge + metrics for the config's models and benchmarks."""

from __future__ import annotations

from harness.commands._common import add_config_arguments, config_from_args
from harness.config import ModelEntry
from harness.evaluation import EvalTarget, evaluate
from harness.manifest import write_manifest
from harness.models import resolve_model
from harness.pipeline import RunState, _config_dict, write_tables

NAME = "eval"
HELP = "Evaluate models (+ LoRA adapters) on benchmarks; writes generations, judgments, metrics, leaderboard."


def add_arguments(parser) -> None:
    add_config_arguments(parser)


def run(args) -> int:
    cfg = config_from_args(args)
    entries = cfg.models or [ModelEntry(name=cfg.model)]
    targets = [EvalTarget(e.name, str(resolve_model(e.model or cfg.model, cfg.revision).path), e.adapter)
               for e in entries]
    write_manifest(cfg.run_dir, _config_dict(cfg), {"seed": cfg.seed})
    rows = evaluate(cfg.evaluation, targets, cfg.run_dir, cfg.run, cfg.system_prompt, cfg.seed)
    write_tables(RunState(cfg), rows)
    print(f"results: {cfg.run_dir}")
    return 0
