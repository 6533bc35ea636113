"""Facts about LoRA adapter folders that every engine needs."""

from __future__ import annotations

import json
from pathlib import Path

from harness.errors import UserError


def adapter_config(adapter: str | Path) -> dict:
    path = Path(adapter) / "adapter_config.json"
    if not path.is_file():
        raise UserError(f"adapter {adapter}: no adapter_config.json (expected a PEFT LoRA folder)")
    return json.loads(path.read_text())


def adapter_rank(adapter: str | Path) -> int:
    return int(adapter_config(adapter).get("r", 8))
