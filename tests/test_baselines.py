"""Baseline defenses on the tiny model: each one's mechanism, not only that it runs.

kl_anchor (a KL term: zero before the model moves, the full KL with a full top-k, its gradient),
constrained_sft (Qi et al.'s token-wise objective: value, limits, gradient weights; it replaces the LM
loss through ``Defense.replaces_lm_loss``), freeze_safety_layers (the band rule; frozen weights stay put
in real training), lisa (phase batches, the proximal term's value and gradient), and the shared
reference helper.
"""

from __future__ import annotations

import math

import pytest
import torch

from defenses import available_defenses, build_defense
from defenses.base import Defense, DefenseContext
from defenses.constrained_sft import constrained_token_loss, position_betas
from defenses.freeze_safety_layers import FreezeSafetyLayers, safety_band
from defenses.kl_anchor import bucket_kl
from defenses.lisa import Lisa, is_alignment_step, lisa_order, phase_lengths
from defenses.reference import response_mask, response_positions, response_reference
from defenses.safety_mix import SAFETY_KINDS
from harness.config import LoraConfig, TrainConfig
from harness.directions import RefusalDirection
from harness.errors import UserError
from harness.models import load_model, load_tokenizer
from harness.records import Record
from harness.training.engine import train
from harness.training.examples import Collator, encode_records
from harness.training.trainer import read_train_log
from tests.conftest import randomize_lora_b

SAFETY = {"harmful": {"builtin": "harmful", "split": "train", "limit": 6}, "per_batch": 2}


def _records(n):
    return [Record(f"r{i}", f"Please list {i} fruits and {i * 2} animals", f"Sure: {i} apples, {i} pears") for i in range(n)]


def _ctx(tiny_model_path, run_dir, n=6, steps=10, lora=True, direction=None, **train_kw):
    from peft import LoraConfig as PeftLora
    from peft import get_peft_model

    torch.manual_seed(0)
    tok = load_tokenizer(tiny_model_path)
    model = load_model(tiny_model_path)
    if lora:
        model = get_peft_model(model, PeftLora(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "up_proj",
                                                                                   "down_proj"]))
    cfg = TrainConfig(steps=steps, batch_size=4, max_length=64, max_prompt_length=48,
                      lora=LoraConfig(r=4) if lora else None, **train_kw)
    return DefenseContext(model=model, tokenizer=tok, base_model_path=tiny_model_path, train_config=cfg,
                          examples=encode_records(tok, _records(n), None, 64, 48), run_dir=run_dir,
                          direction=direction, total_steps=steps)


def _prepared(tiny_model_path, run_dir, name, params=None, **kw):
    ctx = _ctx(tiny_model_path, run_dir, **kw)
    defense = build_defense(name, params)
    defense.prepare(ctx)
    batch = Collator(ctx.tokenizer.pad_token_id)([e.to_features() for e in ctx.examples])
    return defense, ctx, batch


def _loss(defense, ctx, batch):
    """The defense's loss on ``batch`` as the trainer computes it (logits of the same forward)."""
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "labels")}
    out = ctx.model(**inputs)
    return defense.loss(ctx, {**batch, "logits": out.logits}, {})


