"""Reference statistics of the start model on the training responses: computed once, shared by defenses.

``response_reference(ctx, indices, top_k)`` runs the *start* model (PEFT adapters disabled; in a
full fine-tuning run ``prepare`` sees the weights before the first step) over ``ctx.examples`` in
batches, in eval mode, under the training pass's autocast (``ctx.autocast``), and keeps, for every
response position t of every asked-for example -- the next-token distribution that predicts
response token t, i.e. the logits row before it:

    token_logprobs [N, R]       log pi_ref(y_t | x, y_<t)
    topk_ids / topk_logprobs [N, R, k]   (top_k > 0) the k most likely tokens and their log-probs
    rest_logprob [N, R]         log of the remaining mass 1 - sum_topk p (exact: a logsumexp)

Row n is ``Example.index`` n; R is the longest response; ``lengths[n]`` says how many positions of
row n are filled (0 for examples not asked for). Memory: N * R * (4 + 8k) bytes, on CPU; a batch's
rows move to the training device when a loss reads them. No second model is kept.

``response_mask(batch)`` selects, in a training batch's ``logits[:, :-1]``, the same positions in the
same (row-major) order as ``ResponseReference.rows`` returns them, so the two line up one to one.

With ``cache_dir`` the statistics are saved there (keyed by the examples, top_k, the start model's
path, dtype and device, and the autocast) and reused by a resumed job. Defenses pass
``reference_cache_dir(ctx)``, the run folder's ``checkpoints/reference``: resume state, like the
checkpoints, not a result to commit.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass, fields
from pathlib import Path

import torch

from defenses.base import DefenseContext


@dataclass
class ResponseReference:
    lengths: torch.Tensor  # [N] int64
    token_logprobs: torch.Tensor  # [N, R] float32
    topk_ids: torch.Tensor | None = None  # [N, R, k] int32
    topk_logprobs: torch.Tensor | None = None  # [N, R, k] float32
    rest_logprob: torch.Tensor | None = None  # [N, R] float32

    @property
    def top_k(self) -> int:
        return 0 if self.topk_ids is None else self.topk_ids.shape[-1]

    def rows(self, sample_index: torch.Tensor, counts: torch.Tensor, device=None) -> dict[str, torch.Tensor]:
        """The batch's reference values, flattened like ``logits[:, :-1][response_mask(batch)]``.

        ``counts`` [B]: response positions per batch row (``response_mask(batch).sum(1)``); it must
        equal the stored lengths, or the batch and the reference describe different sequences.
        """
        idx = sample_index.cpu()
        counts = counts.cpu()
        if not torch.equal(self.lengths[idx], counts):
            raise ValueError(f"reference lengths {self.lengths[idx].tolist()} != batch response lengths "
                             f"{counts.tolist()} for samples {idx.tolist()}: the reference was not computed for "
                             "these samples, or they changed after prepare")
        width = int(counts.max()) if len(counts) else 0
        keep = torch.arange(width).unsqueeze(0) < counts.unsqueeze(1)  # [B, width], row-major like the mask
        out = {}
        for f in ("token_logprobs", "topk_ids", "topk_logprobs", "rest_logprob"):
            value = getattr(self, f)
            if value is not None:
                out[f] = value[idx, :width][keep].to(device)
        if "topk_ids" in out:
            out["topk_ids"] = out["topk_ids"].long()
        return out

    def to_dict(self) -> dict[str, torch.Tensor | None]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def response_mask(batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """[B, W-1] bool over ``logits[:, :-1]``: row i predicts token i+1; True where token i+1 is a
    response token (prompt_len <= i+1 < sequence length; right padding excluded)."""
    width = batch["input_ids"].shape[1]
    seq_len = batch["attention_mask"].sum(1) if "attention_mask" in batch else torch.full_like(batch["prompt_len"], width)
    i = torch.arange(width - 1, device=batch["input_ids"].device).unsqueeze(0)
    return (i >= batch["prompt_len"].unsqueeze(1) - 1) & (i < seq_len.unsqueeze(1) - 1)


def response_positions(mask: torch.Tensor) -> torch.Tensor:
    """0-based response position t of each selected entry of ``mask`` (flattened like the mask)."""
    return (mask.long().cumsum(1) - 1)[mask]


def reference_cache_dir(ctx: DefenseContext) -> Path:
    """Where a training job caches its reference statistics (next to its resume checkpoints)."""
    return Path(ctx.run_dir) / "checkpoints" / "reference"


def _autocast_label(ctx: DefenseContext) -> str:
    manager = ctx.autocast()
    dtype = getattr(manager, "fast_dtype", None)
    return f"{getattr(manager, 'device', '')}:{dtype}" if dtype is not None else "none"


def _cache_key(ctx: DefenseContext, examples: list, top_k: int) -> str:
    param = next(ctx.model.parameters())
    digest = hashlib.sha256(json.dumps({
        "examples": [[e.index, e.prompt_len, e.input_ids] for e in examples], "top_k": top_k,
        "model": str(ctx.base_model_path), "dtype": str(param.dtype), "device": param.device.type,
        "autocast": _autocast_label(ctx)}).encode())
    return digest.hexdigest()[:16]


@torch.no_grad()
def response_reference(ctx: DefenseContext, indices: list[int] | None = None, top_k: int = 0,
                       batch_size: int = 16, cache_dir: str | Path | None = None) -> ResponseReference:
    """Start-model statistics on the responses of ``ctx.examples`` (``indices``: which; None = all).

    ``top_k`` is capped at vocab - 1, so the remaining-mass bucket is never empty.
    """
    examples = sorted(ctx.examples, key=lambda e: e.index)
    if [e.index for e in examples] != list(range(len(examples))):
        raise ValueError("training examples must be indexed 0..N-1")
    wanted = [examples[i] for i in (sorted(set(indices)) if indices is not None else range(len(examples)))]
    model = ctx.model
    vocab = model.get_output_embeddings().weight.shape[0]
    top_k = min(top_k, vocab - 1)
    cache = None
    if cache_dir is not None:
        cache = Path(cache_dir) / f"response-reference-{_cache_key(ctx, wanted, top_k)}.pt"
        if cache.is_file():
            return ResponseReference(**torch.load(cache, map_location="cpu", weights_only=True))
    n, width = len(examples), max((len(e.input_ids) - e.prompt_len for e in wanted), default=0)
    ref = ResponseReference(lengths=torch.zeros(n, dtype=torch.long), token_logprobs=torch.zeros(n, width))
    if top_k > 0:
        ref.topk_ids = torch.zeros(n, width, top_k, dtype=torch.int32)
        ref.topk_logprobs = torch.zeros(n, width, top_k)
        ref.rest_logprob = torch.zeros(n, width)
    device = next(model.parameters()).device
    pad = ctx.tokenizer.pad_token_id
    was_training = model.training
    model.eval()
    disable = model.disable_adapter() if hasattr(model, "disable_adapter") else contextlib.nullcontext()
    with disable:
        for start in range(0, len(wanted), batch_size):
            chunk = wanted[start : start + batch_size]
            w = max(len(e.input_ids) for e in chunk)
            ids = torch.tensor([e.input_ids + [pad] * (w - len(e.input_ids)) for e in chunk], device=device)
            attn = torch.tensor([[1] * len(e.input_ids) + [0] * (w - len(e.input_ids)) for e in chunk], device=device)
            with ctx.autocast():  # the training forward's numerics: step 0 sees a zero difference
                logits = model(input_ids=ids, attention_mask=attn, use_cache=False).logits
            for b, e in enumerate(chunk):
                p, length = e.prompt_len, len(e.input_ids)
                if length <= p:
                    continue
                logp = logits[b, p - 1 : length - 1].float().log_softmax(-1)  # [r, V]
                r = length - p
                ref.lengths[e.index] = r
                ref.token_logprobs[e.index, :r] = logp.gather(-1, ids[b, p:length, None]).squeeze(-1).cpu()
                if top_k > 0:
                    values, top = logp.topk(top_k, dim=-1)
                    ref.topk_ids[e.index, :r] = top.int().cpu()
                    ref.topk_logprobs[e.index, :r] = values.cpu()
                    ref.rest_logprob[e.index, :r] = logp.scatter(-1, top, float("-inf")).logsumexp(-1).cpu()
    model.train(was_training)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".tmp{os.getpid()}")
        torch.save(ref.to_dict(), tmp)
        tmp.replace(cache)
    return ref


__all__ = ["ResponseReference", "reference_cache_dir", "response_mask", "response_positions",
           "response_reference"]
