"""The LM loss of a training batch with the LM head applied to the response positions only.

The loss reads the logits only where a label follows (row i predicts token i + 1). Unembedding every
position costs the vocabulary-wide matmul and softmax on the prompt and padding too: on SmolLM2
(49k vocabulary, ~26 % response tokens on ``string-ops``) that is ~14 % of a LoRA training step
(measured in ``perf/training.py``). The value is the one ``model(**inputs, labels=...).loss`` gives: the mean
token cross-entropy over the same positions, in float32.

The selection happens in a forward pre-hook on the output embedding, so the model is still called
as a whole: data-parallel wrappers, PEFT and the defense's hidden-state hooks see an ordinary forward.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.nn.functional as F

from harness.models import unwrap_model
from harness.training.examples import IGNORE_INDEX


def predicting_positions(labels: torch.Tensor) -> torch.Tensor:
    """[B, W] bool: True at position i when token i + 1 carries a label (the last column is False)."""
    mask = torch.zeros_like(labels, dtype=torch.bool)
    mask[:, :-1] = labels[:, 1:] != IGNORE_INDEX
    return mask


@contextlib.contextmanager
def unembed_only(model, mask: torch.Tensor) -> Iterator[None]:
    """During the next forward, the LM head sees ``hidden[mask]`` ([N, d]) instead of [B, W, d]."""
    head = unwrap_model(model).get_output_embeddings()
    if head is None:
        raise RuntimeError("response-only LM loss: the model has no output embedding (LM head)")

    def select(_module, args):
        return (args[0][mask.to(args[0].device)], *args[1:])

    handle = head.register_forward_pre_hook(select)
    try:
        yield
    finally:
        handle.remove()


def response_lm_loss(model, inputs: dict[str, torch.Tensor]):
    """(loss, outputs) of one forward over ``inputs`` (``input_ids``, ``attention_mask``, ``labels``);
    ``outputs.logits`` holds the [N, V] response-position logits, in ``labels``' row-major order."""
    labels = inputs["labels"]
    mask = predicting_positions(labels)
    model_inputs = {k: v for k, v in inputs.items() if k != "labels"}
    with unembed_only(model, mask):
        outputs = model(**model_inputs)
    logits = outputs.logits
    if logits.dim() != 2 or logits.shape[0] != int(mask.sum()):
        raise RuntimeError(f"response-only LM loss: the LM head returned logits of shape {tuple(logits.shape)}, "
                           f"expected [{int(mask.sum())}, vocab] (an LM head that reshapes its input is not supported)")
    targets = labels[:, 1:][mask[:, :-1]].to(logits.device)
    if targets.numel() == 0:  # no response token in the batch: no LM signal (not a NaN)
        return logits.sum() * 0.0, outputs
    return F.cross_entropy(logits.float(), targets), outputs
