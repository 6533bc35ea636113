"""Refusal direction (Arditi et al. 2024): difference in means at the last prompt token, per layer.

r_l = normalise(mean_harmful h_l - mean_harmless h_l), where h_l is the output of decoder block l at
the token before the assistant's answer. Shared by ProCon, the drift analysis and `directions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm

from harness.hidden import forward_capture, gather_positions
from harness.io import write_json_atomic
from harness.models import decoder_layers
from harness.training.examples import encode_prompt


@dataclass
class RefusalDirection:
    directions: torch.Tensor  # [L, d] unit vectors
    mean_harmful: torch.Tensor  # [L, d]
    mean_harmless: torch.Tensor  # [L, d]
    stats: list[dict]  # per-layer separation statistics

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        torch.save({"directions": self.directions, "mean_harmful": self.mean_harmful,
                    "mean_harmless": self.mean_harmless, "stats": self.stats}, tmp)
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path) -> RefusalDirection:
        data = torch.load(path, map_location="cpu", weights_only=True)
        return cls(**data)


@dataclass
class PromptBatch:
    """Chat-formatted prompts, right-padded: row b's last prompt token is at ``prompt_len[b] - 1``."""

    input_ids: torch.Tensor  # [B, W]
    attention_mask: torch.Tensor  # [B, W]
    prompt_len: torch.Tensor  # [B]

    def inputs(self) -> dict[str, torch.Tensor]:
        return {"input_ids": self.input_ids, "attention_mask": self.attention_mask}


def prompt_batches(tokenizer, prompts: list[str], system_prompt: str | None = None, batch_size: int = 16,
                   max_prompt_length: int = 256, device=None) -> list[PromptBatch]:
    """Encode once, reuse for every forward pass over the same prompts (selection runs hundreds)."""
    pad = tokenizer.pad_token_id
    batches = []
    for start in range(0, len(prompts), batch_size):
        ids = [encode_prompt(tokenizer, p, system_prompt, max_prompt_length) for p in prompts[start : start + batch_size]]
        plen = torch.tensor([len(x) for x in ids], device=device)
        width = int(plen.max())
        input_ids = torch.tensor([x + [pad] * (width - len(x)) for x in ids], device=device)
        attn = (torch.arange(width, device=device).unsqueeze(0) < plen.unsqueeze(1)).long()
        batches.append(PromptBatch(input_ids, attn, plen))
    return batches


@torch.no_grad()
def prompt_states(model, tokenizer, prompts: list[str], system_prompt: str | None = None,
                  layers: list[int] | None = None, positions: tuple[int, ...] = (-1,), batch_size: int = 16,
                  max_prompt_length: int = 256, desc: str | None = None) -> torch.Tensor:
    """Hidden states at prompt positions counted back from the last prompt token (-1, -2, ...): [N, P, L, d]."""
    layers = list(range(len(decoder_layers(model)))) if layers is None else layers
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    chunks = []
    batches = prompt_batches(tokenizer, prompts, system_prompt, batch_size, max_prompt_length, device)
    for batch in tqdm(batches, desc=desc, disable=desc is None, unit="batch"):
        hidden = forward_capture(model, layers, **batch.inputs())
        chunks.append(torch.stack([
            torch.stack([gather_positions(hidden[i], (batch.prompt_len + p).clamp_min(0)).float().cpu() for i in layers],
                        dim=1)
            for p in positions], dim=1))
    model.train(was_training)
    return torch.cat(chunks)


def last_prompt_states(model, tokenizer, prompts: list[str], system_prompt: str | None = None,
                       layers: list[int] | None = None, batch_size: int = 16, max_prompt_length: int = 256,
                       desc: str | None = None) -> torch.Tensor:
    """Hidden states at the last prompt token: [N, L, d] (float32, on CPU)."""
    return prompt_states(model, tokenizer, prompts, system_prompt, layers, (-1,), batch_size, max_prompt_length,
                         desc)[:, 0]


def separation_stats(harmful: torch.Tensor, harmless: torch.Tensor, directions: torch.Tensor) -> list[dict]:
    """Per layer: mean projections of each class onto r, their pooled std, and d' = gap / std."""
    stats = []
    for layer in range(directions.shape[0]):
        ph = harmful[:, layer] @ directions[layer]
        pl = harmless[:, layer] @ directions[layer]
        pooled = torch.sqrt((ph.var(unbiased=True) + pl.var(unbiased=True)) / 2).item() if len(ph) > 1 else float("nan")
        gap = (ph.mean() - pl.mean()).item()
        stats.append({
            "layer": layer,
            "proj_harmful_mean": ph.mean().item(),
            "proj_harmless_mean": pl.mean().item(),
            "pooled_std": pooled,
            "separation": gap / pooled if pooled and pooled == pooled else float("nan"),
            "mean_diff_norm": (harmful[:, layer].mean(0) - harmless[:, layer].mean(0)).norm().item(),
        })
    return stats


def direction_from_states(harmful: torch.Tensor, harmless: torch.Tensor) -> RefusalDirection:
    mean_h, mean_l = harmful.mean(0), harmless.mean(0)
    diff = mean_h - mean_l
    directions = diff / diff.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return RefusalDirection(directions, mean_h, mean_l, separation_stats(harmful, harmless, directions))


def compute_direction(model, tokenizer, harmful: list[str], harmless: list[str], system_prompt: str | None = None,
                      batch_size: int = 16, progress: bool = True) -> RefusalDirection:
    kw = {"system_prompt": system_prompt, "batch_size": batch_size}
    h = last_prompt_states(model, tokenizer, harmful, desc="direction: harmful" if progress else None, **kw)
    n = last_prompt_states(model, tokenizer, harmless, desc="direction: harmless" if progress else None, **kw)
    return direction_from_states(h, n)


def drift(current: RefusalDirection, start: RefusalDirection) -> list[float]:
    """Per-layer cosine between r at some training step and r of the starting model (1 = no drift)."""
    return torch.nn.functional.cosine_similarity(current.directions, start.directions, dim=-1).tolist()


def write_direction_report(direction: RefusalDirection, folder: str | Path, extra: dict | None = None) -> None:
    folder = Path(folder)
    direction.save(folder / "direction.pt")
    write_json_atomic(folder / "direction_stats.json", {"layers": direction.stats, **(extra or {})})