def _base_logprobs(tiny_model_path, batch):
    """log-softmax of the untouched start model on ``batch``: [B, W, V]."""
    with torch.no_grad():
        base = load_model(tiny_model_path)
        return base(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float().log_softmax(-1)


# ---------------------------------------------------------------- registry, params
def test_registered_with_documented_defaults():
    assert {"kl_anchor", "constrained_sft", "freeze_safety_layers", "lisa"} <= set(available_defenses())
    kl = build_defense("kl_anchor").params
    assert (kl.beta, kl.samples, kl.top_k, kl.safety) == (1.0, "task", 32, None)
    c = build_defense("constrained_sft")
    assert c.replaces_lm_loss and (c.params.betas, c.params.beta_after) == ([0.5, 2.0, 2.0, 2.0, 2.0], 0.1)
    lisa = build_defense("lisa").params
    assert (lisa.rho, lisa.cycles, lisa.alignment_fraction, lisa.proximal_warmup_fraction) == (1.0, 20, 0.1, 0.1)
    assert build_defense("freeze_safety_layers").needs_direction
    assert not build_defense("freeze_safety_layers", {"layers": "0-1"}).needs_direction
    assert build_defense("freeze_safety_layers", {"layers": "3-5"}).params.layers == [3, 4, 5]
    assert not Defense.replaces_lm_loss and not build_defense("vanilla").replaces_lm_loss


@pytest.mark.parametrize(("name", "params", "match"), [
    ("kl_anchor", {"samples": "safety"}, "samples: safety needs safety samples"),
    ("kl_anchor", {"top_k": 0}, "top_k: expected an integer >= 1"),
    ("kl_anchor", {"on": "task"}, "unknown field"),
    ("constrained_sft", {"betas": [0.5, 0.0]}, "expected every beta > 0"),
    ("freeze_safety_layers", {"layers": "5-3"}, "layers: expected a list, a range"),
    ("freeze_safety_layers", {"tolerance": 1.5}, "tolerance: expected in"),
    ("lisa", {"alignment_steps": 10}, "give both"),
    ("lisa", {"rho": -1}, "rho: expected >= 0"),
    ("lisa", {"refusals": "nope"}, "refusals: expected builtin or dataset"),
])
def test_params_are_validated(name, params, match):
    with pytest.raises(UserError, match=match):
        build_defense(name, params)


# ---------------------------------------------------------------- the shared reference helper
def test_reference_is_the_start_model_even_with_a_moved_adapter(tiny_model_path, tmp_path):
    ctx = _ctx(tiny_model_path, tmp_path)
    randomize_lora_b(ctx.model)  # adapters are disabled for the reference pass
    ref = response_reference(ctx, top_k=5, batch_size=4, cache_dir=tmp_path / "ref")
    batch = Collator(ctx.tokenizer.pad_token_id)([e.to_features() for e in ctx.examples])
    mask = response_mask(batch)
    assert ref.lengths.tolist() == [e.response_tokens for e in ctx.examples] == mask.sum(1).tolist()
    base = _base_logprobs(tiny_model_path, batch)[:, :-1][mask]  # [n, V]
    rows = ref.rows(batch["sample_index"], mask.sum(1))
    targets = batch["input_ids"][:, 1:][mask]
    torch.testing.assert_close(rows["token_logprobs"], base.gather(-1, targets[:, None]).squeeze(-1), atol=1e-5, rtol=0)
    top, ids = base.topk(5, dim=-1)
    torch.testing.assert_close(rows["topk_logprobs"], top, atol=1e-5, rtol=0)
    assert torch.equal(rows["topk_ids"], ids)
    rest = torch.log1p(-top.exp().sum(-1))
    torch.testing.assert_close(rows["rest_logprob"], rest, atol=1e-4, rtol=0)
    assert response_positions(mask)[: ref.lengths[0]].tolist() == list(range(int(ref.lengths[0])))
    # cached: the same statistics come back without a forward pass; another top_k is another file
    files = list((tmp_path / "ref").glob("*.pt"))
    assert len(files) == 1
    again = response_reference(ctx, top_k=5, batch_size=4, cache_dir=tmp_path / "ref")
    assert torch.equal(again.topk_ids, ref.topk_ids) and torch.equal(again.token_logprobs, ref.token_logprobs)
    response_reference(ctx, top_k=3, cache_dir=tmp_path / "ref")
    assert len(list((tmp_path / "ref").glob("*.pt"))) == 2
    with pytest.raises(ValueError, match="reference lengths"):
        ref.rows(batch["sample_index"], mask.sum(1) + 1)


# ---------------------------------------------------------------- kl_anchor
def test_kl_anchor_is_zero_before_the_model_moves_and_positive_after(tiny_model_path, tmp_path):
    defense, ctx, batch = _prepared(tiny_model_path, tmp_path, "kl_anchor", {"top_k": 8})
    loss, logs = _loss(defense, ctx, batch)
    assert abs(loss.item()) < 1e-6 and logs["kl_tokens"] == sum(e.response_tokens for e in ctx.examples)
    assert 0 < ctx.state["kl_anchor"]["ref_rest_mass"] < 1
    randomize_lora_b(ctx.model)
    loss1, logs1 = _loss(defense, ctx, batch)
    assert loss1.item() > 1e-3 and logs1["kl"] == pytest.approx(loss1.item(), rel=1e-6)
    defense.params.beta = 2.5
    assert _loss(defense, ctx, batch)[0].item() == pytest.approx(2.5 * loss1.item(), rel=1e-5)


def test_kl_anchor_is_the_full_kl_with_a_full_top_k_and_a_lower_bound_with_a_small_one(tiny_model_path, tmp_path):
    defense, ctx, batch = _prepared(tiny_model_path, tmp_path / "full", "kl_anchor", {"top_k": 100_000})
    vocab = ctx.model.get_output_embeddings().weight.shape[0]
    assert defense.reference.top_k == vocab - 1  # capped: one token left in the rest bucket -> exact
    randomize_lora_b(ctx.model)
    mask = response_mask(batch)
    p = _base_logprobs(tiny_model_path, batch)[:, :-1][mask]
    with torch.no_grad():
        q = ctx.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
    q = q.log_softmax(-1)[:, :-1][mask]
    exact = (p.exp() * (p - q)).sum(-1).mean().item()
    assert _loss(defense, ctx, batch)[0].item() == pytest.approx(exact, rel=1e-4)
    small, ctx8, batch8 = _prepared(tiny_model_path, tmp_path / "k8", "kl_anchor", {"top_k": 8})
    randomize_lora_b(ctx8.model)
    coarse = _loss(small, ctx8, batch8)[0].item()
    assert 0 < coarse <= exact + 1e-6


def test_bucket_kl_value_and_gradient():
    """d KL_k / d logits = q - p~, where p~ = p on the top k and p_rest spread over the rest like q."""
    gen = torch.Generator().manual_seed(0)
    n, vocab, k = 5, 40, 6
    p = torch.randn(n, vocab, generator=gen).mul(2).log_softmax(-1)
    z = torch.randn(n, vocab, generator=gen, requires_grad=True)
    top_p, ids = p.topk(k, dim=-1)
    rest_p = p.scatter(-1, ids, float("-inf")).logsumexp(-1)
    kl = bucket_kl(z.log_softmax(-1), ids, top_p, rest_p)
    kl.sum().backward()
    q = z.detach().softmax(-1)
    in_top = torch.zeros(n, vocab, dtype=torch.bool).scatter(-1, ids, True)
    q_rest = (q * ~in_top).sum(-1, keepdim=True)
    p_tilde = torch.where(in_top, p.exp(), rest_p.exp().unsqueeze(-1) * q / q_rest)
    torch.testing.assert_close(z.grad, q - p_tilde, atol=1e-6, rtol=1e-5)
    full = (p.exp() * (p - z.detach().log_softmax(-1))).sum(-1)
    assert (kl.detach() <= full + 1e-6).all() and (kl.detach() > 0).all()
    # with k = vocab - 1 the bucket holds one token: the full KL, and the gradient q - p
    top_p, ids = p.topk(vocab - 1, dim=-1)
    rest_p = p.scatter(-1, ids, float("-inf")).logsumexp(-1)
    z.grad = None
    exact = bucket_kl(z.log_softmax(-1), ids, top_p, rest_p)
    exact.sum().backward()
    torch.testing.assert_close(exact.detach(), full, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(z.grad, q - p.exp(), atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize(("samples", "kinds"), [("task", {"task"}), ("safety", set(SAFETY_KINDS)),
                                                ("all", {"task", *SAFETY_KINDS})])
def test_kl_anchor_reads_only_the_chosen_samples(tiny_model_path, tmp_path, samples, kinds):
    defense, ctx, batch = _prepared(tiny_model_path, tmp_path, "kl_anchor",
                                    {"top_k": 4, "samples": samples, "safety": SAFETY})
    assert ctx.batch_size == 4 + 2 and len(ctx.examples) == 6 + 6  # safety samples mixed in
    expected = sum(e.response_tokens for e in ctx.examples if e.kind in kinds)
    assert _loss(defense, ctx, batch)[1]["kl_tokens"] == expected
    assert int(defense.reference.lengths.sum()) == expected  # references only for the anchored samples


# ---------------------------------------------------------------- constrained_sft
def test_position_betas_follow_the_paper():
    assert position_betas(torch.arange(8), [0.5, 2, 2, 2, 2], 0.1).tolist() == pytest.approx(
        [0.5, 2, 2, 2, 2, 0.1, 0.1, 0.1])


def test_constrained_token_loss_value_limits_and_gradient_weight():
    z = torch.tensor([-3.0, -0.5, 0.0, 0.5, 3.0])
    ref = torch.full_like(z, -2.0)
    logp = (ref + z).requires_grad_(True)
    for beta in (0.1, 2.0, 50.0):
        b = torch.full_like(z, beta)
        value = constrained_token_loss(logp, ref, b)
        paper = -(2 / b) * torch.nn.functional.logsigmoid(b * z)  # the paper's term ...
        torch.testing.assert_close(value, paper - (2 / b) * math.log(2))  # ... minus a constant
        logp.grad = None
        value.sum().backward()
        torch.testing.assert_close(logp.grad, -2 * torch.sigmoid(-b * z))  # SFT gradient x 2 sigmoid(-beta z)
    # beta -> 0: the term is -z (the cross-entropy up to a constant); beta -> inf: 2 max(-z, 0)
    small = constrained_token_loss(ref + z, ref, torch.full_like(z, 1e-4))
    torch.testing.assert_close(small, -z, atol=1e-3, rtol=0)
    large = constrained_token_loss(ref + z, ref, torch.full_like(z, 1e3))
    torch.testing.assert_close(large, 2 * torch.relu(-z), atol=2e-3, rtol=0)
    assert constrained_token_loss(ref, ref, torch.full_like(z, 2.0)).abs().max() == 0  # unmoved: 0


def test_constrained_sft_zero_at_the_start_then_the_formula(tiny_model_path, tmp_path):
    defense, ctx, batch = _prepared(tiny_model_path, tmp_path, "constrained_sft")
    loss, logs = _loss(defense, ctx, batch)
    assert abs(loss.item()) < 1e-6 and logs["sft_weight"] == pytest.approx(1.0, abs=1e-5)
    randomize_lora_b(ctx.model)
    loss, _ = _loss(defense, ctx, batch)
    mask = response_mask(batch)
    targets = batch["input_ids"][:, 1:][mask]
    ref = _base_logprobs(tiny_model_path, batch)[:, :-1][mask].gather(-1, targets[:, None]).squeeze(-1)
    with torch.no_grad():
        logits = ctx.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits.float()
    logp = logits.log_softmax(-1)[:, :-1][mask].gather(-1, targets[:, None]).squeeze(-1)
    beta = torch.tensor([[0.5, 2, 2, 2, 2][t] if t < 5 else 0.1 for t in response_positions(mask).tolist()])
    expected = ((2 / beta) * (torch.nn.functional.softplus(-beta * (logp - ref)) - math.log(2))).mean()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-4, abs=1e-6)


def test_constrained_sft_with_tiny_betas_has_the_sft_gradient(tiny_model_path, tmp_path):
    defense, ctx, batch = _prepared(tiny_model_path, tmp_path, "constrained_sft",
                                    {"betas": [1e-5], "beta_after": 1e-5})
    randomize_lora_b(ctx.model)
    params = [p for p in ctx.model.parameters() if p.requires_grad]
    inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "labels")}
    sft = torch.autograd.grad(ctx.model(**inputs).loss, params)
    constrained = torch.autograd.grad(_loss(defense, ctx, batch)[0], params)
    sft, constrained = torch.cat([g.flatten() for g in sft]), torch.cat([g.flatten() for g in constrained])
    assert sft.norm() > 0 and ((constrained - sft).norm() / sft.norm()).item() < 1e-4


