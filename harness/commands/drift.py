"""`procon-bench drift RUN`: refusal-direction drift of every trained defense in a run folder.

Reads the run's config from its manifest, reuses every keyed stage that matches (direction,
trainings, drift curves; trainings made with other settings are named and skipped), computes the
missing drift curves, and writes ``<run>/drift/drift.csv`` and the PNG plots.
"""

from __future__ import annotations

from pathlib import Path

from harness.commands._common import add_force_argument
from harness.config import RunConfig, from_dict
from harness.errors import expect
from harness.io import read_json

NAME = "drift"
HELP = "Drift of r per layer and checkpoint for every trained defense of a run: CSV + PNG plots."


def add_arguments(parser) -> None:
    parser.add_argument("run_dir", metavar="RUN", help="a run folder (results/<run>) with manifest.json")
    add_force_argument(parser)


def config_of_run(run_dir: Path) -> RunConfig:
    manifest = run_dir / "manifest.json"
    expect(manifest.is_file(), f"run folder {str(run_dir)!r}: no manifest.json; expected a folder written by "
                               "`procon-bench run` or `train`")
    data = read_json(manifest).get("config")
    expect(isinstance(data, dict), f"{manifest}: no config recorded")
    return from_dict(RunConfig, {**data, "output_dir": str(run_dir.parent), "run": run_dir.name}, f"{manifest} config")


def run(args) -> int:
    from harness.pipeline import (
        RunState,
        compute_start_direction,
        finished_trainings,
        measure_drift,
        prepare_start_model,
        write_drift_report,
    )

    run_dir = Path(args.run_dir)
    cfg = config_of_run(run_dir)
    state = RunState(cfg, force=args.force, partial=True)
    prepare_start_model(state)
    compute_start_direction(state)
    state.trained, stale = finished_trainings(state)
    for name in stale:
        print(f"drift {name}: skipped, no finished training with this run's config")
    expect(bool(state.trained), f"run {str(run_dir)!r}: no finished training to measure; run `procon-bench train` first")
    final = measure_drift(state)
    for name, cosines in final.items():
        print(f"drift {name}: final cosine per layer " + " ".join(f"{c:.3f}" for c in cosines))
    for path in write_drift_report(state):
        print(f"wrote {path}")
    return 0
