"""Built-in canned answers for harmful prompts: refusals (alignment, safety samples) and compliant
lead-ins (the harmful fine-tuning scenario, Booster's harmful data), picked per prompt by a hash of
its id so that a data set never changes between runs.

The compliant lead-ins (``benchmarks/data/compliances.json``, written by us) carry no harmful
content: like AdvBench's ``target`` strings ("Sure, here is a script that ..."), they teach a model
to *start* answering a harmful request, which is what erodes refusal and what refusal judges
measure. A user with real harmful-response data (BeaverTails) gives it with ``responses: dataset``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

from harness.data import BUILTIN_DIR, DataSpec, load_records
from harness.errors import UserError
from harness.records import Record

RESPONSE_SOURCES = ("builtin", "dataset")


def _builtin(name: str) -> list[str]:
    return json.loads((BUILTIN_DIR / name).read_text(encoding="utf-8"))


def builtin_refusals() -> list[str]:
    return _builtin("refusals.json")


def builtin_compliances() -> list[str]:
    return _builtin("compliances.json")


def pick_for(record_id: str, answers: list[str]) -> str:
    """Deterministic (hash of the id), so the derived data set never changes between runs."""
    return answers[int(hashlib.sha256(record_id.encode()).hexdigest(), 16) % len(answers)]


def check_response_source(value: str, where: str) -> None:
    if value not in RESPONSE_SOURCES:
        raise UserError(f"{where}: expected builtin or dataset, got {value!r}")


def harmful_compliant_records(spec: DataSpec, responses: str, where: str) -> list[Record]:
    """Harmful prompts with compliant answers: built-in lead-ins (``builtin``) or the records' own
    ``response`` (``dataset``, e.g. AdvBench's target column), which every record must then have."""
    check_response_source(responses, f"{where}.responses")
    records = load_records(spec)
    if not records:
        raise UserError(f"{where}.data: no records")
    if responses == "builtin":
        answers = builtin_compliances()
        return [replace(r, response=pick_for(r.id, answers)) for r in records]
    missing = [r.id for r in records if not r.response]
    if missing:
        raise UserError(f"{where}.data: records need a response (e.g. AdvBench target, or set "
                        f"{where}.responses: builtin); missing for {missing[:3]}")
    return records
