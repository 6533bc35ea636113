"""Training step time: vanilla vs ProCon on the same data and seed, measured side by side in one run.

    python perf/training.py [--model smollm2-135m-instruct] [--steps 12] [--out results/perf/training.json]

Reports mean step time (excluding the first 2 warm-up steps) for each defense, their ratio (target:
ProCon <= 1.10x vanilla with LoRA), ProCon's one-time reference pass, and the quickstart's stage
times when ``results/quickstart/manifest.json`` exists.
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
from harness.directions import compute_direction
from harness.io import read_json, write_json_atomic
from harness.manifest import hardware, versions
from harness.models import load_model, load_tokenizer, resolve_model
from harness.training.engine import train
from harness.training.trainer import read_train_log

ROOT = Path(__file__).resolve().parents[1]


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
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--lam", type=float, default=10.0)
    ap.add_argument("--out", default=str(ROOT / "results/perf/training.json"))
    args = ap.parse_args()

    path = resolve_model(args.model).path
    tok, model = load_tokenizer(path), load_model(path)
    harmful = [r.prompt for r in load_records(DataSpec(builtin="harmful", split="train", limit=32))]
    harmless = [r.prompt for r in load_records(DataSpec(builtin="harmless", split="train", limit=32))]
    direction = compute_direction(model, tok, harmful, harmless, progress=False)
    del model
    records = load_records(DataSpec(builtin="string-ops", split="train", limit=args.steps * args.batch_size))
    cfg = TrainConfig(steps=args.steps, batch_size=args.batch_size, save_steps=10_000, lora=LoraConfig(r=16, alpha=32))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, params in (("vanilla", {}), ("procon", {"lam": args.lam})):
            defense = build_defense(name, params)
            prep = timed_prepare(defense)
            t0 = time.perf_counter()
            train(path, cfg, defense, records, Path(tmp) / name, direction=direction, progress=False)
            wall = time.perf_counter() - t0
            times = [row["step_time"] for row in read_train_log(Path(tmp) / name / "train_log.jsonl")][2:]
            results[name] = {"step_time_mean_s": statistics.mean(times), "step_time_stdev_s": statistics.stdev(times),
                             "steps_timed": len(times), "prepare_s": prep.get("seconds", 0.0), "wall_s": wall}
    ratio = results["procon"]["step_time_mean_s"] / results["vanilla"]["step_time_mean_s"]
    quick = ROOT / "results/quickstart/manifest.json"
    report = {
        "benchmark": "training step time, vanilla vs procon (LoRA r=16, all projections)",
        "model": args.model, "batch_size": args.batch_size, "steps": args.steps, "max_length": cfg.max_length,
        "results": results, "procon_over_vanilla_step_time": ratio, "target": "<= 1.10",
        "quickstart_stage_seconds": read_json(quick).get("stages") if quick.exists() else None,
        "hardware": hardware(), "versions": versions(),
    }
    write_json_atomic(args.out, report)
    print(f"{'defense':<8} {'s/step':>8} {'stdev':>7} {'prepare s':>10}")
    for name, r in results.items():
        print(f"{name:<8} {r['step_time_mean_s']:>8.3f} {r['step_time_stdev_s']:>7.3f} {r['prepare_s']:>10.2f}")
    print(f"procon / vanilla step time: {ratio:.3f} (target <= 1.10)")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
