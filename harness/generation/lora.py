"""Facts about LoRA adapter folders that every engine needs, and the check that an adapter sits on its base.

An adapter only means something on the weights it was trained on: on another base it runs without
any error and produces other text. Its base is known from PEFT's ``base_model_name_or_path`` (a
local folder path for adapters this harness trains, or a hub id) and, for adapters this harness
trained, from the training stage record beside the adapter folder (``stage.json``: the start
model's content fingerprint). Folders are compared by content, never by the path string.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from harness.errors import UserError
from harness.io import fingerprint_dir

STAGE_FILE = "stage.json"  # written by the pipeline's training stage next to adapter/ (harness/stages.py)


def adapter_config(adapter: str | Path) -> dict:
    path = Path(adapter) / "adapter_config.json"
    if not path.is_file():
        raise UserError(f"adapter {adapter}: no adapter_config.json (expected a PEFT LoRA folder)")
    return json.loads(path.read_text())


def adapter_rank(adapter: str | Path) -> int:
    return int(adapter_config(adapter).get("r", 8))


def _recorded_start_fingerprint(adapter: Path) -> str | None:
    """The start model's fingerprint from our training record (``../stage.json``), if there is one."""
    record = adapter.parent / STAGE_FILE
    try:
        inputs = json.loads(record.read_text()).get("inputs", {})
    except (OSError, ValueError, AttributeError):
        return None
    value = inputs.get("start_model") if isinstance(inputs, dict) else None
    return value if isinstance(value, str) and value else None


def check_adapter_base(adapter: str | Path, base: str | Path, name: str, model_ref: str | None = None) -> None:
    """Refuse (one-line UserError) an adapter whose recorded base is provably other weights than ``base``.

    A recorded base that cannot be inspected (a hub id other than the configured model, a folder
    that no longer exists) is reported as a warning, since it proves nothing either way.
    """
    adapter, base = Path(adapter), Path(base)
    recorded = adapter_config(adapter).get("base_model_name_or_path")
    hint = f"; set model: to the base it was trained on for the models entry {name!r}"
    start = _recorded_start_fingerprint(adapter)
    if start is not None:
        if fingerprint_dir(base) != start:
            raise UserError(f"models entry {name!r}: adapter {adapter} was trained on {recorded or 'another model'} "
                            f"(fingerprint {start[:12]} in {adapter.parent / STAGE_FILE}), not on {base} "
                            f"(fingerprint {fingerprint_dir(base)[:12]}){hint}")
        return
    if not recorded:
        return
    trained_on = Path(recorded).expanduser()
    if trained_on.is_dir():
        if trained_on.resolve() != base.resolve() and fingerprint_dir(trained_on) != fingerprint_dir(base):
            raise UserError(f"models entry {name!r}: adapter {adapter} was trained on {recorded} "
                            f"(adapter_config.json base_model_name_or_path), whose files differ from {base}{hint}")
        return
    if recorded != model_ref:
        print(f"warning: models entry {name!r}: adapter {adapter} names its base {recorded!r}, which cannot be "
              f"compared with {model_ref or base}; make sure it is the same model", file=sys.stderr)