class _NoLoss(Defense):
    name = "no_loss"
    replaces_lm_loss = True


def test_replacing_the_lm_loss_in_training(tiny_model_path, tmp_path):
    """The trainer optimises the defense's loss alone: constrained SFT's is 0 at step 0 (the LM loss is not)."""
    cfg = TrainConfig(steps=2, batch_size=4, save_steps=10, max_length=64, max_prompt_length=48, lora=LoraConfig(r=4))
    train(tiny_model_path, cfg, build_defense("constrained_sft"), _records(8), tmp_path / "c", progress=False)
    first, second = read_train_log(tmp_path / "c" / "train_log.jsonl")
    assert first["lm_loss"] > 1 and abs(first["defense_loss"]) < 1e-5
    assert first["loss"] == pytest.approx(first["defense_loss"], abs=1e-4)
    assert second["loss"] == pytest.approx(second["defense_loss"], abs=1e-4) and second["defense_loss"] != 0
    assert len(list((tmp_path / "c" / "checkpoints" / "reference").glob("*.pt"))) == 1  # cached for a resume
    with pytest.raises(RuntimeError, match="replaces the LM loss but returned no loss"):
        train(tiny_model_path, cfg, _NoLoss(), _records(8), tmp_path / "n", progress=False)


def test_step_zero_under_training_autocast(tiny_model_path, tmp_path):
    """References run under the training pass's autocast (CPU bf16 here): step 0 pays nothing, and
    constrained SFT's gradient there is exactly the SFT gradient (weight 2 sigmoid(0) = 1), as is
    vanilla + a zero-gradient KL term's."""
    from harness.training.precision import Precision

    cfg = TrainConfig(steps=1, batch_size=8, save_steps=10, max_length=64, max_prompt_length=48, lora=LoraConfig(r=4))
    rows = {}
    for name in ("kl_anchor", "constrained_sft"):
        train(tiny_model_path, cfg, build_defense(name), _records(16), tmp_path / name, progress=False,
              precision=Precision("cpu", "float32", "bfloat16"))
        rows[name] = read_train_log(tmp_path / name / "train_log.jsonl")[0]
        assert abs(rows[name]["defense_loss"]) < 1e-4
    assert rows["constrained_sft"]["loss"] == pytest.approx(0, abs=1e-4)
    assert rows["constrained_sft"]["grad_norm"] == pytest.approx(rows["kl_anchor"]["grad_norm"], rel=1e-4)


