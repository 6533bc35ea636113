"""Stage keys: every stage output records the key of its inputs and is reused only on an exact match.

A *key* is the sha256 of a JSON document of everything that changes a stage's output (data, config,
model fingerprints, upstream keys, seeds, the code/library versions that change numerics). Each
stage folder holds ``stage.json``::

    {"stage": "train vanilla", "key": "...", "status": "running" | "done", "inputs": {...}}

``keyed_stage`` decides per stage: reuse (``done`` and same key), resume (``running`` and same key:
a half-finished training continues from its checkpoint), or recompute (any other key: the user is
told in one line which inputs changed, and the folder is cleared first, so a checkpoint made with
other settings is never resumed into).

A record whose inputs differ only by fields it did not have, now at ``None`` (an upgrade added an
optional config field; its ``None`` default keeps the old behaviour, which is the rule for every new
field), counts as the same key: the stage is reused or resumed, its record is rewritten with the new
key (the old -> new key pair is kept in ``$PROCON_BENCH_CACHE/migrated-stage-keys.json``, so a
downstream stage that names the old key, e.g. drift naming its training, is the same stage too), and
the manifest notes the new fields. Any other difference, ``None`` -> value included, recomputes.
"""

from __future__ import annotations

import fnmatch
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.io import read_json, sha256_json, write_json_atomic

STAGE_FILE = "stage.json"

# Bump when code that changes trained weights or generated text changes behaviour (training loop,
# loss, data encoding, generation settings). Part of every training/alignment key, so a code upgrade
# never silently reuses a model made differently. Plain refactors leave it alone.
NUMERICS_VERSION = 2
NUMERICS_PACKAGES = ("torch", "transformers", "peft", "accelerate")


def numerics_versions() -> dict[str, Any]:
    """Harness numerics version + versions of the libraries whose upgrades change trained numbers."""
    from harness import __version__
    from harness.generation.base import package_version

    return {"procon-bench": __version__, "numerics": NUMERICS_VERSION,
            **{p: package_version(p).split("+")[0] for p in NUMERICS_PACKAGES}}


def stage_key(inputs: dict[str, Any]) -> str:
    return sha256_json(inputs)[:16]


def _flatten(obj: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(obj, dict):
        out: dict[str, Any] = {}
        for k, v in obj.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: obj}


def changed_inputs(old: dict[str, Any], new: dict[str, Any], limit: int = 4) -> str:
    """``training.steps 6 -> 12, seed 0 -> 1`` (the first few leaf fields that differ)."""
    a, b = _flatten(old), _flatten(new)
    changed = [k for k in set(a) | set(b) if a.get(k, "<unset>") != b.get(k, "<unset>")]
    changed.sort(key=lambda k: (_is_digest(b.get(k)), k))  # readable values before content hashes
    diffs = [f"{k} {_short(a.get(k, '<unset>'))} -> {_short(b.get(k, '<unset>'))}" for k in changed]
    more = f" (+{len(diffs) - limit} more)" if len(diffs) > limit else ""
    return ", ".join(diffs[:limit]) + more if diffs else "inputs changed"


def _migrations_file() -> Path:
    from harness.paths import cache_root

    return cache_root() / "migrated-stage-keys.json"


def migrated_keys() -> dict[str, str]:
    """old key -> new key of every record migrated on this machine: a downstream stage whose inputs name
    the old key of a migrated stage (drift names its training's key) has the same inputs too."""
    try:
        return dict(read_json(_migrations_file()))
    except (OSError, ValueError, TypeError):
        return {}


def _record_migration(old_key: str, new_key: str) -> None:
    write_json_atomic(_migrations_file(), {**migrated_keys(), old_key: new_key})


