"""KL anchor: keep the fine-tuned model's next-token distributions close to the start model's.

    L = L_LM + beta * mean_{(s, t)} KL( pi_ref(. | x_s, y_s,<t) || pi_theta(. | x_s, y_s,<t) )

over the response positions t of the batch's samples chosen by ``samples`` (``task``: the training
data's own responses; ``safety``: the refusals of safety samples mixed in by ``defenses/safety_mix.py``;
``all``). The simple regularisation baseline (the KL penalty of RLHF, applied during SFT); no single
paper. KL(ref || theta) is the forward direction: the fine-tuned model pays wherever the start model
puts mass that it drops.

The start model is not kept. ``prepare`` runs it once (adapters disabled, ``defenses/reference.py``)
and stores, per response position, its top-``top_k`` tokens with their log-probs and the log of the
remaining mass. The loss is the KL between the two distributions coarsened to those k tokens plus one
"rest" bucket:

    KL_k = sum_{i in topk} p_i (log p_i - log q_i) + p_rest (log p_rest - log q_rest),
    q_rest = sum_{j not in topk} q_j   (exact, a logsumexp of the current logits)

KL_k is 0 exactly when the model has not moved, and KL_k <= KL (coarsening never increases a KL, the
gap being p_rest * KL(p | rest || q | rest)); with top_k >= vocab - 1 it is the full KL. Its gradient
with respect to the logits is q - p~, where p~ is p on the top k and spreads p_rest over the rest in
proportion to q. The mean remaining mass of the reference (``ref_rest_mass`` in the training state)
says how much the approximation leaves out.

Why beta = 1 by default: for one position, CE(y) + beta * KL(p || q) is minimised by
q = (onehot(y) + beta * p) / (1 + beta). With beta <= 1 the task token y keeps the argmax whatever p
is (1 + beta p_y >= beta p_max), so greedy decoding can still learn the task while at most half the
mass stays shaped like the start model; beta = 1 is the strongest anchor with that guarantee.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from defenses import register_defense
from defenses.base import Defense, DefenseContext
from defenses.reference import reference_cache_dir, response_mask, response_reference
from defenses.safety_mix import SAFETY_KINDS, SafetyMixParams, add_safety_examples, check_safety_data
from harness.errors import UserError


@dataclass
class KLAnchorParams:
    beta: float = 1.0  # weight of the mean per-token KL (see the module doc for why 1)
    # Whose response tokens are anchored: task (the training data), safety (mixed-in safety samples),
    # all. Not named `on`: YAML 1.1 reads a bare `on:` key as the boolean true.
    samples: Literal["task", "safety", "all"] = "task"
    top_k: int = 32  # reference tokens kept per position (+ one bucket for the rest); capped at vocab - 1
    safety: SafetyMixParams | None = None  # safety samples mixed into every batch (needed for samples: safety)
    reference_batch_size: int = 16

    def __post_init__(self) -> None:
        if self.beta < 0:
            raise UserError(f"beta: expected >= 0, got {self.beta!r}")
        if self.top_k < 1:
            raise UserError(f"top_k: expected an integer >= 1, got {self.top_k!r}")
        if self.samples in ("safety", "all") and self.safety is None:
            raise UserError(f"samples: {self.samples} needs safety samples (set `safety:`, e.g. safety: {{}})")
        if self.reference_batch_size <= 0:
            raise UserError(f"reference_batch_size: expected a positive integer, got {self.reference_batch_size!r}")


def bucket_kl(logq: torch.Tensor, ref_ids: torch.Tensor, ref_logp: torch.Tensor,
              ref_rest: torch.Tensor) -> torch.Tensor:
    """KL(p || q) per row over the reference's top-k tokens plus one bucket for the rest: [n].

    logq [n, V] log-probs of the model; ref_ids [n, k] (int64), ref_logp [n, k], ref_rest [n] the
    reference's top-k tokens, their log-probs and the log of its remaining mass.
    """
    q_top = logq.gather(-1, ref_ids)
    q_rest = logq.scatter(-1, ref_ids, float("-inf")).logsumexp(-1)
    return (ref_logp.exp() * (ref_logp - q_top)).sum(-1) + ref_rest.exp() * (ref_rest - q_rest)


@register_defense
class KLAnchor(Defense):
    name = "kl_anchor"
    Params = KLAnchorParams
    needs_logits = True

    def check(self) -> None:
        if self.params.safety is not None:
            check_safety_data(self.params.safety, f"defenses.{self.name}.params.safety")

    def prepare(self, ctx: DefenseContext) -> None:
        p = self.params
        if p.safety is not None:
            add_safety_examples(ctx, p.safety, f"defenses.{self.name}.params.safety")
        examples = sorted(ctx.examples, key=lambda e: e.index)
        is_safety = torch.tensor([e.kind in SAFETY_KINDS for e in examples], dtype=torch.bool)
        self.anchored = {"task": ~is_safety, "safety": is_safety, "all": torch.ones_like(is_safety)}[p.samples]
        indices = self.anchored.nonzero().flatten().tolist()
        self.reference = response_reference(ctx, indices, p.top_k, p.reference_batch_size,
                                            cache_dir=reference_cache_dir(ctx))
        lengths = self.reference.lengths
        valid = torch.arange(self.reference.token_logprobs.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
        rest = self.reference.rest_logprob.exp()[valid]
        ctx.state[self.name] = {"anchored_samples": len(indices), "anchored_tokens": int(lengths.sum()),
                                "top_k": self.reference.top_k,
                                "ref_rest_mass": float(rest.mean()) if rest.numel() else 0.0}

    def loss(self, ctx: DefenseContext, batch, hidden):
        logits = batch["logits"]
        mask = response_mask(batch) & self.anchored.to(logits.device)[batch["sample_index"]].unsqueeze(1)
        counts = mask.sum(1)
        if int(counts.sum()) == 0:  # no anchored sample in this batch
            return None, {"kl": 0.0, "kl_tokens": 0.0}
        ref = self.reference.rows(batch["sample_index"], counts, logits.device)
        logq = logits[:, :-1][mask].float().log_softmax(-1)  # [n, V]
        kl = bucket_kl(logq, ref["topk_ids"], ref["topk_logprobs"], ref["rest_logprob"]).mean()
        return self.params.beta * kl, {"kl": float(kl.detach()), "kl_tokens": float(counts.sum())}
