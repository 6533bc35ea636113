"""Capture the residual stream of chosen decoder layers with forward hooks, in the same forward pass.

Cheaper than ``output_hidden_states=True`` (which keeps every layer) and, with ``stop_after_last``,
lets a prompt-only reference pass skip the layers above the last one it needs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import torch

from harness.models import decoder_layers


class _StopForward(Exception):
    """Raised by the last hook to end a forward pass early; caught by ``capture_hidden``."""


@contextlib.contextmanager
def capture_hidden(model, layers: Sequence[int], stop_after_last: bool = False) -> Iterator[dict[int, torch.Tensor]]:
    """Yield a dict that the next forward pass fills with ``{layer: hidden [batch, seq, d]}``.

    Layer ``l`` is the output of decoder block ``l`` (0-based). Tensors keep their autograd graph.
    No layers: no hooks and no model inspection (vanilla training needs none).
    """
    if not layers:
        yield {}
        return
    blocks = decoder_layers(model)
    n = len(blocks)
    bad = [layer for layer in layers if not -n <= layer < n]
    if bad:
        from harness.errors import UserError

        raise UserError(f"layers {bad} out of range; the model has {n} decoder layers (0..{n - 1})")
    wanted = sorted({layer % n for layer in layers})
    store: dict[int, torch.Tensor] = {}
    handles = []
    for layer in wanted:
        def hook(_module, _inputs, output, layer=layer):
            store[layer] = output[0] if isinstance(output, tuple) else output
            if stop_after_last and layer == wanted[-1]:
                raise _StopForward

        handles.append(blocks[layer].register_forward_hook(hook))
    try:
        yield store
    finally:
        for h in handles:
            h.remove()


def forward_capture(model, layers: Sequence[int], stop_after_last: bool = True, **inputs) -> dict[int, torch.Tensor]:
    """Run one forward pass and return the captured hidden states (early exit when allowed).

    Prompts (``input_ids`` with an optional right-padding ``attention_mask``) go through
    ``prompt_forward``, which computes the prefix the batch shares only once."""
    if set(inputs) <= {"input_ids", "attention_mask"}:
        return prompt_forward(model, layers, inputs["input_ids"], inputs.get("attention_mask"),
                              stop_after_last=stop_after_last)[0]
    with capture_hidden(model, layers, stop_after_last=stop_after_last) as store, contextlib.suppress(_StopForward):
        model(**inputs)
    return dict(store)


# Below this many shared tokens the second (cached) pass costs more than it saves.
MIN_SHARED_PREFIX = 4


def shared_prefix_length(input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None) -> int:
    """Tokens every row starts with (real tokens, not padding), leaving each row at least one own token."""
    if input_ids.shape[0] < 2:
        return 0
    lengths = attention_mask.sum(1) if attention_mask is not None else torch.full(input_ids.shape[:1], input_ids.shape[1])
    shortest = int(lengths.min())
    if shortest < 2:
        return 0
    same = (input_ids[:, :shortest] == input_ids[:1, :shortest]).all(0)
    if attention_mask is not None:
        same &= attention_mask[:, :shortest].bool().all(0)
    return min(int(same.long().cumprod(0).sum()), shortest - 1)


def _decoder_pass(decoder, model, layers, stop_after_last: bool, **kwargs):
    """(captured states, final normed hidden state or None when the pass stopped early)."""
    last = None
    with capture_hidden(model, layers, stop_after_last=stop_after_last) as store, contextlib.suppress(_StopForward):
        last = decoder(**kwargs).last_hidden_state
    return dict(store), last


def prompt_forward(model, layers: Sequence[int], input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                   stop_after_last: bool = False) -> tuple[dict[int, torch.Tensor], torch.Tensor | None]:
    """One decoder pass over right-padded prompts: ``({layer: [B, W, d]}, final hidden [B, W, d] | None)``.

    Chat prompts share a long prefix (the template's system turn: ~20 of ~45 tokens on SmolLM2), so
    the prefix runs once, its KV cache is repeated over the batch and only the rows' own tokens run
    after it; the returned states are the same as those of one full pass (up to float rounding).
    The final state is None when ``stop_after_last`` ended the pass at the last captured layer.
    Hooks on the decoder blocks (interventions) apply to both parts, as to one pass.
    """
    decoder = model.get_decoder()
    shared = shared_prefix_length(input_ids, attention_mask)
    if shared < MIN_SHARED_PREFIX:
        return _decoder_pass(decoder, model, layers, stop_after_last, input_ids=input_ids,
                             attention_mask=attention_mask, use_cache=False)
    from transformers import DynamicCache

    cache = DynamicCache()
    head, head_last = _decoder_pass(decoder, model, layers, stop_after_last, input_ids=input_ids[:1, :shared],
                                    past_key_values=cache, use_cache=True)
    cache.batch_repeat_interleave(input_ids.shape[0])
    mask = attention_mask if attention_mask is not None else torch.ones_like(input_ids)
    tail, tail_last = _decoder_pass(decoder, model, layers, stop_after_last, input_ids=input_ids[:, shared:],
                                    attention_mask=mask, past_key_values=cache, use_cache=True)
    rows = input_ids.shape[0]
    hidden = {layer: torch.cat([head[layer].expand(rows, -1, -1), tail[layer]], dim=1) for layer in tail}
    last = None if tail_last is None else torch.cat([head_last.expand(rows, -1, -1), tail_last], dim=1)
    return hidden, last


def gather_positions(hidden: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """``hidden[b, positions[b]]`` for each row b: [batch, seq, d] -> [batch, d]."""
    index = positions.view(-1, 1, 1).expand(-1, 1, hidden.shape[-1])
    return hidden.gather(1, index).squeeze(1)


def last_token_log_probs(model, prompt_len: torch.Tensor, input_ids: torch.Tensor,
                         attention_mask: torch.Tensor | None = None) -> torch.Tensor:
    """Next-token log-probs at each row's last prompt token: [batch, vocab] (float32, on CPU).

    Runs the decoder and unembeds only those rows (the LM head over every position costs ~20 % of a
    small model's forward). Hooks on the decoder blocks (captures, interventions) apply as usual.
    """
    return unembed_last(model, prompt_forward(model, [], input_ids, attention_mask)[1], prompt_len)


def unembed_last(model, final_hidden: torch.Tensor, prompt_len: torch.Tensor) -> torch.Tensor:
    """Log-probs [batch, vocab] (float32, CPU) at the last prompt token, from ``prompt_forward``'s final state."""
    logits = model.get_output_embeddings()(gather_positions(final_hidden, prompt_len - 1))
    return logits.float().log_softmax(-1).cpu()