# ---------------------------------------------------------------- freeze_safety_layers
def _direction(separation):
    n, d = len(separation), 4
    stats = [{"layer": i, "separation": s} for i, s in enumerate(separation)]
    return RefusalDirection(torch.eye(d)[:1].repeat(n, 1), torch.zeros(n, d), torch.zeros(n, d), stats)


def test_safety_band_rule_on_known_stats():
    # rises, plateaus (noisily) from layer 4, and is highest in the excluded last 20 % (layers 9-11 of 12)
    sep = [0.5, 1.0, 1.5, 2.5, 3.4, 3.5, 3.45, 3.5, 3.6, 9.0, 9.0, 9.0]
    assert safety_band(sep) == [4, 5]  # width round(12/6) = 2; earliest band within 5 % of the best (7-8)
    assert safety_band(sep, tolerance=0.0) == [7, 8]  # the plain argmax
    assert safety_band(sep, width=3) == [4, 5, 6]
    assert safety_band(sep, exclude_last_fraction=0.0, tolerance=0.0) == [9, 10]
    with pytest.raises(UserError, match="NaN"):
        safety_band([1.0, float("nan"), 2.0])


def test_freeze_reads_the_direction_stats(tiny_model_path, tmp_path):
    defense, ctx, _ = _prepared(tiny_model_path, tmp_path, "freeze_safety_layers", {"exclude_last_fraction": 0.0},
                                direction=_direction([1.0, 5.0]))
    assert defense.frozen == [1] and ctx.state["freeze_safety_layers"]["layers"] == [1]
    frozen = [n for n, p in ctx.model.named_parameters() if "lora_" in n and not p.requires_grad]
    assert frozen and all(".layers.1." in n for n in frozen)
    assert all(p.requires_grad for n, p in ctx.model.named_parameters() if "lora_" in n and ".layers.0." in n)
    with pytest.raises(UserError, match="needs the refusal direction"):
        _prepared(tiny_model_path, tmp_path, "freeze_safety_layers")
    with pytest.raises(UserError, match="out of range"):
        _prepared(tiny_model_path, tmp_path, "freeze_safety_layers", {"layers": [7]})


