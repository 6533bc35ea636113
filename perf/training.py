"""Training step time: vanilla vs the ProCon family on the same data and seed, side by side in one run.

    python -m perf.training [--model smollm2-135m-instruct] [--steps 10] [--out results/perf/training.json]
                            [--defenses vanilla procon procon_wu_safe safeinstr]

Runs the defenses in order and then in reverse (ABBA: a drift in machine speed cancels out of the
ratios) and reports mean step time (first 2 steps of each run excluded), each one's ratio to vanilla
(target: procon <= 1.10x vanilla with LoRA; the safety-mixing defenses train on larger batches,
8 + 3 samples, so theirs is expected near 11/8), the one-time ``prepare`` (reference pass, safety
data), and the quickstart's stage times when ``results/quickstart/manifest.json`` exists.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from defenses import build_defense
from harness.config import LoraConfig, TrainConfig
from harness.data import DataSpec, load_records
from harness.io import read_json, write_json_atomic
from harness.manifest import hardware, versions
from harness.models import resolve_model
from harness.training.engine import train
from perf.common import probe_direction, step_times

ROOT = Path(__file__).resolve().parents[1]


def samples_per_step(defense, batch_size: int) -> int:
    """Training samples one step sees: the batch plus the safety samples mixed into it (procon_*safe, safeinstr)."""
    from defenses.safety_mix import SafetyMixParams

    params = getattr(defense, "params", None)
    mix = params if isinstance(params, SafetyMixParams) else getattr(params, "safety", None)
    return batch_size + (mix.extra_per_batch(batch_size) if isinstance(mix, SafetyMixParams) else 0)


def timed_prepare(defense):
    """Wrap ``prepare`` to time ProCon's one-time reference pass."""
    original = defense.prepare
    box = {}

    def prepare(ctx):
        t0 = time.perf_counter()
        original(ctx)
        box["seconds"] = time.perf_counter() - t0

    defense.prepare = prepare
    return box


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--lam", type=float, default=10.0)
    ap.add_argument("--out", default=str(ROOT / "results/perf/training.json"))
    ap.add_argument("--defenses", nargs="+", default=["vanilla", "procon", "procon_wu_safe", "safeinstr"])
    args = ap.parse_args()

    path = resolve_model(args.model).path
    direction = probe_direction(path)
    records = load_records(DataSpec(builtin="string-ops", split="train", limit=args.steps * args.batch_size))
    cfg = TrainConfig(steps=args.steps, batch_size=args.batch_size, save_steps=10_000, lora=LoraConfig(r=16, alpha=32))
    names = list(dict.fromkeys(["vanilla", *args.defenses]))
    times: dict[str, list[float]] = {name: [] for name in names}
    prepare: dict[str, list[float]] = {name: [] for name in names}
    samples: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        # ABBA order: a drift in machine speed over the run cancels out of the ratios
        for i, name in enumerate(names + names[::-1]):
            defense = build_defense(name, {"lam": args.lam} if name.startswith("procon") else {})
            prep = timed_prepare(defense)
            samples[name] = samples_per_step(defense, args.batch_size)
            train(path, cfg, defense, records, Path(tmp) / f"{i}-{name}", direction=direction, progress=False)
            times[name] += step_times(Path(tmp) / f"{i}-{name}")
            prepare[name].append(prep["seconds"])
    results = {name: {"step_time_mean_s": statistics.mean(t), "step_time_stdev_s": statistics.stdev(t),
                      "steps_timed": len(t), "prepare_s": statistics.mean(prepare[name]),
                      "samples_per_step": samples[name]} for name, t in times.items()}
    vanilla = results["vanilla"]["step_time_mean_s"]
    for r in results.values():
        r["over_vanilla"] = r["step_time_mean_s"] / vanilla
        # the safe-data variants train on larger batches: their cost per sample seen is the fair ratio
        r["per_sample_over_vanilla"] = r["over_vanilla"] * args.batch_size / r["samples_per_step"]
    ratio = results["procon"]["over_vanilla"] if "procon" in results else None
    quick = ROOT / "results/quickstart/manifest.json"
    report = {
        "benchmark": "training step time, vanilla vs the ProCon family (LoRA r=16, all projections)",
        "model": args.model, "batch_size": args.batch_size, "steps": args.steps, "max_length": cfg.max_length,
        "results": results, "procon_over_vanilla_step_time": ratio, "target": "<= 1.10 (per sample seen for the safe-data variants)",
        "quickstart_stage_seconds": read_json(quick).get("stages") if quick.exists() else None,
        "hardware": hardware(), "versions": versions(),
    }
    write_json_atomic(args.out, report)
    print(f"{'defense':<16} {'s/step':>8} {'stdev':>7} {'x vanilla':>9} {'samples':>7} {'x per sample':>12} "
          f"{'prepare s':>10}")
    for name, r in results.items():
        print(f"{name:<16} {r['step_time_mean_s']:>8.3f} {r['step_time_stdev_s']:>7.3f} {r['over_vanilla']:>9.3f} "
              f"{r['samples_per_step']:>7} {r['per_sample_over_vanilla']:>12.3f} {r['prepare_s']:>10.2f}")
    if ratio is not None:
        print(f"procon / vanilla step time: {ratio:.3f} (target <= 1.10)")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
