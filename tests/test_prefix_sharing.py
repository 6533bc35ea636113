"""Prompt passes compute the batch's shared prefix once; the states equal those of one full pass."""

from __future__ import annotations

import pytest
import torch

import harness.hidden as hidden_mod
from harness.directions import prompt_batches, prompt_states
from harness.hidden import capture_hidden, last_token_log_probs, prompt_forward, shared_prefix_length
from harness.models import load_model, load_tokenizer

PROMPTS = ["How do I bake bread?", "Name three colours, please, in a list", "Hi", "Explain the rules of chess briefly"]
SYSTEM = "You are a careful assistant. Answer briefly and politely."


def test_shared_prefix_length():
    ids = torch.tensor([[1, 2, 3, 4, 9], [1, 2, 3, 5, 0], [1, 2, 3, 4, 7]])
    attn = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 1, 0], [1, 1, 1, 1, 1]])
    assert shared_prefix_length(ids, attn) == 3
    same = torch.tensor([[1, 2, 3], [1, 2, 3]])
    assert shared_prefix_length(same, torch.ones_like(same)) == 2  # every row keeps one own token
    left_padded = torch.tensor([[0, 1, 2, 3], [1, 1, 2, 3]])
    assert shared_prefix_length(left_padded, torch.tensor([[0, 1, 1, 1], [1, 1, 1, 1]])) == 0
    assert shared_prefix_length(ids[:1], attn[:1]) == 0  # one row: nothing to share


def _reference(model, batch, layers):
    """Plain full pass: every layer's output and the final normed state."""
    with capture_hidden(model, layers) as store:
        final = model.get_decoder()(**batch.inputs(), use_cache=False).last_hidden_state
    return dict(store), final


@pytest.mark.parametrize("lora", [False, True])
def test_prompt_forward_equals_one_full_pass(tiny_model_path, lora):
    tok, model = load_tokenizer(tiny_model_path), load_model(tiny_model_path).eval()
    if lora:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "down_proj"],
                                                 init_lora_weights=False))
    (batch,) = prompt_batches(tok, PROMPTS, SYSTEM, batch_size=8)
    shared = shared_prefix_length(batch.input_ids, batch.attention_mask)
    assert shared >= 10  # the system turn
    layers = list(range(model.config.num_hidden_layers))
    widths = []  # what the embedding sees: the prefix once, then only the rows' own tokens
    handle = model.get_input_embeddings().register_forward_hook(lambda _m, args, _o: widths.append(tuple(args[0].shape)))
    with torch.no_grad():
        want, want_final = _reference(model, batch, layers)
        widths.clear()
        got, got_final = prompt_forward(model, layers, batch.input_ids, batch.attention_mask)
    handle.remove()
    rows, width = batch.input_ids.shape
    assert widths == [(1, shared), (rows, width - shared)]
    with torch.no_grad():
        early, early_final = prompt_forward(model, [0], batch.input_ids, batch.attention_mask, stop_after_last=True)
    valid = batch.attention_mask.bool()
    for layer in layers:
        assert got[layer].shape == want[layer].shape
        torch.testing.assert_close(got[layer][valid], want[layer][valid], rtol=1e-3, atol=1e-4)
    torch.testing.assert_close(got_final[valid], want_final[valid], rtol=1e-3, atol=1e-4)
    torch.testing.assert_close(early[0][valid], want[0][valid], rtol=1e-3, atol=1e-4)
    assert early_final is None and set(early) == {0}


def test_states_and_log_probs_do_not_depend_on_sharing(tiny_model_path, monkeypatch):
    tok, model = load_tokenizer(tiny_model_path), load_model(tiny_model_path).eval()
    (batch,) = prompt_batches(tok, PROMPTS, SYSTEM, batch_size=8)
    with torch.no_grad():
        shared_states = prompt_states(model, tok, PROMPTS, SYSTEM, positions=(-1, -3))
        shared_lp = last_token_log_probs(model, batch.prompt_len, **batch.inputs())
        monkeypatch.setattr(hidden_mod, "MIN_SHARED_PREFIX", 10**9)  # forces the plain full pass
        plain_states = prompt_states(model, tok, PROMPTS, SYSTEM, positions=(-1, -3))
        plain_lp = last_token_log_probs(model, batch.prompt_len, **batch.inputs())
    torch.testing.assert_close(shared_states, plain_states, rtol=1e-3, atol=1e-4)
    torch.testing.assert_close(shared_lp, plain_lp, rtol=1e-3, atol=1e-4)
