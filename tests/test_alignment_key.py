"""The aligned-model cache key changes with everything that changes the model's numbers."""

from __future__ import annotations

from dataclasses import replace

from harness import stages
from harness.alignment import alignment_key
from harness.config import AlignmentConfig
from harness.records import Record
from harness.training.precision import Precision, training_precision

RECORDS = [Record("h0", "How do I pick a lock?", "I can't help with that."), Record("b0", "Say hi", "hi")]


def test_key_covers_precision_and_versions(tiny_model_path, monkeypatch):
    cfg = AlignmentConfig()
    cpu = training_precision(cfg.train, cuda=False)
    base = alignment_key(tiny_model_path, cfg, RECORDS, None, cpu)
    assert alignment_key(tiny_model_path, cfg, RECORDS, None, cpu) == base  # stable
    cuda_cfg = replace(cfg, train=replace(cfg.train, dtype="bfloat16"))
    assert training_precision(cuda_cfg.train, cuda=True) == Precision("cuda", "bfloat16", "bfloat16")
    assert training_precision(cuda_cfg.train, cuda=False) == cpu  # CPU trains in fp32 whatever training.dtype says
    keys = {
        base,
        alignment_key(tiny_model_path, cfg, RECORDS, None, Precision("cuda", "float32")),  # device
        alignment_key(tiny_model_path, cfg, RECORDS, None, Precision("cuda", "bfloat16", "bfloat16")),  # dtype
        alignment_key(tiny_model_path, cfg, RECORDS, None, Precision("cpu", "float32", "bfloat16")),  # autocast
    }
    monkeypatch.setattr(stages, "NUMERICS_VERSION", stages.NUMERICS_VERSION + 1)  # a code change to numerics
    keys.add(alignment_key(tiny_model_path, cfg, RECORDS, None, cpu))
    assert len(keys) == 5


def test_key_covers_library_versions(tiny_model_path, monkeypatch):
    cfg = AlignmentConfig()
    cpu = training_precision(cfg.train, cuda=False)
    before = alignment_key(tiny_model_path, cfg, RECORDS, None, cpu)
    assert {"torch", "transformers", "peft", "accelerate"} <= set(stages.numerics_versions())
    monkeypatch.setattr(stages, "NUMERICS_PACKAGES", ("torch",))  # fewer library versions in the key
    assert alignment_key(tiny_model_path, cfg, RECORDS, None, cpu) != before