class _Snapshot(FreezeSafetyLayers):
    """Records the weights after prepare and after training (finalize runs before saving)."""

    def prepare(self, ctx):
        super().prepare(ctx)
        self.before = {n: p.detach().clone() for n, p in ctx.model.named_parameters()}

    def finalize(self, ctx):
        self.after = {n: p.detach().clone() for n, p in ctx.model.named_parameters()}


@pytest.mark.parametrize("lora", [True, False])
def test_frozen_layers_do_not_change_in_training(tiny_model_path, tmp_path, lora):
    cfg = TrainConfig(steps=3, batch_size=4, save_steps=10, max_length=64, max_prompt_length=48,
                      learning_rate=1e-2, lora=LoraConfig(r=4) if lora else None)
    # LoRA: layer 1 from explicit layers; full fine-tuning: layer 0 chosen from the direction's stats
    params = {"layers": [1]} if lora else {"exclude_last_fraction": 0.0}
    defense = _Snapshot(build_defense("freeze_safety_layers", params).params)
    train(tiny_model_path, cfg, defense, _records(8), tmp_path, direction=_direction([5.0, 1.0]), progress=False)
    frozen_layer = 1 if lora else 0
    changed = {n: not torch.equal(defense.before[n], defense.after[n]) for n in defense.before}
    in_frozen = [n for n in changed if f".layers.{frozen_layer}." in n and ("lora_" in n or not lora)]
    in_other = [n for n in changed if f".layers.{1 - frozen_layer}." in n and ("lora_B" in n or not lora)]
    assert in_frozen and not any(changed[n] for n in in_frozen)
    assert in_other and all(changed[n] for n in in_other)


