"""Does r drive behaviour? Greedy generations with r ablated (harmful prompts) or added (harmless).

Arditi et al. 2024 report for chat models that ablating r makes them comply with harmful requests
and adding it makes them refuse harmless ones. This check measures both on our models with the
project's keyword judge: non-refusal rate on harmful prompts and refusal rate on harmless prompts,
each without and with the intervention. Generation uses the HF engine (hooks need the HF model);
the hooks stay active for every generated token.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch

from harness.generation.base import SamplingConfig
from harness.intervention import ablate_direction, add_direction
from harness.judges import get_judge
from harness.models import format_prompt


@dataclass
class RateShift:
    """A rate without and with the intervention, over the same n prompts."""

    n: int
    baseline: float
    intervened: float
    examples: list[dict] = field(default_factory=list)  # first few (prompt, baseline, intervened) triples


def _rate(judge, verdicts, want_refused: bool) -> float:
    """Refusal (or non-refusal) rate through the judge's own ``refusal_rate`` values: a verdict without
    a refusal label (a parse failure) is left out of n instead of counting as "not refused"."""
    from harness.evaluation import judge_metric_values

    values = [v for v in judge_metric_values(judge, "refusal_rate", verdicts) if v is not None]
    hits = sum(values) if want_refused else len(values) - sum(values)
    return hits / max(len(values), 1)


def _shift(engine, judge, prompts: list[str], texts: list[str], intervention, want_refused: bool,
           sampling: SamplingConfig, n_examples: int = 3) -> RateShift:
    base = [c.text for c in engine.generate(texts, sampling)]
    with intervention:
        moved = [c.text for c in engine.generate(texts, sampling)]
    before, after = judge.judge(prompts, base), judge.judge(prompts, moved)
    examples = [{"prompt": p, "baseline": b, "intervened": m} for p, b, m in zip(prompts, base, moved, strict=True)]
    return RateShift(len(prompts), _rate(judge, before, want_refused), _rate(judge, after, want_refused),
                     examples[:n_examples])


@torch.no_grad()
def intervention_check(engine, harmful: list[str], harmless: list[str], layer: int, vector: torch.Tensor,
                       judge_name: str, max_new_tokens: int = 24, coeff: float = 1.0,
                       system_prompt: str | None = None) -> dict:
    """Non-refusal on harmful prompts (baseline vs r ablated), refusal on harmless (baseline vs r added at ``layer``).

    ``engine`` is a ``harness.generation.hf_engine.HFEngine`` of the model (its ``.model`` gets the hooks);
    ``vector`` the raw difference in means at ``layer`` (ablation uses its direction only).
    """
    from harness.evaluation import check_judge_metric

    judge = get_judge(judge_name)
    check_judge_metric(judge, "refusal_rate", "direction.intervene.judge")  # a harm-only judge labels no refusals
    sampling = SamplingConfig(max_new_tokens=max_new_tokens)
    tok = engine.tokenizer

    def texts(prompts: list[str]) -> list[str]:
        return [format_prompt(tok, p, system_prompt) for p in prompts]

    model = engine.model
    vector = vector.to(next(model.parameters()).device)
    harmful_shift = _shift(engine, judge, harmful, texts(harmful), ablate_direction(model, vector), False, sampling)
    harmless_shift = _shift(engine, judge, harmless, texts(harmless), add_direction(model, layer, vector, coeff),
                            True, sampling)
    return {"judge": judge.id, "layer": layer, "coeff": coeff, "vector_norm": float(vector.norm()),
            "max_new_tokens": max_new_tokens,
            "harmful_non_refusal": asdict(harmful_shift), "harmless_refusal": asdict(harmless_shift)}
