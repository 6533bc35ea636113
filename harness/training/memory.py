"""Peak memory of one training, for the per-defense training cost (``train_config.json`` ``cost``).

CPU: the process's peak resident set (Linux ``VmHWM``), reset at the start by writing ``5`` to
``/proc/self/clear_refs`` (Linux >= 4.0), so that a run training many defenses in one process gets
each training's own peak, not the largest so far. Where that reset is not possible (not Linux, a
read-only ``/proc``) the peak is ``ru_maxrss``, the whole process's lifetime peak, and ``rss_scope``
says so. CUDA: ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats`` (tensors only,
not the allocator's cache or the CUDA context).
"""

from __future__ import annotations

import re
import resource
import sys
from pathlib import Path
from typing import Any

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
GIB = 2**30


def _vm_hwm_bytes() -> int | None:
    try:
        match = re.search(r"^VmHWM:\s+(\d+)\s+kB", _STATUS.read_text(), re.MULTILINE)
    except OSError:
        return None
    return int(match.group(1)) * 1024 if match else None


def _reset_vm_hwm() -> bool:
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return _vm_hwm_bytes() is not None


def lifetime_peak_rss_bytes() -> int:
    """The process's peak resident set over its whole life (``ru_maxrss``), in bytes."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB on Linux


class PeakMemory:
    """``peak = PeakMemory(device).start()`` ... ``peak.stop()``: the span's peak RSS (and CUDA) in GiB."""

    def __init__(self, device: str = "cpu") -> None:
        self.device = device
        self.scoped = False

    def start(self) -> PeakMemory:
        self.scoped = _reset_vm_hwm()
        if self.device.startswith("cuda"):
            import torch

            torch.cuda.reset_peak_memory_stats()
        return self

    def stop(self) -> dict[str, Any]:
        rss = _vm_hwm_bytes() if self.scoped else lifetime_peak_rss_bytes()
        cuda = None
        if self.device.startswith("cuda"):
            import torch

            cuda = torch.cuda.max_memory_allocated()
        return {"peak_rss_gib": round(rss / GIB, 3) if rss else None,
                "rss_scope": "training" if self.scoped else "process lifetime (ru_maxrss)",
                "peak_cuda_gib": round(cuda / GIB, 3) if cuda is not None else None}
