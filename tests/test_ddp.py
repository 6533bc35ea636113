"""Data-parallel training: the engine finds decoder layers through DDP and trains on 2 processes.

``accelerate launch --cpu`` runs a single process in accelerate 1.x (multi-CPU needs mpirun), so the
two gloo processes come from ``--multi_gpu`` with CUDA hidden: torchrun starts them and the
Trainer (``use_cpu``) joins them over gloo.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch

from harness.models import decoder_layers, load_model
from harness.training.trainer import read_train_log

SCRIPT = Path(__file__).with_name("ddp_train.py")
REPO = Path(__file__).resolve().parents[1]


def test_decoder_layers_through_ddp(tiny_model_path, tmp_path):
    import torch.distributed as dist
    from peft import LoraConfig, get_peft_model
    from torch.nn.parallel import DistributedDataParallel

    model = get_peft_model(load_model(tiny_model_path), LoraConfig(r=4, target_modules=["q_proj"]))
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'pg'}", rank=0, world_size=1)
    try:
        wrapped = DistributedDataParallel(model)
        assert decoder_layers(wrapped) is decoder_layers(model) is model.base_model.model.model.layers
        assert decoder_layers(torch.nn.parallel.DataParallel(wrapped)) is decoder_layers(model)
    finally:
        dist.destroy_process_group()


def test_procon_trains_on_two_gloo_processes(tiny_model_path, tmp_path):
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           str(SCRIPT), str(tiny_model_path), str(tmp_path)]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank-{i}.json").read_text()) for i in range(2)]
    assert all(r["world_size"] == 2 and r["backend"] == "gloo" for r in ranks)
    run = tmp_path / "run"
    assert (run / "adapter" / "adapter_model.safetensors").exists()
    raw = (run / "train_log.jsonl").read_text().splitlines()
    log = read_train_log(run / "train_log.jsonl")
    assert len(raw) == 4 and [row["step"] for row in log] == [1, 2, 3, 4]  # one writer: rank 0
    assert log[-1]["epoch"] == 2.0  # 16 examples, 2 processes x batch 4: one epoch per 2 steps
    assert log[0]["proj_loss"] < 1e-8 and log[-1]["proj_loss"] > 1e-4  # the ProCon term is live
    ckpts = run / "checkpoints"
    assert not (ckpts / "checkpoint-2" / "optimizer.pt").exists() and (ckpts / "checkpoint-4" / "optimizer.pt").exists()
