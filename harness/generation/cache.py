"""Content-addressed generation cache (SQLite): a rerun generates nothing, a killed run resumes.

Key = sha256 of everything that changes the output (``Generator.key``). Rows are committed after
every chunk, so an interrupted run loses at most one chunk. ``truncated`` (the answer was cut by
max_model_len) is stored with the completion; a cache file from before it existed gains the column.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from harness.generation.base import Completion
from harness.paths import cache_dir


class GenerationCache:
    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else cache_dir("generations") / "cache.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS completions "
                         "(key TEXT PRIMARY KEY, text TEXT, token_ids TEXT, truncated INTEGER DEFAULT 0)")
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(completions)")}
        if "truncated" not in columns:
            self._db.execute("ALTER TABLE completions ADD COLUMN truncated INTEGER DEFAULT 0")
        self._db.commit()

    def get_many(self, keys: list[str]) -> dict[str, Completion]:
        found: dict[str, Completion] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for key, text, ids, truncated in self._db.execute(
                f"SELECT key, text, token_ids, truncated FROM completions WHERE key IN ({marks})", chunk
            ):
                found[key] = Completion(text, json.loads(ids), bool(truncated))
        return found

    def put_many(self, items: dict[str, Completion]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO completions (key, text, token_ids, truncated) VALUES (?, ?, ?, ?)",
            [(k, c.text, json.dumps(c.token_ids), int(c.truncated)) for k, c in items.items()],
        )
        self._db.commit()

    def __len__(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM completions").fetchone()[0]

    def close(self) -> None:
        self._db.close()
