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
    """Run one forward pass and return the captured hidden states (early exit when allowed)."""
    with capture_hidden(model, layers, stop_after_last=stop_after_last) as store, contextlib.suppress(_StopForward):
        model(**inputs)
    return dict(store)


def gather_positions(hidden: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """``hidden[b, positions[b]]`` for each row b: [batch, seq, d] -> [batch, d]."""
    index = positions.view(-1, 1, 1).expand(-1, 1, hidden.shape[-1])
    return hidden.gather(1, index).squeeze(1)


def last_token_log_probs(model, prompt_len: torch.Tensor, **inputs) -> torch.Tensor:
    """Next-token log-probs at each row's last prompt token: [batch, vocab] (float32, on CPU).

    Runs the decoder and unembeds only those rows (the LM head over every position costs ~20 % of a
    small model's forward). Hooks on the decoder blocks (captures, interventions) apply as usual.
    """
    hidden = model.get_decoder()(**inputs).last_hidden_state
    logits = model.get_output_embeddings()(gather_positions(hidden, prompt_len - 1))
    return logits.float().log_softmax(-1).cpu()
