"""Token-wise constrained SFT (Qi et al. 2024, "Safety Alignment Should Be Made More Than Just a Few
Tokens Deep", Section 4, Eq. 3): replaces the LM loss.

The paper's objective, for a response y to prompt x, against the frozen aligned start model pi_ref:

    min_theta  E_(x,y) [ - sum_t (2 / beta_t) log sigmoid( beta_t * z_t ) ],
    z_t = log pi_theta(y_t | x, y_<t) - log pi_ref(y_t | x, y_<t)

We minimise, averaged over the batch's response tokens (the paper's released code averages the
per-token terms over all tokens of the batch, as the LM loss does):

    L = mean_t (2 / beta_t) * ( softplus(-beta_t z_t) - log 2 )

which is the paper's term minus the constant (2 / beta_t) log 2: the same gradient, and L = 0 when the
model has not moved (z = 0). Limits:
* beta_t -> 0: softplus(-b z) = log 2 - b z / 2 + O(b^2), so the term -> -z_t = CE_t - CE_ref,t: plain
  SFT cross-entropy (plus a constant), with its gradient.
* beta_t large: the gradient is the SFT gradient weighted by w_t = 2 sigmoid(-beta_t z_t) in (0, 2): 1 at
  z = 0, -> 0 once pi_theta(y_t) exceeds pi_ref(y_t) by more than ~1/beta_t nats (the token's
  probability cannot be pushed much above the aligned model's), -> 2 below it. So large beta_t keeps
  pi_theta near pi_ref on the tokens fine-tuning tries to raise; as beta_t -> inf the term tends to
  2 * max(log pi_ref - log pi_theta, 0).
(The released code applies this gradient as CE * w_t.detach() with w_t clamped at >= 1e-3; we use the
exact objective, whose weight can go below that floor once pi_theta exceeds pi_ref by > 7.6 / beta_t nats.)

beta_t per response position (t = 1 the first response token): the paper's fine-tuning-attack setting
is beta_1 = 0.5, beta_t = 2 for 2 <= t <= 5, beta_t = 0.1 for t > 5 (``betas`` lists beta_1..beta_m,
``beta_after`` is every later one). The first token gets a weaker beta than tokens 2-5 because its
initial loss tends to be high and the sigmoid would saturate fast (the authors' code comment).

log pi_ref(y_t) of every training response is computed once in ``prepare`` (start model, adapters
disabled, ``defenses/reference.py``); no second model is kept. Positions whose label is -100 are not
trained on (as in the LM loss).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from defenses import register_defense
from defenses.base import Defense, DefenseContext
from defenses.reference import reference_cache_dir, response_mask, response_positions, response_reference
from harness.errors import UserError
from harness.training.examples import IGNORE_INDEX


@dataclass
class ConstrainedSFTParams:
    # beta_1..beta_m for the first m response tokens (the paper: 0.5 for the first, 2 for tokens 2-5) ...
    betas: list[float] = field(default_factory=lambda: [0.5, 2.0, 2.0, 2.0, 2.0])
    beta_after: float = 0.1  # ... and beta_t for every later token (the paper: 0.1)
    reference_batch_size: int = 16

    def __post_init__(self) -> None:
        if any(b <= 0 for b in self.betas) or self.beta_after <= 0:
            raise UserError(f"betas / beta_after: expected every beta > 0, got {self.betas!r} / {self.beta_after!r}")
        if self.reference_batch_size <= 0:
            raise UserError(f"reference_batch_size: expected a positive integer, got {self.reference_batch_size!r}")


def position_betas(positions: torch.Tensor, betas: list[float], beta_after: float) -> torch.Tensor:
    """beta_t for 0-based response positions (position 0 = the paper's t = 1)."""
    table = torch.tensor(list(betas) + [beta_after], dtype=torch.float32, device=positions.device)
    return table[positions.clamp(max=len(betas))]


def constrained_token_loss(logp: torch.Tensor, ref_logp: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """(2 / beta) (softplus(-beta z) - log 2), z = logp - ref_logp: the paper's per-token term minus a constant."""
    z = logp - ref_logp
    return (2.0 / beta) * (F.softplus(-beta * z) - math.log(2.0))


@register_defense
class ConstrainedSFT(Defense):
    name = "constrained_sft"
    Params = ConstrainedSFTParams
    replaces_lm_loss = True
    needs_logits = True

    def prepare(self, ctx: DefenseContext) -> None:
        self.reference = response_reference(ctx, None, 0, self.params.reference_batch_size,
                                            cache_dir=reference_cache_dir(ctx))
        ctx.state[self.name] = {"reference_tokens": int(self.reference.lengths.sum()),
                                "betas": list(self.params.betas), "beta_after": self.params.beta_after}

    def loss(self, ctx: DefenseContext, batch, hidden):
        p = self.params
        logits = batch["logits"]
        mask = response_mask(batch)
        ref = self.reference.rows(batch["sample_index"], mask.sum(1), logits.device)
        trained = batch["labels"][:, 1:][mask] != IGNORE_INDEX  # [n]
        targets = batch["input_ids"][:, 1:][mask]
        logp = logits[:, :-1][mask].float().log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        beta = position_betas(response_positions(mask), p.betas, p.beta_after)
        terms = constrained_token_loss(logp, ref["token_logprobs"], beta)[trained]
        if terms.numel() == 0:
            return logits.sum() * 0.0, {"constrained_tokens": 0.0}
        z = (logp - ref["token_logprobs"]).detach()[trained]
        weight = 2 * torch.sigmoid(-beta[trained] * z)  # the gradient's weight on the SFT gradient
        return terms.mean(), {"log_ratio": float(z.mean()), "sft_weight": float(weight.mean()),
                              "constrained_tokens": float(terms.numel())}
