"""Direction selection (Arditi et al. 2024): which (layer, post-instruction position) r mediates refusal.

Candidates r_{l,p} = mean harmful - mean harmless block-l output at position p (offset from the last
prompt token). Each is scored on validation prompts by the *refusal score*, the log-odds of the
refusal tokens at the answer's first position, log P(refusal) - log(1 - P(refusal)):

* ablation score: harmful prompts with r_{l,p} ablated everywhere (lower = r carries refusal);
* addition score: harmless prompts with r_{l,p} added at layer l (higher = r induces refusal);
* KL(base || ablated) of the next-token distribution on harmless prompts (small = ablation is
  surgical, not destructive).

A candidate is kept if ablation lowers the harmful score, addition raises the harmless score, the KL
is under the threshold and the layer is not in the last 20 % (there r is too close to the unembedding
to be a concept rather than the next token); the kept candidate with the lowest ablation score wins.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from harness.directions import PromptBatch, prompt_batches, prompt_states
from harness.errors import UserError
from harness.hidden import last_token_log_probs
from harness.intervention import ablate_direction, add_direction
from harness.io import read_json, write_json_atomic
from harness.models import decoder_layers, format_prompt
from harness.selection_config import SelectionConfig

SELECTION_FILE = "selection.json"
VECTOR_FILE = "direction.pt"
_SENTINEL = "\x00procon-instruction\x00"


# ---------------------------------------------------------------- inputs
def post_instruction_positions(tokenizer, system_prompt: str | None = None) -> list[int]:
    """Offsets (-1, -2, ...) of the tokens the chat template puts after the user's instruction."""
    text = format_prompt(tokenizer, _SENTINEL, system_prompt)
    suffix = text.split(_SENTINEL, 1)[1]
    n = len(tokenizer(suffix, add_special_tokens=False)["input_ids"])
    return list(range(-1, -max(n, 1) - 1, -1))


def refusal_token_ids(tokenizer, tokens: list[str]) -> list[int]:
    """One id per refusal token; a string that is not a single token is refused (the score is per token)."""
    ids = []
    for token in tokens:
        encoded = tokenizer(token, add_special_tokens=False)["input_ids"]
        if len(encoded) != 1:
            raise UserError(f"direction.select.refusal_tokens: {token!r} is {len(encoded)} tokens for this "
                            f"tokenizer; expected single tokens such as 'I'")
        ids.append(encoded[0])
    return sorted(set(ids))


def prune_start(n_layers: int, fraction: float) -> int:
    """First pruned layer: int(L * (1 - fraction)) as in Arditi et al. (24 of 30 for 20 %)."""
    return int(n_layers * (1 - fraction))


# ---------------------------------------------------------------- scores
def refusal_scores(log_probs: torch.Tensor, token_ids: list[int], eps: float = 1e-8) -> torch.Tensor:
    """Per prompt log(P + eps) - log(1 - P + eps), P = summed probability of the refusal tokens."""
    p = log_probs.double()[:, token_ids].exp().sum(-1)
    return torch.log(p + eps) - torch.log(1 - p + eps)


def mean_kl(base: torch.Tensor, other: torch.Tensor) -> float:
    """Mean over prompts of KL(base || other) between next-token distributions (log-prob inputs)."""
    base, other = base.double(), other.double()
    return float((base.exp() * (base - other)).sum(-1).mean())


@dataclass
class Scorer:
    """The model and the encoded validation prompts; scores any direction with the same batches."""

    model: Any
    harmful: list[PromptBatch]
    harmless: list[PromptBatch]
    token_ids: list[int]

    def __post_init__(self) -> None:
        self.base_harmful = self.log_probs(self.harmful)
        self.base_harmless = self.log_probs(self.harmless)

    def log_probs(self, batches: list[PromptBatch]) -> torch.Tensor:
        return torch.cat([last_token_log_probs(self.model, b.prompt_len, **b.inputs()) for b in batches])

    def score(self, log_probs: torch.Tensor) -> float:
        return float(refusal_scores(log_probs, self.token_ids).mean())

    @torch.no_grad()
    def candidate(self, layer: int, vector: torch.Tensor) -> dict[str, float]:
        """Ablation score (harmful), KL under ablation (harmless), addition score at ``layer`` (harmless)."""
        with ablate_direction(self.model, vector):
            ablated_harmful = self.log_probs(self.harmful)
            ablated_harmless = self.log_probs(self.harmless)
        with add_direction(self.model, layer, vector):
            added = self.log_probs(self.harmless)
        return {"ablation_score": self.score(ablated_harmful), "addition_score": self.score(added),
                "kl": mean_kl(self.base_harmless, ablated_harmless)}


# ---------------------------------------------------------------- result
@dataclass
class CandidateScore:
    layer: int
    position: int
    ablation_score: float
    addition_score: float
    kl: float
    rejected: list[str] = field(default_factory=list)  # failed filters: ablation, addition, kl, pruned_layer

    @property
    def kept(self) -> bool:
        return not self.rejected


