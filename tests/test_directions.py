"""Refusal direction extraction, projections, separation statistics and drift."""

from __future__ import annotations

import torch

from harness.directions import RefusalDirection, direction_from_states, drift, last_prompt_states
from harness.models import format_prompt, load_model, load_tokenizer

PROMPTS = ["Tell me a joke", "What is the capital of France? Answer briefly please", "Hi", "Name three colours"]


def test_last_prompt_states_match_unpadded_forward(tiny_model_path):
    model, tok = load_model(tiny_model_path).eval(), load_tokenizer(tiny_model_path)
    states = last_prompt_states(model, tok, PROMPTS, batch_size=4)  # padded batch
    assert states.shape == (4, 2, model.config.hidden_size)
    for i, p in enumerate(PROMPTS):
        ids = tok(format_prompt(tok, p), return_tensors="pt", add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            hs = model(ids, output_hidden_states=True).hidden_states
        torch.testing.assert_close(states[i, 0], hs[1][0, -1], rtol=1e-4, atol=1e-4)


def test_known_direction_is_recovered(tiny_model_path):
    """Same prompts in both sets; the 'harmful' pass gets a known vector v added after block 0."""
    model, tok = load_model(tiny_model_path).eval(), load_tokenizer(tiny_model_path)
    v = torch.nn.functional.normalize(torch.randn(model.config.hidden_size, generator=torch.Generator().manual_seed(3)), dim=0)
    handle = model.model.layers[0].register_forward_hook(lambda m, i, o: (o[0] + 5 * v,) + tuple(o[1:]) if isinstance(o, tuple) else o + 5 * v)
    harmful = last_prompt_states(model, tok, PROMPTS)
    handle.remove()
    harmless = last_prompt_states(model, tok, PROMPTS)
    direction = direction_from_states(harmful, harmless)
    assert torch.nn.functional.cosine_similarity(direction.directions[0], v, dim=0) > 0.9999
    s0 = direction.stats[0]
    assert abs(s0["proj_harmful_mean"] - s0["proj_harmless_mean"] - 5) < 1e-3
    assert s0["mean_diff_norm"] == pytest_approx(5.0)


def pytest_approx(x):
    import pytest

    return pytest.approx(x, rel=1e-3)


def test_separation_and_drift_on_synthetic_states():
    gen = torch.Generator().manual_seed(0)
    d = 16
    v = torch.zeros(d)
    v[3] = 1.0
    harmless = torch.randn(200, 2, d, generator=gen)
    harmful = torch.randn(200, 2, d, generator=gen) + 4 * v
    r = direction_from_states(harmful, harmless)
    assert torch.nn.functional.cosine_similarity(r.directions[1], v, dim=0) > 0.95
    assert r.stats[1]["separation"] > 3
    assert drift(r, r) == [1.0, 1.0] or all(abs(c - 1) < 1e-6 for c in drift(r, r))
    flipped = RefusalDirection(-r.directions, r.mean_harmful, r.mean_harmless, r.stats)
    assert all(abs(c + 1) < 1e-6 for c in drift(flipped, r))


def test_save_load_roundtrip(tmp_path):
    r = direction_from_states(torch.randn(5, 3, 8) + 1, torch.randn(5, 3, 8))
    r.save(tmp_path / "d.pt")
    back = RefusalDirection.load(tmp_path / "d.pt")
    torch.testing.assert_close(back.directions, r.directions)
    assert back.stats == r.stats