def new_fields_at_default(old: dict[str, Any], new: dict[str, Any]) -> list[str] | None:
    """The leaf fields ``new`` adds at ``None``, and the upstream keys that were migrated, when those
    are its only differences from ``old``; else None."""
    a, b = _flatten(old), _flatten(new)
    if not set(a) <= set(b):
        return None
    added = sorted(set(b) - set(a))
    renamed = sorted(k for k in a if a[k] != b[k])
    migrated = migrated_keys() if renamed else {}
    if any(b[k] is not None for k in added) or any(not isinstance(a[k], str) or migrated.get(a[k]) != b[k]
                                                   for k in renamed):
        return None
    return (added + [f"{k} (migrated key)" for k in renamed]) or None


def _is_digest(value: Any) -> bool:
    return isinstance(value, str) and len(value) >= 16 and all(c in "0123456789abcdef" for c in value)


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 24 else text[:21] + "..."


@dataclass
class StageRecord:
    """What the manifest lists per stage: its key, and whether it was computed, resumed or reused."""

    name: str
    key: str
    status: str = "computed"  # computed | resumed | reused
    seconds: float = 0.0
    note: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def reused(self) -> bool:
        return self.status == "reused"

    def to_dict(self) -> dict[str, Any]:
        d = {"key": self.key, "status": self.status, "seconds": self.seconds, **self.extra}
        if self.note:
            d["note"] = self.note
        return d


def read_stage(folder: Path) -> dict[str, Any] | None:
    path = Path(folder) / STAGE_FILE
    try:
        return read_json(path) if path.is_file() else None
    except (ValueError, OSError):
        return None


@contextmanager
def keyed_stage(name: str, folder: Path, inputs: dict[str, Any], *, force: bool = False,
                outputs: tuple[str, ...] = (), keep: tuple[str, ...] = ()) -> Iterator[StageRecord]:
    """Open a keyed stage in ``folder``; ``record.reused`` tells the caller to skip its work.

    ``outputs`` are files/folders (relative to ``folder``) that a finished stage must still have; a
    ``done`` record whose outputs are gone is recomputed. ``force`` recomputes even on a match.
    ``keep``: glob patterns of entries in ``folder`` that are not this stage's output (other stages
    nested in it, e.g. ``layer-*``): never cleared on a recompute.
    """
    folder = Path(folder)
    key = stage_key(inputs)
    old = read_stage(folder)
    record = StageRecord(name, key)
    complete = all((folder / o).exists() for o in outputs)
    grown = new_fields_at_default(old.get("inputs", {}), inputs) if old and old.get("key") != key else None
    if grown is not None:
        record.note = f"same inputs; new fields at their defaults: {', '.join(grown)}"
        _record_migration(old["key"], key)
        old = {**old, "key": key, "inputs": inputs}
        write_json_atomic(folder / STAGE_FILE, old)  # the next run matches the new key directly
    if old and old.get("key") == key and not force:
        if old.get("status") == "done" and complete:
            record.status = "reused"
            # what the stage recorded when it ran (e.g. a training's truncation counts) stays in the manifest
            record.extra = {k: v for k, v in old.items() if k not in ("stage", "key", "status", "inputs")}
            yield record
            return
        record.status = "resumed" if old.get("status") == "running" else "computed"
    elif old or (folder.exists() and any(not _kept(c, keep) for c in folder.iterdir())):
        why = "--force" if force and old and old.get("key") == key else (
            changed_inputs(old.get("inputs", {}), inputs) if old else "no stage record")
        record.note = f"recomputed: {why}"
        print(f"note: {name}: {why}; recomputing (the previous output in {folder} is replaced)", flush=True)
        _clear(folder, keep)
    folder.mkdir(parents=True, exist_ok=True)
    write_json_atomic(folder / STAGE_FILE, {"stage": name, "key": key, "status": "running", "inputs": inputs})
    yield record
    write_json_atomic(folder / STAGE_FILE, {"stage": name, "key": key, "status": "done", "inputs": inputs,
                                            **record.extra})


def _kept(child: Path, keep: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatch(child.name, pattern) for pattern in keep)


def _clear(folder: Path, keep: tuple[str, ...] = ()) -> None:
    for child in folder.iterdir():
        if _kept(child, keep):
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
