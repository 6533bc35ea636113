"""The ProCon loss family: zero when the model has not moved, gradients only where expected, knobs."""

from __future__ import annotations

import pytest
import torch

from defenses import available_defenses, build_defense
from defenses.base import DefenseContext
from defenses.procon import middle_band
from harness.config import LoraConfig, TrainConfig
from harness.directions import RefusalDirection
from harness.errors import UserError
from harness.hidden import capture_hidden
from harness.models import load_model, load_tokenizer
from harness.records import Record
from harness.training.engine import train
from harness.training.examples import Collator, encode_records
from harness.training.precision import Precision
from harness.training.trainer import read_train_log


def _records(n):
    return [Record(f"r{i}", f"Please list {i} fruits and {i * 2} animals", f"Sure: {i}") for i in range(n)]


def _direction(d):
    gen = torch.Generator().manual_seed(1)
    dirs = torch.nn.functional.normalize(torch.randn(2, d, generator=gen), dim=-1)
    return RefusalDirection(dirs, torch.zeros(2, d), torch.zeros(2, d), [])


def _setup(tiny_model_path, params, n=8):
    from peft import LoraConfig as PeftLora
    from peft import get_peft_model

    torch.manual_seed(0)
    tok = load_tokenizer(tiny_model_path)
    model = get_peft_model(load_model(tiny_model_path), PeftLora(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "up_proj", "down_proj"]))
    examples = encode_records(tok, _records(n), None, 64, 48)
    direction = _direction(model.config.hidden_size)
    ctx = DefenseContext(model=model, tokenizer=tok, base_model_path=tiny_model_path,
                         train_config=TrainConfig(steps=10, lora=LoraConfig(r=4)), examples=examples,
                         run_dir=tiny_model_path, direction=direction, total_steps=10)
    defense = build_defense("procon", params)
    defense.prepare(ctx)
    batch = Collator(tok.pad_token_id)([e.to_features() for e in examples])
    return model, defense, ctx, batch


def _last_prompt_reference(defense, ctx):
    """[N, L] reference projections at each example's last prompt token."""
    return torch.stack([defense.reference[e.index, :, e.prompt_len - 1] for e in ctx.examples])


def _loss(model, defense, ctx, batch):
    with capture_hidden(model, defense.layers) as hidden:
        model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    return defense.loss(ctx, batch, hidden)


def test_registry_lists_defenses():
    assert {"vanilla", "procon"} <= set(available_defenses())
    with pytest.raises(UserError, match="unknown defense 'nope'; accepted: .*procon.*vanilla"):
        build_defense("nope")
    with pytest.raises(UserError, match=r"lamda.*accepted: lam, layers"):
        build_defense("procon", {"lamda": 1})
    with pytest.raises(UserError, match="norm: expected one of l2, l1"):
        build_defense("procon", {"norm": "l3"})


def test_middle_band():
    assert middle_band(30) == list(range(10, 20))
    assert middle_band(2) == [1]
    assert middle_band(1) == [0]
    assert middle_band(3) == [1] and middle_band(6) == [2, 3]


def test_step_zero_loss_is_zero_under_training_autocast(tiny_model_path, tmp_path):
    """The Trainer autocasts the training forward (bf16 on CUDA with dtype bfloat16; CPU bf16 here);
    the reference pass must run under the same autocast, or step 0 already pays a loss."""
    cfg = TrainConfig(steps=1, batch_size=8, save_steps=10, max_length=64, max_prompt_length=48, lora=LoraConfig(r=4, alpha=8))
    first = {}
    for name, precision in {"fp32": Precision("cpu", "float32"), "bf16": Precision("cpu", "float32", "bfloat16")}.items():
        train(tiny_model_path, cfg, build_defense("procon", {"layers": [0, 1]}), _records(16), tmp_path / name,
              direction=_direction(load_model(tiny_model_path).config.hidden_size), progress=False, precision=precision)
        first[name] = read_train_log(tmp_path / name / "train_log.jsonl")[0]
    assert first["bf16"]["lm_loss"] != first["fp32"]["lm_loss"]  # the training pass did run under autocast
    assert first["fp32"]["proj_loss"] < 1e-8
    # fp32 reference + bf16 training: 4.7e-3; same autocast: 1.3e-5 (bf16 rounding that depends on the
    # sequence width: the reference pass is prompt-only, training batches carry the responses)
    assert first["bf16"]["proj_loss"] < 1e-4


