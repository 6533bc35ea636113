"""Sanity checks for the built-in prompt sets shipped in benchmarks/data/."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

import benchmarks

# A stale editable install (made before benchmarks/__init__.py existed) can expose
# `benchmarks` as a namespace package whose __file__ is None; fall back to __path__.
_PKG_DIR = (
    Path(benchmarks.__file__).parent
    if getattr(benchmarks, "__file__", None)
    else Path(next(iter(benchmarks.__path__)))
)
DATA_DIR = _PKG_DIR / "data"
SPLITS = ("train", "val", "test")
PROMPT_FILES = ("harmful.jsonl", "harmless.jsonl")
JACCARD_LIMIT = 0.7
REFUSAL_OPENINGS = ("I'm sorry", "I'm really sorry", "I cannot", "I can't", "I apologize", "Sorry, I")


def _load_jsonl(name: str) -> list[dict]:
    rows = []
    with open(DATA_DIR / name, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            assert line.strip(), f"{name}:{lineno} is blank"
            rows.append(json.loads(line))
    return rows


def _words(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"[a-z0-9]+", text.lower()))


@pytest.fixture(scope="module")
def harmful() -> list[dict]:
    return _load_jsonl("harmful.jsonl")


@pytest.fixture(scope="module")
def harmless() -> list[dict]:
    return _load_jsonl("harmless.jsonl")


@pytest.fixture(scope="module")
def all_rows(harmful, harmless) -> list[tuple[str, dict]]:
    return [("harmful.jsonl", r) for r in harmful] + [("harmless.jsonl", r) for r in harmless]


@pytest.mark.parametrize("name", PROMPT_FILES)
def test_schema_and_counts(name):
    rows = _load_jsonl(name)
    assert len(rows) >= 150
    prefix = name.split(".")[0]
    for i, r in enumerate(rows, 1):
        assert set(r) <= {"id", "prompt", "category", "split", "response"}, r
        assert r["id"] == f"{prefix}-{i:04d}", f"ids must be sequential: {r['id']}"
        assert isinstance(r["prompt"], str) and r["prompt"].strip() == r["prompt"] and r["prompt"]
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", r["category"]), r["category"]
        assert r["split"] in SPLITS, r
    assert len({r["id"] for r in rows}) == len(rows)


def test_harmful_has_enough_categories(harmful):
    cats = Counter(r["category"] for r in harmful)
    assert len(cats) >= 8, cats
    assert min(cats.values()) >= 15, cats


@pytest.mark.parametrize("name", PROMPT_FILES)
def test_every_category_in_every_split(name):
    per_cat = defaultdict(Counter)
    for r in _load_jsonl(name):
        per_cat[r["category"]][r["split"]] += 1
    for cat, counts in per_cat.items():
        for split in SPLITS:
            assert counts[split] > 0, f"{name}: category {cat!r} has no {split} items"


def test_harmless_has_edgy_safe_test_items(harmless):
    edgy_test = [r for r in harmless if r["category"] == "edgy_safe" and r["split"] == "test"]
    assert len(edgy_test) >= 10


def test_responses_only_on_harmless_train(harmful, harmless):
    assert all("response" not in r for r in harmful)
    for r in harmless:
        if r["split"] == "train":
            assert isinstance(r.get("response"), str) and r["response"].strip(), r["id"]
        else:
            assert "response" not in r, r["id"]


def test_no_prompt_shared_between_splits_or_files(all_rows):
    seen: dict[str, tuple[str, str]] = {}
    for name, r in all_rows:
        key = " ".join(r["prompt"].lower().split())
        assert key not in seen, f"{name}:{r['id']} repeats {seen[key]}"
        seen[key] = (name, r["id"])


def test_no_near_duplicates(all_rows):
    items = [(f"{name}:{r['id']}", _words(r["prompt"])) for name, r in all_rows]
    offenders = []
    for (ida, wa), (idb, wb) in itertools.combinations(items, 2):
        sim = len(wa & wb) / len(wa | wb)
        if sim >= JACCARD_LIMIT:
            offenders.append((round(sim, 2), ida, idb))
    assert not offenders, f"near-duplicate prompts (word Jaccard >= {JACCARD_LIMIT}): {offenders[:20]}"


def test_refusals():
    refusals = json.loads((DATA_DIR / "refusals.json").read_text(encoding="utf-8"))
    assert isinstance(refusals, list)
    assert all(isinstance(s, str) and s.strip() for s in refusals)
    assert len(set(refusals)) == len(refusals) >= 10
    assert all(s.startswith(REFUSAL_OPENINGS) for s in refusals), refusals
