"""The response-only LM loss equals the model's own loss (value and gradients) at a fraction of the
LM head's work; defenses that read the logits still get them in full."""

from __future__ import annotations

import pytest
import torch

from defenses.base import Defense
from harness.config import LoraConfig, TrainConfig
from harness.models import load_model, load_tokenizer
from harness.records import Record
from harness.training.engine import train
from harness.training.examples import Collator, encode_example
from harness.training.lm_loss import predicting_positions, response_lm_loss


def _batch(tok, n: int = 4) -> dict[str, torch.Tensor]:
    recs = [Record(f"r{i}", "Reverse the words " + "cat dog " * (i + 1), "dog cat " * (n - i)) for i in range(n)]
    feats = [encode_example(tok, r, i, None, 128, 100).to_features() for i, r in enumerate(recs)]
    batch = Collator(tok.pad_token_id)(feats)
    return {k: batch[k] for k in ("input_ids", "attention_mask", "labels")}


def test_predicting_positions_are_the_tokens_before_each_label():
    labels = torch.tensor([[-100, -100, 5, 6, -100], [-100, 7, 8, 9, 3]])
    assert predicting_positions(labels).tolist() == [[False, True, True, False, False],
                                                     [True, True, True, True, False]]


@pytest.mark.parametrize("lora", [False, True])
def test_response_loss_equals_the_models_loss_and_gradients(tiny_model_path, lora):
    tok = load_tokenizer(tiny_model_path)
    torch.manual_seed(0)
    model = load_model(tiny_model_path)
    if lora:
        from peft import LoraConfig as PeftLora
        from peft import get_peft_model

        model = get_peft_model(model, PeftLora(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                               init_lora_weights=False))
    batch = _batch(tok)
    params = [p for p in model.parameters() if p.requires_grad]
    full = model(**batch).loss
    want = torch.autograd.grad(full, params)
    loss, outputs = response_lm_loss(model, batch)
    got = torch.autograd.grad(loss, params)
    n_labels = int((batch["labels"][:, 1:] != -100).sum())
    assert outputs.logits.shape == (n_labels, model.config.vocab_size)  # only the predicting rows
    assert n_labels < batch["labels"].numel() / 2  # the prompt and padding were skipped
    torch.testing.assert_close(loss, full, rtol=1e-5, atol=1e-6)
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-6)
    # the hook is gone: the next forward unembeds every position again
    assert model(input_ids=batch["input_ids"]).logits.shape[:2] == batch["input_ids"].shape


def test_a_batch_without_response_tokens_gives_zero_not_nan(tiny_model_path):
    tok, model = load_tokenizer(tiny_model_path), load_model(tiny_model_path)
    batch = _batch(tok, 2)
    batch["labels"] = torch.full_like(batch["labels"], -100)
    loss, _ = response_lm_loss(model, batch)
    assert loss.item() == 0.0 and loss.requires_grad


class _LogitsProbe(Defense):
    name = "logits_probe"

    def __init__(self, needs: bool) -> None:
        super().__init__()
        self.needs_logits = needs
        self.seen: list[tuple[int, ...] | None] = []

    def loss(self, ctx, batch, hidden):
        self.seen.append(tuple(batch["logits"].shape) if "logits" in batch else None)
        return None, {}


@pytest.mark.parametrize("needs", [False, True])
def test_the_engine_gives_full_logits_only_to_a_defense_that_reads_them(tiny_model_path, tmp_path, needs):
    recs = [Record(f"r{i}", f"Repeat: {i} apples", f"{i} apples") for i in range(8)]
    cfg = TrainConfig(steps=2, batch_size=4, learning_rate=1e-3, save_steps=10, lora=LoraConfig(r=4, alpha=8))
    probe = _LogitsProbe(needs)
    train(tiny_model_path, cfg, probe, recs, tmp_path / "out", progress=False)
    assert len(probe.seen) == 2
    if needs:
        assert all(len(shape) == 3 and shape[0] == 4 for shape in probe.seen)  # [B, W, V]
    else:
        assert probe.seen == [None, None]