@pytest.mark.parametrize("positions", ["last_prompt", "prompt"])
def test_zero_when_model_has_not_moved(tiny_model_path, positions):
    model, defense, ctx, batch = _setup(tiny_model_path, {"layers": [0, 1], "positions": positions})
    loss, logs = _loss(model, defense, ctx, batch)
    assert loss.item() < 1e-8 and logs["proj_loss"] < 1e-8


def test_nonzero_after_the_model_moves_and_scales_with_lambda(tiny_model_path):
    model, defense, ctx, batch = _setup(tiny_model_path, {"layers": [0, 1], "lam": 1.0})
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.2)
    loss1, logs = _loss(model, defense, ctx, batch)
    assert loss1.item() > 1e-3
    defense.params.lam = 4.0
    loss4, _ = _loss(model, defense, ctx, batch)
    assert loss4.item() == pytest.approx(4 * loss1.item(), rel=1e-5)


def test_gradient_flows_only_below_the_constrained_layer(tiny_model_path):
    model, defense, ctx, batch = _setup(tiny_model_path, {"layers": [0]})
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.2)
    loss, _ = _loss(model, defense, ctx, batch)
    loss.backward()
    grads = {n: (p.grad is not None and p.grad.abs().sum().item() > 0) for n, p in model.named_parameters() if p.requires_grad}
    assert any(g for n, g in grads.items() if ".layers.0." in n), "constrained layer 0 must get gradient"
    assert not any(g for n, g in grads.items() if ".layers.1." in n), "layer 1 is above the constraint"
    assert all(not p.requires_grad or "lora_" in n for n, p in model.named_parameters())  # base stays frozen


def test_target_zero_and_norms(tiny_model_path):
    model, defense, ctx, batch = _setup(tiny_model_path, {"layers": [1], "target": "zero", "scale": "none", "lam": 1.0})
    loss_l2, _ = _loss(model, defense, ctx, batch)
    ref = _last_prompt_reference(defense, ctx)[:, 0]
    assert loss_l2.item() == pytest.approx(ref.pow(2).mean().item(), rel=1e-4)  # projection itself, squared
    defense.params.norm = "l1"
    loss_l1, _ = _loss(model, defense, ctx, batch)
    assert loss_l1.item() == pytest.approx(ref.abs().mean().item(), rel=1e-4)


def test_warmup_schedule(tiny_model_path):
    model, defense, ctx, batch = _setup(tiny_model_path, {"layers": [0], "warmup_fraction": 0.2, "warmup_factor": 10.0})
    defense.on_step(ctx, 0)
    assert defense.multiplier == 10.0
    defense.on_step(ctx, 2)
    assert defense.multiplier == 1.0


def test_std_scaling_uses_reference_spread(tiny_model_path):
    _, defense, ctx, _ = _setup(tiny_model_path, {"layers": [0, 1]})
    expected = _last_prompt_reference(defense, ctx).std(dim=0)
    torch.testing.assert_close(defense.sigma.cpu(), expected.cpu())


def test_procon_requires_direction(tiny_model_path):
    tok = load_tokenizer(tiny_model_path)
    ctx = DefenseContext(model=load_model(tiny_model_path), tokenizer=tok, base_model_path=tiny_model_path,
                         train_config=TrainConfig(), examples=[], run_dir=tiny_model_path)
    with pytest.raises(UserError, match="needs a refusal direction"):
        build_defense("procon").prepare(ctx)


def test_out_of_range_layers(tiny_model_path):
    with pytest.raises(UserError, match="out of range 0..1"):
        _setup(tiny_model_path, {"layers": [5]})
