"""How a Generator serves LoRA adapters: as LoRA requests mixed in one engine, or as merged weights.

- ``lora``: one engine holds every adapter (vLLM ``max_loras = K``); each generate call mixes the
  requests of all adapters (and of the base) in one batch, so K fine-tuned models of one base are
  scored in one pass. Engines that cannot mix adapters in a batch (transformers + PEFT) get one
  sub-batch per adapter inside the same call.
- ``merged``: each adapter is folded into a copy of the base weights (PEFT ``merge_and_unload``,
  fp32), written to a scratch folder, served by its own engine as a plain model, and deleted when
  its prompts are done (the generations are cached; the weights are not worth 0.5 GB per model).
- ``auto``: ``merged`` for vLLM on a CPU, ``lora`` everywhere else. On this project's 2-core CPU a
  vLLM LoRA request costs ~3.5x the wall time of the same prompts on base weights while a merge costs
  seconds (``../shared/notes/vllm-cpu.md``; ``perf/evaluation.py`` measures all of them side by side);
  on a GPU vLLM's LoRA kernels batch many adapters cheaply and no weights are copied.

Merged weights are the same function as base + LoRA but round differently, so the generation cache
key records ``served: merged`` for adapter requests served that way (LoRA keys are unchanged).

Scratch folders are named ``<adapter folder's parent>-<host>-<pid>-<random>`` under
``cache_dir("merged")``. A killed run cannot remove its own, so each new merge first removes the
folders of this host whose process is gone (``sweep_stale``); another host's (a shared cache) and a
live process's are never touched.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness.errors import unknown_name
from harness.paths import cache_dir

SERVING = ("auto", "lora", "merged")


def resolve_serving(serving: str, engine_name: str) -> str:
    """``auto`` -> ``merged`` for vLLM on a CPU, else ``lora`` (see the module docstring)."""
    if serving not in SERVING:
        raise unknown_name("adapter_serving", serving, list(SERVING))
    if serving != "auto":
        return serving
    if engine_name != "vllm":
        return "lora"
    from harness.generation.vllm_engine import on_cpu

    return "merged" if on_cpu() else "lora"


@contextmanager
def merged_weights(base_path: str | Path, adapter: str | Path) -> Iterator[Path]:
    """A scratch model folder holding ``base + adapter`` merged (and the base's tokenizer); removed on exit."""
    from harness.models import save_merged

    root = cache_dir("merged")
    sweep_stale(root)
    scratch = Path(tempfile.mkdtemp(dir=root, prefix=f"{Path(adapter).parent.name}-{_host()}-{os.getpid()}-"))
    try:
        yield save_merged(base_path, adapter, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_.]", "_", socket.gethostname()) or "host"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def sweep_stale(root: Path) -> list[Path]:
    """Remove the scratch folders under ``root`` left by dead processes of this host; returns them."""
    pattern = re.compile(rf".*-{re.escape(_host())}-(\d+)-[^-]+")
    removed = []
    for folder in root.iterdir() if root.is_dir() else ():
        match = pattern.fullmatch(folder.name)
        if folder.is_dir() and match and not _alive(int(match.group(1))):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed
