"""Launched by tests/test_ddp.py under ``accelerate launch --multi_gpu --num_processes 2`` with CUDA hidden
(two gloo processes; ``--cpu`` would start only one): train the tiny
model with ProCon on two gloo processes, then write what each rank saw to ``<out>/rank-<i>.json``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch


def main(model_path: str, out: str) -> None:
    import torch.distributed as dist

    from defenses import build_defense
    from harness.config import LoraConfig, TrainConfig
    from harness.directions import RefusalDirection
    from harness.records import Record
    from harness.training.engine import train

    records = [Record(f"r{i}", f"Please list {i} fruits and {i * 2} animals", f"Sure: {i}") for i in range(16)]
    d = json.loads((Path(model_path) / "config.json").read_text())["hidden_size"]
    gen = torch.Generator().manual_seed(1)
    dirs = torch.nn.functional.normalize(torch.randn(2, d, generator=gen), dim=-1)
    direction = RefusalDirection(dirs, torch.zeros(2, d), torch.zeros(2, d), [])
    cfg = TrainConfig(steps=4, batch_size=4, save_steps=2, learning_rate=1e-3, lora=LoraConfig(r=4, alpha=8))
    result = train(model_path, cfg, build_defense("procon", {"layers": [0, 1]}), records, Path(out) / "run",
                   direction=direction, progress=False)
    rank = dist.get_rank()
    (Path(out) / f"rank-{rank}.json").write_text(json.dumps({
        "world_size": dist.get_world_size(), "backend": dist.get_backend(), "output": str(result.output)}))


if __name__ == "__main__":
    main(*sys.argv[1:3])
