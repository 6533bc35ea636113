"""Atomic file writes and content hashing.

Every file the harness writes goes through a temp file + ``os.replace`` so that a killed run never
leaves a half-written file that a later run would take as complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, set):
        return sorted(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def to_json(obj: Any, indent: int | None = 2) -> str:
    return json.dumps(obj, indent=indent, default=_json_default, ensure_ascii=False)


def write_text_atomic(path: str | Path, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def write_json_atomic(path: str | Path, obj: Any) -> Path:
    return write_text_atomic(path, to_json(obj) + "\n")


def write_jsonl_atomic(path: str | Path, rows: Iterable[dict]) -> Path:
    return write_text_atomic(path, "".join(to_json(r, indent=None) + "\n" for r in rows))


def read_json(path: str | Path) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def read_jsonl(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@contextlib.contextmanager
def atomic_directory(final: str | Path) -> Iterator[Path]:
    """Yield a scratch folder that is renamed to ``final`` only if the block succeeds.

    A crash inside the block leaves no ``final`` folder, so a later run redoes the work instead of
    trusting half of it.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.partial-"))
    try:
        yield scratch
        if final.exists():  # another process finished first: keep theirs
            shutil.rmtree(scratch)
        else:
            os.replace(scratch, final)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise


def safe_name(name: str) -> str:
    """A model or benchmark name as a folder/file name: letters, digits, ``-``, ``_``, ``.`` kept, the rest ``_``."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def sha256_text(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def sha256_json(obj: Any) -> str:
    return sha256_text(json.dumps(obj, sort_keys=True, default=_json_default))


def sha256_file(path: str | Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


_FINGERPRINT_FILES = (".json", ".safetensors", ".bin", ".model", ".txt", ".jinja")


def fingerprint_dir(path: str | Path) -> str:
    """Content hash of a model or adapter folder (weights, config, tokenizer).

    Memoised in ``.procon_fingerprint`` keyed by the files' sizes and mtimes, so hashing a 500 MB
    checkpoint happens once.
    """
    path = Path(path)
    files = sorted(
        p for p in path.iterdir() if p.is_file() and p.suffix in _FINGERPRINT_FILES and not p.name.startswith(".")
    )
    stamp = sha256_json([(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files])
    memo = path / ".procon_fingerprint"
    if memo.exists():
        with contextlib.suppress(ValueError, OSError, KeyError):
            cached = json.loads(memo.read_text())
            if cached["stamp"] == stamp:
                return cached["sha256"]
    digest = sha256_json([(p.name, sha256_file(p)) for p in files])
    with contextlib.suppress(OSError):  # read-only folders are fine, we just do not memoise
        write_json_atomic(memo, {"stamp": stamp, "sha256": digest})
    return digest
