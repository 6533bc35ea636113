"""Drift of the refusal geometry during fine-tuning, per layer and per saved checkpoint.

At every checkpoint t (step 0 = the start model) of a trained model:

* ``cosine``: cos(r_t, r_0) per layer, r_t re-extracted on the training model from the direction data;
* ``proj_harmful`` / ``proj_harmless``: mean projection of *held-out* harmful / harmless prompts
  (last prompt token) onto the start direction r_0, per layer;
* ``d_prime``: their gap over the pooled std (how well r_0 still separates the two classes);
* ``refusal_harmful`` / ``refusal_harmless``: mean refusal score of the held-out prompts (log-odds of
  the refusal tokens at the first answer position, as in the direction selection), one number per
  checkpoint: the behavioural side of the same geometry, read from the same forward pass;
* ``projections``: the held-out prompts' projections at every layer (kept for step 0 and the final
  step, for the before/after distribution plot).

The paper's claim is about this geometry: r drifts during IFT, sharpest early, and ProCon keeps it
in place.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from harness.directions import RefusalDirection, direction_from_states, last_prompt_states, prompt_batches
from harness.hidden import gather_positions, prompt_forward, unembed_last
from harness.models import decoder_layers
from harness.selection import refusal_scores, refusal_token_ids

# Bump when the statistics below change: part of every drift stage's key.
DRIFT_VERSION = 2
# refusal_* are per checkpoint (repeated on each layer's row) so the CSV stays one flat table
CSV_COLUMNS = ("model", "step", "layer", "cosine", "proj_harmful", "proj_harmless", "d_prime",
               "refusal_harmful", "refusal_harmless")


@dataclass
class DriftPrompts:
    """Direction data (re-extract r_t) and held-out prompts (projections on r_0)."""

    harmful: list[str]
    harmless: list[str]
    heldout_harmful: list[str]
    heldout_harmless: list[str]
    system_prompt: str | None = None
    batch_size: int = 16
    refusal_tokens: tuple[str, ...] = ("I",)  # single tokens; see SelectionConfig.tokens_for


def _d_prime(harmful: torch.Tensor, harmless: torch.Tensor) -> list[float]:
    """Per layer: (mean harmful - mean harmless) / pooled std, over [N, L] projections."""
    pooled = ((harmful.var(0, unbiased=True) + harmless.var(0, unbiased=True)) / 2).sqrt().clamp_min(1e-12)
    return ((harmful.mean(0) - harmless.mean(0)) / pooled).tolist()


def _states_and_refusal(model, tokenizer, prompts: list[str], token_ids: list[int], system_prompt: str | None,
                        batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Last-prompt-token states [N, L, d] and refusal scores [N], from one forward pass per batch."""
    layers = list(range(len(decoder_layers(model))))
    device = next(model.parameters()).device
    states, scores = [], []
    for batch in prompt_batches(tokenizer, prompts, system_prompt, batch_size, device=device):
        store, final = prompt_forward(model, layers, batch.input_ids, batch.attention_mask)
        log_probs = unembed_last(model, final, batch.prompt_len)
        last = batch.prompt_len - 1
        states.append(torch.stack([gather_positions(store[i], last).float().cpu() for i in layers], dim=1))
        scores.append(refusal_scores(log_probs, token_ids))
    return torch.cat(states), torch.cat(scores)


@torch.no_grad()
def checkpoint_stats(model, tokenizer, start: RefusalDirection, prompts: DriftPrompts,
                     keep_projections: bool = False) -> dict:
    """The drift statistics of one model state (see the module docstring)."""
    was_training = model.training
    model.eval()
    kw = {"system_prompt": prompts.system_prompt, "batch_size": prompts.batch_size}
    r_t = direction_from_states(last_prompt_states(model, tokenizer, prompts.harmful, **kw),
                                last_prompt_states(model, tokenizer, prompts.harmless, **kw))
    r0 = start.directions  # [L, d]
    token_ids = refusal_token_ids(tokenizer, list(prompts.refusal_tokens))
    states_h, refusal_h = _states_and_refusal(model, tokenizer, prompts.heldout_harmful, token_ids, **kw)
    states_l, refusal_l = _states_and_refusal(model, tokenizer, prompts.heldout_harmless, token_ids, **kw)
    model.train(was_training)
    held_h = torch.einsum("nld,ld->nl", states_h, r0)
    held_l = torch.einsum("nld,ld->nl", states_l, r0)
    stats = {
        "cosine": torch.nn.functional.cosine_similarity(r_t.directions, r0, dim=-1).tolist(),
        "proj_harmful": held_h.mean(0).tolist(),
        "proj_harmless": held_l.mean(0).tolist(),
        "d_prime": _d_prime(held_h, held_l),
        "refusal_harmful": float(refusal_h.mean()),
        "refusal_harmless": float(refusal_l.mean()),
    }
    if keep_projections:
        stats["projections"] = {"harmful": held_h.T.tolist(), "harmless": held_l.T.tolist()}  # [L][N]
    return stats


def csv_rows(model: str, curve: dict[str, dict]) -> list[dict]:
    """One row per (step, layer) of a model's drift curve."""
    rows = []
    for step, stats in sorted(curve.items(), key=lambda kv: int(kv[0])):
        for layer, cos in enumerate(stats["cosine"]):
            rows.append({"model": model, "step": int(step), "layer": layer, "cosine": cos,
                         "proj_harmful": stats["proj_harmful"][layer], "proj_harmless": stats["proj_harmless"][layer],
                         "d_prime": stats["d_prime"][layer], "refusal_harmful": stats["refusal_harmful"],
                         "refusal_harmless": stats["refusal_harmless"]})
    return rows
