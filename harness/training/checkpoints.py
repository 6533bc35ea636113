"""Checkpoint folders: every one keeps its weights (the drift curve reads each save step), only the
newest keeps the optimizer/scheduler/RNG state that resume needs (the bulk of a LoRA checkpoint)."""

from __future__ import annotations

import shutil
from pathlib import Path

from transformers import TrainerCallback

TRAINER_STATE = "trainer_state.json"  # the Trainer writes it last: its presence marks a complete checkpoint
RESUME_ONLY = ("optimizer*", "scheduler.pt", "scaler.pt", "rng_state*.pth")  # files and FSDP folders


def checkpoint_dirs(folder: str | Path) -> list[Path]:
    """``checkpoint-N`` folders, oldest first."""
    found = [p for p in Path(folder).glob("checkpoint-*") if p.is_dir() and p.name.split("-")[-1].isdigit()]
    return sorted(found, key=lambda p: int(p.name.split("-")[-1]))


def latest_checkpoint(folder: str | Path) -> str | None:
    """The newest complete checkpoint (a kill during a save leaves a partial one; it is skipped)."""
    complete = [p for p in checkpoint_dirs(folder) if (p / TRAINER_STATE).exists()]
    return str(complete[-1]) if complete else None


def prune_resume_state(folder: str | Path, keep: str | Path) -> None:
    """Delete the resume-only state from every checkpoint in ``folder`` except ``keep``."""
    keep = Path(keep).resolve()
    for ckpt in checkpoint_dirs(folder):
        if ckpt.resolve() == keep:
            continue
        for pattern in RESUME_ONLY:
            for path in ckpt.glob(pattern):
                if path.is_dir():
                    shutil.rmtree(path)
                else:
                    path.unlink()


class PruneResumeState(TrainerCallback):
    """After each save (once it is complete), strip the resume state from the older checkpoints."""

    def on_save(self, args, state, control, **kwargs):
        newest = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if state.is_world_process_zero and (newest / TRAINER_STATE).exists():
            prune_resume_state(args.output_dir, newest)
