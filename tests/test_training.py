"""The training engine: masking, LoRA/full fine-tuning, hooks, logs, checkpoints and resume."""

from __future__ import annotations

import pytest
import torch

from defenses import build_defense
from defenses.base import Defense
from harness.config import LoraConfig, TrainConfig
from harness.hidden import capture_hidden, forward_capture
from harness.models import format_prompt, load_model, load_tokenizer
from harness.records import Record
from harness.training.engine import mix_harmful, train
from harness.training.examples import IGNORE_INDEX, Collator, encode_example
from harness.training.trainer import read_train_log


def records(n: int = 16) -> list[Record]:
    return [Record(f"r{i}", f"Reverse the order of these words: cat dog {i}", f"Sure: {i} dog cat") for i in range(n)]


def test_labels_mask_prompt_tokens(tiny_model_path):
    tok = load_tokenizer(tiny_model_path)
    rec = Record("a", "Say hi", "hi there")
    ex = encode_example(tok, rec, 0, None, 128, 100)
    prompt_ids = tok(format_prompt(tok, "Say hi"), add_special_tokens=False)["input_ids"]
    assert ex.prompt_len == len(prompt_ids)
    assert ex.input_ids[: ex.prompt_len] == prompt_ids
    assert all(label == IGNORE_INDEX for label in ex.labels[: ex.prompt_len])
    assert ex.labels[ex.prompt_len :] == ex.input_ids[ex.prompt_len :]
    assert tok.decode(ex.input_ids[ex.prompt_len :]) == "hi there" + tok.eos_token
    batch = Collator(tok.pad_token_id)([ex.to_features(), encode_example(tok, Record("b", "x", "y"), 1, None, 128, 100).to_features()])
    assert batch["input_ids"].shape == batch["labels"].shape == batch["attention_mask"].shape
    assert batch["sample_index"].tolist() == [0, 1]


def test_capture_hidden_matches_output_hidden_states(tiny_model_path):
    model, tok = load_model(tiny_model_path).eval(), load_tokenizer(tiny_model_path)
    ids = tok(["hello world, how are you"], return_tensors="pt")["input_ids"]
    with torch.no_grad():
        full = model(ids, output_hidden_states=True).hidden_states
        with capture_hidden(model, [0]) as store:
            model(ids)
        early = forward_capture(model, [1], input_ids=ids)
    assert set(store) == {0}
    torch.testing.assert_close(store[0], full[1])
    assert set(early) == {1} and early[1].shape == full[2].shape


def test_capture_hidden_without_layers_does_not_inspect_the_model():
    with capture_hidden(torch.nn.Linear(2, 2), []) as hidden:  # no decoder layers to find: vanilla needs none
        pass
    assert hidden == {}


class RecordingDefense(Defense):
    """Counts hook calls and adds a tiny loss on layer 0 to prove hidden states arrive."""

    name = "recording"

    def __init__(self):
        super().__init__()
        self.calls = {"prepare": 0, "loss": 0, "on_step": 0, "finalize": 0}
        self.seen_layers = set()

    @property
    def layers(self):
        return [0]

    def prepare(self, ctx):
        self.calls["prepare"] += 1
        assert ctx.total_steps == 3 and len(ctx.examples) == 16

    def loss(self, ctx, batch, hidden):
        self.calls["loss"] += 1
        self.seen_layers |= set(hidden)
        assert "sample_index" in batch and "prompt_len" in batch
        return hidden[0].pow(2).mean() * 1e-3, {"probe": 1.0}

    def on_step(self, ctx, step):
        self.calls["on_step"] += 1

    def finalize(self, ctx):
        self.calls["finalize"] += 1


def test_engine_calls_every_hook_and_logs(tiny_model_path, tmp_path):
    defense = RecordingDefense()
    cfg = TrainConfig(steps=3, batch_size=4, save_steps=10, lora=LoraConfig(r=4, alpha=8))
    result = train(tiny_model_path, cfg, defense, records(), tmp_path / "run", progress=False)
    assert defense.calls == {"prepare": 1, "loss": 3, "on_step": 3, "finalize": 1}
    assert defense.seen_layers == {0}
    assert (result.output / "adapter_config.json").exists()
    log = read_train_log(tmp_path / "run" / "train_log.jsonl")
    assert [row["step"] for row in log] == [1, 2, 3]
    assert all({"lm_loss", "defense_loss", "probe", "learning_rate", "step_time"} <= set(row) for row in log)
    # a finished job is not redone
    again = train(tiny_model_path, cfg, defense, records(), tmp_path / "run", progress=False)
    assert again.resumed_from == "finished" and defense.calls["prepare"] == 1


