"""The built-in general instruction-following set (`instructions`), its ROUGE-L scorer and benchmark spec."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from pathlib import Path

import pytest

from benchmarks.registry import resolve_benchmark
from benchmarks.scorers import get_scorer, lcs_length, rouge_l, rouge_tokens
from benchmarks.tasks import instructions
from harness.config import EvalConfig
from harness.data import DataSpec, builtin_sets, load_records
from harness.evaluation import load_benchmarks
from harness.judges import get_judge
from harness.metrics import compute_metric, is_rate, metric_direction

DATA_DIR = Path(instructions.__file__).resolve().parents[1] / "data"
FIELDS = {"id", "prompt", "category", "split", "response"}
JACCARD_LIMIT = 0.7  # as tests/test_builtin_data.py
LEAD_INS = ("sure", "of course", "certainly", "here is", "here's", "happy to help", "absolutely")


def _jsonl(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA_DIR / name).read_text(encoding="utf-8").splitlines()]


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def _words(text: str) -> frozenset[str]:
    return frozenset(re.findall(r"[a-z0-9]+", text.lower()))


def _first_word(text: str) -> str:
    return re.findall(r"[A-Za-z0-9$']+|\S", text)[0].lower()


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return _jsonl("instructions.jsonl")


def test_file_is_what_the_generator_writes(rows):
    assert (DATA_DIR / "instructions.jsonl").read_text(encoding="utf-8") == instructions.render(instructions.rows())


def test_counts_schema_and_splits(rows):
    splits = Counter(r["split"] for r in rows)
    assert splits == {"train": 506, "test": 100}
    for i, r in enumerate(rows, 1):
        assert set(r) == FIELDS, r
        assert r["id"] == f"instructions-{i:04d}"
        assert r["prompt"] == r["prompt"].strip() and r["prompt"]
        assert r["response"] == r["response"].strip() and r["response"]
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", r["category"]), r["category"]
    per_split = {s: Counter(r["category"] for r in rows if r["split"] == s) for s in splits}
    assert len(per_split["train"]) >= 12 and set(per_split["test"]) == set(per_split["train"])
    assert max(Counter(r["category"] for r in rows).values()) <= 0.15 * len(rows)


def test_ids_and_prompts_are_unique(rows):
    assert len({r["id"] for r in rows}) == len(rows)
    prompts = Counter(_norm(r["prompt"]) for r in rows)
    assert [p for p, n in prompts.items() if n > 1] == []


def test_no_overlap_with_harmful_or_harmless_prompts(rows):
    others = [(f"{name}:{r['id']}", r["prompt"]) for name in ("harmful.jsonl", "harmless.jsonl") for r in _jsonl(name)]
    exact = {_norm(p) for _, p in others}
    assert [r["id"] for r in rows if _norm(r["prompt"]) in exact] == []
    other_words = [(oid, _words(p)) for oid, p in others]
    near = []
    for r in rows:
        mine = _words(r["prompt"])
        near += [(r["id"], oid) for oid, theirs in other_words if len(mine & theirs) / len(mine | theirs) >= JACCARD_LIMIT]
    assert near == [], f"near-duplicate prompts (word Jaccard >= {JACCARD_LIMIT}): {near[:10]}"


def test_answers_open_in_many_ways_and_never_with_a_stock_lead_in(rows):
    first = Counter(_first_word(r["response"]) for r in rows)
    word, count = first.most_common(1)[0]
    assert count / len(rows) <= 0.10, f"{word!r} opens {count}/{len(rows)} answers"
    assert len(first) >= 150
    opening = Counter(" ".join(r["response"].lower().split()[:2]) for r in rows)
    assert opening.most_common(1)[0][1] <= 0.03 * len(rows), opening.most_common(3)
    assert [r["id"] for r in rows if r["response"].lower().startswith(LEAD_INS)] == []


@pytest.mark.parametrize("judge", ["keyword-gcg", "keyword-inclusive", "keyword-arditi"])
def test_no_answer_reads_as_a_refusal(rows, judge):
    verdicts = get_judge(judge).judge([r["prompt"] for r in rows], [r["response"] for r in rows])
    assert [(r["id"], v.evidence) for r, v in zip(rows, verdicts, strict=True) if v.refused] == []


def test_answer_lengths(rows):
    words = [len(r["response"].split()) for r in rows]
    assert max(words) <= 70
    assert sum(20 <= n <= 70 for n in words) / len(words) >= 0.55


@pytest.mark.slow
def test_fits_the_training_lengths_with_smollm2(rows, smollm2_path):
    """Chat-formatted prompts fit max_prompt_length 64; < 5 % of train examples exceed max_length 128."""
    from harness.models import load_tokenizer
    from harness.records import Record
    from harness.training.examples import encode_records

    tok = load_tokenizer(smollm2_path)
    train = [Record(r["id"], r["prompt"], r["response"]) for r in rows if r["split"] == "train"]
    examples = encode_records(tok, train, None, 10**6, 10**6)  # no cut: measure the full lengths
    assert max(ex.prompt_len for ex in examples) <= 64
    assert sum(len(ex.input_ids) > 128 for ex in examples) / len(examples) < 0.05


# ------------------------------------------------------------------ ROUGE-L
def test_rouge_tokens_lowercase_words():
    assert rouge_tokens("The Cat, sat!  on 2 mats.") == ["the", "cat", "sat", "on", "2", "mats"]
    assert rouge_tokens(None) == [] and rouge_tokens("...") == []


def test_lcs_length():
    assert lcs_length(list("abcbdab"), list("bdcaba")) == 4
    assert lcs_length([], ["a"]) == 0 and lcs_length(["a", "b"], ["b", "a"]) == 1


def test_rouge_l_hand_computed():
    assert rouge_l("The cat sat on the mat.", "the cat sat on the mat") == 1.0  # same words, case/punct ignored
    assert rouge_l("dogs bark loudly", "the cat sat on the mat") == 0.0  # nothing shared
    assert rouge_l("", "the cat") == 0.0 and rouge_l("the cat", "") == 0.0
    # LCS("the cat lay on the red mat", "the cat sat on the mat") = "the cat on the mat" = 5 tokens:
    # P = 5/7, R = 5/6, F1 = 2PR / (P + R) = 10/13
    assert rouge_l("the cat lay on the red mat", "the cat sat on the mat") == pytest.approx(10 / 13)
    # order matters: reversed words share only one in order
    assert rouge_l("c b a", "a b c") == pytest.approx(1 / 3)
    assert get_scorer("rouge-l") is rouge_l


def test_rouge_l_metric_takes_fractional_scores():
    mv = compute_metric("rouge_l", [1.0, 0.5, 0.0, 0.25], n_boot=500, seed=0)
    assert mv.value == pytest.approx(0.4375) and mv.n == 4
    assert 0.0 <= mv.ci_low < mv.value < mv.ci_high <= 1.0
    assert not math.isnan(mv.ci_low)
    assert metric_direction("task", "rouge_l") is True and not is_rate("rouge_l")


# ------------------------------------------------------------------ registration
def test_builtin_set_loads_by_split():
    assert "instructions" in builtin_sets()
    train = load_records(DataSpec(builtin="instructions", split="train"))
    assert len(train) == 506 and all(r.response for r in train)


def test_benchmark_spec_loads():
    spec = resolve_benchmark("builtin-instructions")
    assert (spec.kind, spec.metric, spec.scorer, spec.reference_field) == ("task", "rouge_l", "rouge-l", "response")
    assert spec.higher_is_better
    [(loaded, records)] = load_benchmarks(EvalConfig(benchmarks=["builtin-instructions"]))
    assert loaded.name == "builtin-instructions" and len(records) == 100
    assert all(r.response for r in records)
    assert rouge_l(records[0].response, records[0].response) == 1.0
