"""`procon-bench directions CONFIG`: refusal direction + per-layer separation of the run's start model.

With trainings in the run folder that were made with this config (same stage key), also writes their
r-drift (cosine to the start) per checkpoint; trainings made with other settings are named and skipped.
``--select`` runs the Arditi et al. selection (``<run>/selection/``, what ``layers: auto`` reads);
``--intervene`` the ablation/addition generation check (``<run>/intervention/``; with ``--layer L``
``<run>/intervention/layer-<L>/``), a separate flag
because it generates (minutes on a CPU) while the selection only scores next-token distributions.
"""

from __future__ import annotations

from harness.commands._common import add_config_arguments, add_force_argument, config_from_args
from harness.errors import expect
from harness.models import model_layer_count
from harness.pipeline import (
    RunState,
    compute_start_direction,
    finished_trainings,
    measure_drift,
    prepare_start_model,
    validate,
)

NAME = "directions"
HELP = "Compute the refusal direction per layer and separation statistics (and drift of trained models)."


def add_arguments(parser) -> None:
    add_config_arguments(parser)
    add_force_argument(parser)
    parser.add_argument("--select", action="store_true",
                        help="also select the direction's (layer, position) as Arditi et al. 2024 (direction.select)")
    parser.add_argument("--intervene", action="store_true",
                        help="also check that ablating r raises compliance and adding it raises refusal "
                             "(greedy generations, keyword judge); uses the selected r unless --layer is given")
    parser.add_argument("--layer", type=int, default=None,
                        help="with --intervene: use r0 of this layer (last prompt token) instead of the selection")


def run(args) -> int:
    cfg = config_from_args(args)
    validate(cfg)
    state = RunState(cfg, force=args.force, partial=True)
    prepare_start_model(state)
    if args.intervene and args.layer is not None:  # before any stage runs, not after the direction and drift
        n_layers = model_layer_count(state.start_model)
        expect(0 <= args.layer < n_layers, f"--layer: {args.layer} out of range; the model has {n_layers} decoder "
                                           f"layers (0..{n_layers - 1})")
    direction = compute_start_direction(state)
    print(f"{'layer':>5} {'harmful':>9} {'harmless':>9} {'std':>7} {'separation':>10}")
    for s in direction.stats:
        print(f"{s['layer']:>5} {s['proj_harmful_mean']:>9.2f} {s['proj_harmless_mean']:>9.2f} "
              f"{s['pooled_std']:>7.2f} {s['separation']:>10.2f}")
    state.trained, stale = finished_trainings(state)
    for name in stale:
        print(f"drift {name}: skipped, no finished training with this config (run `procon-bench train` first)")
    for name, cosines in measure_drift(state).items():
        print(f"drift {name}: " + " ".join(f"{c:.3f}" for c in cosines))
    print(f"wrote {cfg.run_dir / 'direction'}")
    status = 0
    if args.select:
        status = _select(state)
    if args.intervene:
        _intervene(state, args.layer)
    return status


def _select(state: RunState) -> int:
    from harness.selection_report import selection_table
    from harness.selection_stage import SELECTION_DIR, compute_start_selection

    selection, _ = compute_start_selection(state)
    print(selection_table(selection))
    print(f"wrote {state.cfg.run_dir / SELECTION_DIR}")
    return 0 if selection.layer is not None else 1


def _intervene(state: RunState, layer: int | None) -> None:
    from harness.selection_report import intervention_lines
    from harness.selection_stage import INTERVENTION_FILE, compute_intervention, intervention_folder

    print("\n".join(intervention_lines(compute_intervention(state, layer=layer))))
    print(f"wrote {intervention_folder(state.cfg.run_dir, layer) / INTERVENTION_FILE}")