# ---------------------------------------------------------------- lisa
def test_lisa_schedule_and_phase_lengths():
    from defenses.lisa import LisaParams

    assert [is_alignment_step(s, 2, 3) for s in range(10)] == [True, True, False, False, False] * 2
    assert phase_lengths(LisaParams(), 20_000) == (100, 900)  # the paper's 100 + 900, 20 cycles
    assert phase_lengths(LisaParams(), 50) == (1, 9)  # the 1:9 split with fewer cycles
    assert phase_lengths(LisaParams(alignment_steps=3, finetune_steps=4), 50) == (3, 4)
    order = lisa_order(list(range(10)), [100, 101, 102], batch_size=2, k1=1, k2=2, steps=6,
                       micro_batches_per_step=2, seed=0)
    per_step = [order[i : i + 4] for i in range(0, len(order), 4)]
    assert len(per_step) == 6
    for step, samples in enumerate(per_step):
        assert all((i >= 100) == is_alignment_step(step, 1, 2) for i in samples)
    task = [i for i in order if i < 100]
    assert sorted(task[:10]) == list(range(10))  # the user data in epochs


class _Recorder(Lisa):
    """Records which samples every optimiser step trains on."""

    def loss(self, ctx, batch, hidden):
        self.seen.setdefault(ctx.step, []).extend(batch["sample_index"].tolist())
        return super().loss(ctx, batch, hidden)


