"""Where the harness keeps things it can rebuild: converted models, aligned models, generation cache."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """``$PROCON_BENCH_CACHE``, else ``$XDG_CACHE_HOME/procon-bench``, else ``~/.cache/procon-bench``."""
    env = os.environ.get("PROCON_BENCH_CACHE")
    if env:
        root = Path(env).expanduser()
    else:
        root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "procon-bench"
    root.mkdir(parents=True, exist_ok=True)
    return root


def cache_dir(*parts: str) -> Path:
    path = cache_root().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