@dataclass
class Selection:
    """All candidate scores, the baselines and the choice (``layer``/``position`` None: nothing passed)."""

    layer: int | None
    position: int | None
    n_layers: int
    positions: list[int]
    prune_start: int
    baseline_harmful: float
    baseline_harmless: float
    refusal_tokens: list[str]
    refusal_token_ids: list[int]
    settings: dict[str, Any]
    n_prompts: dict[str, int]
    candidates: list[CandidateScore]

    @property
    def chosen(self) -> CandidateScore | None:
        return next((c for c in self.candidates if (c.layer, c.position) == (self.layer, self.position)), None)

    def kept_layers(self, position: int | None = None) -> list[int]:
        """Layers whose candidate at ``position`` (default: the chosen one) passes every filter."""
        position = self.position if position is None else position
        return sorted(c.layer for c in self.candidates if c.position == position and c.kept)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Selection:
        return cls(**{**data, "candidates": [CandidateScore(**c) for c in data["candidates"]]})

    def save(self, folder: str | Path, vector: torch.Tensor | None) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        write_json_atomic(folder / SELECTION_FILE, self.to_dict())
        tmp = folder / (VECTOR_FILE + ".tmp")
        torch.save({"vector": vector, "layer": self.layer, "position": self.position}, tmp)
        tmp.replace(folder / VECTOR_FILE)

    @classmethod
    def load(cls, folder: str | Path) -> Selection:
        path = Path(folder) / SELECTION_FILE
        if not path.is_file():
            raise UserError(f"{path}: not found; run `procon-bench directions CONFIG --select` first")
        return cls.from_dict(read_json(path))


def load_vector(folder: str | Path) -> torch.Tensor | None:
    """The chosen candidate's raw difference-in-means vector (None when nothing passed)."""
    return torch.load(Path(folder) / VECTOR_FILE, map_location="cpu", weights_only=True)["vector"]


def filter_reasons(score: dict[str, float], layer: int, baseline_harmful: float, baseline_harmless: float,
                   n_layers: int, cfg: SelectionConfig) -> list[str]:
    """Names of the filters a candidate fails (empty: kept). NaN scores fail their filter."""
    reasons = []
    if not baseline_harmful - score["ablation_score"] > cfg.ablation_min_drop:
        reasons.append("ablation")
    rise = score["addition_score"] - baseline_harmless
    if not rise > cfg.addition_min_rise or (
            cfg.addition_min_score is not None and not score["addition_score"] > cfg.addition_min_score):
        reasons.append("addition")
    if cfg.kl_threshold is not None and not score["kl"] <= cfg.kl_threshold:
        reasons.append("kl")
    if layer >= prune_start(n_layers, cfg.prune_layer_fraction):
        reasons.append("pruned_layer")
    return reasons


def choose(candidates: list[CandidateScore]) -> CandidateScore | None:
    """The kept candidate with the lowest ablation score (ties: the earlier layer, then the later position)."""
    kept = [c for c in candidates if c.kept and not math.isnan(c.ablation_score)]
    return min(kept, key=lambda c: (c.ablation_score, c.layer, -c.position), default=None)


# ---------------------------------------------------------------- the selection
def candidate_vectors(model, tokenizer, harmful: list[str], harmless: list[str], positions: list[int],
                      system_prompt: str | None, cfg: SelectionConfig, progress: bool = True) -> torch.Tensor:
    """Raw difference-in-means vectors [P, L, d] (unnormalised: activation addition adds them as they are)."""
    kw = {"system_prompt": system_prompt, "positions": tuple(positions), "batch_size": cfg.batch_size,
          "max_prompt_length": cfg.max_prompt_length}
    h = prompt_states(model, tokenizer, harmful, desc="selection: harmful" if progress else None, **kw)
    n = prompt_states(model, tokenizer, harmless, desc="selection: harmless" if progress else None, **kw)
    return h.mean(0) - n.mean(0)


@torch.no_grad()
def select_direction(model, tokenizer, harmful: list[str], harmless: list[str], harmful_val: list[str],
                     harmless_val: list[str], cfg: SelectionConfig, refusal_tokens: list[str],
                     system_prompt: str | None = None, progress: bool = True) -> tuple[Selection, torch.Tensor | None]:
    """Score every candidate, filter, choose. Returns the selection and the chosen raw vector."""
    was_training = model.training
    model.eval()
    n_layers = len(decoder_layers(model))
    positions = cfg.positions or post_instruction_positions(tokenizer, system_prompt)
    token_ids = refusal_token_ids(tokenizer, refusal_tokens)
    vectors = candidate_vectors(model, tokenizer, harmful, harmless, positions, system_prompt, cfg, progress)
    device = next(model.parameters()).device
    batches = [prompt_batches(tokenizer, prompts, system_prompt, cfg.batch_size, cfg.max_prompt_length, device)
               for prompts in (harmful_val, harmless_val)]
    scorer = Scorer(model, *batches, token_ids)
    base_h, base_n = scorer.score(scorer.base_harmful), scorer.score(scorer.base_harmless)
    grid = [(pi, p, layer) for pi, p in enumerate(positions) for layer in range(n_layers)]
    candidates = []
    for pi, p, layer in tqdm(grid, desc="selection: candidates", disable=not progress, unit="cand"):
        score = scorer.candidate(layer, vectors[pi, layer].to(device))
        reasons = filter_reasons(score, layer, base_h, base_n, n_layers, cfg)
        candidates.append(CandidateScore(layer, p, **score, rejected=reasons))
    model.train(was_training)
    best = choose(candidates)
    selection = Selection(
        layer=best.layer if best else None, position=best.position if best else None, n_layers=n_layers,
        positions=list(positions), prune_start=prune_start(n_layers, cfg.prune_layer_fraction),
        baseline_harmful=base_h, baseline_harmless=base_n, refusal_tokens=list(refusal_tokens),
        refusal_token_ids=token_ids, settings=asdict(cfg),
        n_prompts={"harmful": len(harmful), "harmless": len(harmless), "harmful_val": len(harmful_val),
                   "harmless_val": len(harmless_val)},
        candidates=candidates)
    vector = vectors[positions.index(best.position), best.layer].clone() if best else None
    return selection, vector
