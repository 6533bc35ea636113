"""Length limits: cut and emptied examples are counted, reported, and fail the run when harmful."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from defenses import build_defense
from harness.config import LoraConfig, TrainConfig
from harness.errors import UserError
from harness.models import load_tokenizer
from harness.records import Record
from harness.training.engine import train
from harness.training.examples import encode_records
from harness.training.lengths import check_truncation, truncation_stats, validate_lengths

LONG = " ".join(f"word{i}" for i in range(150))  # far over max_length 128 with any tokenizer


def records(n: int, n_long: int) -> list[Record]:
    return [Record(f"r{i}", f"Reverse: cat dog {i}", LONG if i < n_long else f"{i} dog cat") for i in range(n)]


def test_cut_and_emptied_examples_are_counted(tiny_model_path):
    tok = load_tokenizer(tiny_model_path)
    examples = encode_records(tok, records(4, 1), None, 128, 100)
    assert [ex.truncated for ex in examples] == [True, False, False, False]
    assert examples[0].input_ids[-1] != tok.eos_token_id and examples[1].input_ids[-1] == tok.eos_token_id
    stats = truncation_stats(examples, 128, 100)
    assert (stats.examples, stats.truncated, stats.empty) == (4, 1, 0)
    # a prompt that fills max_length leaves nothing to train on (the old default: max_length 12, prompts up to 100)
    emptied = encode_records(tok, records(4, 0), None, 12, 100)
    assert all(ex.response_tokens == 0 and all(label == -100 for label in ex.labels) for ex in emptied)
    with pytest.raises(UserError, match=r"^training\.max_length: 4 of 4 examples have no response token left at "
                                        r"max_length 12 .*training\.max_prompt_length$"):
        check_truncation(truncation_stats(emptied, 12, 100), TrainConfig())


def test_training_records_truncation(tiny_model_path, tmp_path, capsys):
    cfg = TrainConfig(steps=1, batch_size=4, save_steps=10, lora=LoraConfig(r=4, alpha=8))
    result = train(tiny_model_path, cfg, build_defense("vanilla"), records(20, 1), tmp_path / "t", progress=False)
    assert (result.truncation.truncated, result.truncation.empty) == (1, 0)  # 5 %: at the default limit
    written = json.loads((tmp_path / "t" / "train_config.json").read_text())["truncation"]
    assert written["examples"] == 20 and written["truncated"] == 1 and written["empty"] == 0
    assert "training: 20 examples: 1 responses cut at max_length 128 (5.0%" in capsys.readouterr().out


def test_training_fails_when_too_many_responses_are_cut(tiny_model_path, tmp_path):
    cfg = TrainConfig(steps=1, batch_size=4, save_steps=10, lora=LoraConfig(r=4, alpha=8))
    with pytest.raises(UserError, match=r"^alignment\.train\.max_length: 2 of 20 responses \(10\.0%\) are cut at "
                                        r"max_length 128 .*alignment\.train\.max_truncated_fraction = 0\.05"):
        train(tiny_model_path, cfg, build_defense("vanilla"), records(20, 2), tmp_path / "t", progress=False,
              config_path="alignment.train")
    assert not (tmp_path / "t").exists()  # failed before training wrote anything


def test_validate_lengths():
    validate_lengths(SimpleNamespace(max_length=128, max_prompt_length=100, max_truncated_fraction=0.05))
    with pytest.raises(UserError, match=r"^max_prompt_length: expected < max_length \(12\), got 100"):
        validate_lengths(SimpleNamespace(max_length=12, max_prompt_length=100, max_truncated_fraction=0.05))
    with pytest.raises(UserError, match=r"^max_truncated_fraction: expected a fraction in \[0, 1\], got 1\.5"):
        validate_lengths(SimpleNamespace(max_length=128, max_prompt_length=100, max_truncated_fraction=1.5))