def test_lora_changes_only_adapter_and_lowers_loss(tiny_model_path, tmp_path):
    cfg = TrainConfig(steps=12, batch_size=8, learning_rate=3e-3, save_steps=100, lora=LoraConfig(r=8, alpha=16))
    train(tiny_model_path, cfg, build_defense("vanilla"), records(), tmp_path / "v", progress=False)
    log = read_train_log(tmp_path / "v" / "train_log.jsonl")
    assert log[-1]["lm_loss"] < log[0]["lm_loss"] - 0.5
    from safetensors.torch import load_file

    weights = load_file(tmp_path / "v" / "adapter" / "adapter_model.safetensors")
    assert weights and all("lora_" in k for k in weights)


def test_full_finetuning_saves_model(tiny_model_path, tmp_path):
    cfg = TrainConfig(steps=2, batch_size=4, save_steps=100, lora=None)
    result = train(tiny_model_path, cfg, build_defense("vanilla"), records(8), tmp_path / "f", progress=False)
    assert not result.is_adapter and (result.output / "config.json").exists()
    before, after = load_model(tiny_model_path), load_model(result.output)
    assert not torch.equal(before.model.layers[0].mlp.up_proj.weight, after.model.layers[0].mlp.up_proj.weight)


class KilledAt(Exception):
    pass


class VanillaKilledAt(Defense):
    """Vanilla IFT whose process "dies" when step ``step`` begins (after the earlier checkpoints)."""

    name = "vanilla"

    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_step(self, ctx, step):
        if step == self.step:
            raise KilledAt(step)


def test_resume_after_kill(tiny_model_path, tmp_path):
    cfg = TrainConfig(steps=4, batch_size=4, save_steps=2, lora=LoraConfig(r=4, alpha=8))
    train(tiny_model_path, cfg, build_defense("vanilla"), records(), tmp_path / "full", progress=False)
    uninterrupted = read_train_log(tmp_path / "full" / "train_log.jsonl")
    out = tmp_path / "k"
    with pytest.raises(KilledAt):  # dies during step 4: checkpoint-2 is the newest, step 3 was logged
        train(tiny_model_path, cfg, VanillaKilledAt(3), records(), out, progress=False)
    assert not (out / "adapter").exists() and not (out / "checkpoints" / "checkpoint-4").exists()
    result = train(tiny_model_path, cfg, build_defense("vanilla"), records(), out, progress=False)
    assert result.resumed_from and result.resumed_from.endswith("checkpoint-2")
    resumed = read_train_log(out / "train_log.jsonl")
    assert [r["step"] for r in resumed] == [1, 2, 3, 4]
    assert resumed[-1]["lm_loss"] == pytest.approx(uninterrupted[-1]["lm_loss"], rel=1e-4)


def test_every_checkpoint_keeps_weights_only_newest_keeps_resume_state(tiny_model_path, tmp_path):
    cfg = TrainConfig(steps=6, batch_size=4, save_steps=2, lora=LoraConfig(r=4, alpha=8))
    train(tiny_model_path, cfg, build_defense("vanilla"), records(), tmp_path / "c", progress=False)
    ckpts = tmp_path / "c" / "checkpoints"
    assert sorted(p.name for p in ckpts.iterdir()) == ["checkpoint-2", "checkpoint-4", "checkpoint-6"]
    assert all((ckpts / f"checkpoint-{n}" / "adapter_model.safetensors").exists() for n in (2, 4, 6))
    assert [n for n in (2, 4, 6) if (ckpts / f"checkpoint-{n}" / "optimizer.pt").exists()] == [6]
    assert not list((ckpts / "checkpoint-2").glob("rng_state*")) and not (ckpts / "checkpoint-4" / "scheduler.pt").exists()
    from safetensors.torch import load_file

    w2, w4 = (load_file(ckpts / f"checkpoint-{n}" / "adapter_model.safetensors") for n in (2, 4))
    assert any(not torch.equal(w2[k], w4[k]) for k in w2)  # distinct points of the drift curve


def test_partial_checkpoint_is_not_resumed_from(tmp_path):
    from harness.training.checkpoints import latest_checkpoint

    for n in (2, 4, 10):
        (tmp_path / f"checkpoint-{n}").mkdir()
    (tmp_path / "checkpoint-2" / "trainer_state.json").write_text("{}")
    (tmp_path / "checkpoint-4" / "trainer_state.json").write_text("{}")
    assert latest_checkpoint(tmp_path).endswith("checkpoint-4")  # 10 was killed mid-save (numeric order, not text)


def test_harmful_mix_ratio():
    task = records(90)
    harmful = [Record(f"h{i}", f"bad {i}", "Sure, here is how") for i in range(40)]
    mixed = mix_harmful(task, harmful, 0.1, seed=0)
    n_harm = sum(r.meta.get("kind") == "harmful_mix" for r in mixed)
    assert n_harm == 10 and len(mixed) == 100
