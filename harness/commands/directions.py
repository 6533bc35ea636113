"""`procon-bench directions CONFIG`: refusal direction + per-layer separation of the run's start model.

With trained models in the run folder, also writes r-drift (cosine to the start) per checkpoint.
"""

from __future__ import annotations

from harness.commands._common import add_config_arguments, config_from_args
from harness.pipeline import RunState, compute_start_direction, measure_drift, prepare_start_model

NAME = "directions"
HELP = "Compute the refusal direction per layer and separation statistics (and drift of trained models)."


def add_arguments(parser) -> None:
    add_config_arguments(parser)


def run(args) -> int:
    cfg = config_from_args(args)
    state = RunState(cfg)
    prepare_start_model(state)
    direction = compute_start_direction(state)
    print(f"{'layer':>5} {'harmful':>9} {'harmless':>9} {'std':>7} {'separation':>10}")
    for s in direction.stats:
        print(f"{s['layer']:>5} {s['proj_harmful_mean']:>9.2f} {s['proj_harmless_mean']:>9.2f} "
              f"{s['pooled_std']:>7.2f} {s['separation']:>10.2f}")
    for d in cfg.defenses:
        adapter = cfg.run_dir / "models" / d.row_name / "adapter"
        if adapter.exists():
            state.trained[d.row_name] = adapter
    for name, cosines in measure_drift(state).items():
        print(f"drift {name}: " + " ".join(f"{c:.3f}" for c in cosines))
    print(f"wrote {cfg.run_dir / 'direction'}")
    return 0