def test_lisa_trains_each_phase_on_its_own_data(tiny_model_path, tmp_path):
    cfg = TrainConfig(steps=6, batch_size=4, save_steps=10, max_length=160, max_prompt_length=48,
                      learning_rate=1e-2, lora=LoraConfig(r=4))
    defense = _Recorder(build_defense("lisa", {"alignment_steps": 1, "finetune_steps": 2, "rho": 1.0,
                                               "proximal_warmup_fraction": 0.0,
                                               "harmful": SAFETY["harmful"]}).params)
    defense.seen = {}
    train(tiny_model_path, cfg, defense, _records(8), tmp_path, progress=False)
    assert sorted(defense.seen) == list(range(6))
    for step, samples in defense.seen.items():
        assert len(samples) == 4
        assert all((i >= 8) == (step % 3 == 0) for i in samples), (step, samples)  # 8.. are the safety samples
    rows = read_train_log(tmp_path / "train_log.jsonl")
    assert [r["lisa_alignment"] for r in rows] == [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]
    # the proximal term is 0 on a state's first step (anchor = current weights) and > 0 after it moved
    assert [r["proximal"] == 0 for r in rows] == [True, True, False, True, True, False]


def test_lisa_proximal_term_value_and_gradient(tiny_model_path, tmp_path):
    defense, ctx, batch = _prepared(tiny_model_path, tmp_path, "lisa",
                                    {"alignment_steps": 2, "finetune_steps": 3, "rho": 0.7,
                                     "proximal_warmup_fraction": 0.2, "harmful": SAFETY["harmful"]})
    assert ctx.batch_size == 4 and "safety_mix" not in ctx.state and ctx.state["lisa"]["alignment_steps"] == 2
    defense.on_step(ctx, 0)
    assert _loss(defense, ctx, batch)[0] is None  # proximal warm-up: 20 % of 10 steps
    defense.on_step(ctx, 2)  # a switch (alignment -> fine-tuning): re-anchored, term 0
    assert defense.proximal(ctx).item() == 0
    anchor = {n: p.detach().clone() for n, p in ctx.model.named_parameters() if p.requires_grad}
    randomize_lora_b(ctx.model, std=0.1)
    defense.on_step(ctx, 3)  # not a switch: the anchor stays
    term, logs = _loss(defense, ctx, batch)
    params = {n: p for n, p in ctx.model.named_parameters() if p.requires_grad}
    expected = 0.35 * sum((params[n] - anchor[n]).pow(2).sum() for n in params).item()
    assert term.item() == pytest.approx(expected, rel=1e-5) and term.item() > 0 and logs["lisa_alignment"] == 0
    grads = torch.autograd.grad(term, list(params.values()))
    for (n, p), g in zip(params.items(), grads, strict=True):
        torch.testing.assert_close(g, 0.7 * (p.detach() - anchor[n]))  # rho (theta - theta_anchor)
    defense.on_step(ctx, 5)  # the next alignment state: anchored at the moved weights
    assert defense.proximal(ctx).item() == 0 and defense.alignment
    assert "lisa_reanchored" not in _loss(defense, ctx, batch)[1]
    defense.anchor = None  # as after a resume: the first step re-anchors even mid-state, and says so
    defense.on_step(ctx, 6)
    assert defense.proximal(ctx).item() == 0 and _loss(defense, ctx, batch)[1]["lisa_reanchored"] == 1.0
    defense.on_step(ctx, 7)
    assert "lisa_reanchored" not in _loss(defense, ctx, batch)[1]
