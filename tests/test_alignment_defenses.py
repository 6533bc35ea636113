"""Alignment-stage baselines on the tiny model: Vaccine and Booster, each one's mechanism, not only that it runs.

vaccine (the hidden-state perturbation: norm rho over all layers together, along the gradient, zero at
rho = 0, added where it claims), booster (the regulariser's gradient against an independent computation,
bit-exact weight restore, lam = 0), both through the real trainer, and the pipeline integration (own
aligned-model cache entry, reused; the config check).
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.func import functional_call

from defenses import available_defenses, build_defense
from defenses.base import DefenseContext
from defenses.booster import Booster, BoosterAligner, harmful_sample
from defenses.vaccine import Vaccine, VaccineAligner, causal_lm_loss
from harness.config import AlignmentConfig, LoraConfig, TrainConfig, from_dict
from harness.data import DataSpec
from harness.errors import UserError
from harness.hidden import capture_hidden
from harness.models import load_model, load_tokenizer
from harness.records import Record
from harness.training.engine import train
from harness.training.examples import Collator, encode_records
from harness.training.trainer import read_train_log
from tests.conftest import randomize_lora_b

HARMFUL = {"builtin": "harmful", "split": "train", "limit": 8}
INPUT_KEYS = ("input_ids", "attention_mask", "labels")


def _records(n):
    return [Record(f"r{i}", f"Please list {i} fruits and {i * 2} animals", f"Sure: {i} apples, {i} pears") for i in range(n)]


def _ctx(tiny_model_path, n=4, lora=True):
    from peft import LoraConfig as PeftLora
    from peft import get_peft_model

    torch.manual_seed(0)
    tok = load_tokenizer(tiny_model_path)
    model = load_model(tiny_model_path)
    if lora:
        model = get_peft_model(model, PeftLora(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "up_proj",
                                                                                   "down_proj"]))
    cfg = TrainConfig(steps=4, batch_size=4, max_length=64, max_prompt_length=48, lora=LoraConfig(r=4) if lora else None)
    ctx = DefenseContext(model=model, tokenizer=tok, base_model_path=tiny_model_path, train_config=cfg,
                         examples=encode_records(tok, _records(n), None, 64, 48), run_dir=None, total_steps=4)
    batch = Collator(tok.pad_token_id)([e.to_features() for e in ctx.examples])
    return ctx, batch


def _trainer_loss(defense, ctx, batch):
    """``defense.loss`` as DefenseTrainer.compute_loss calls it: its layers captured in the same forward."""
    inputs = {k: batch[k] for k in INPUT_KEYS}
    with capture_hidden(ctx.model, defense.layers) as hidden:
        out = ctx.model(**inputs)
    loss, logs = defense.loss(ctx, {**batch, "logits": out.logits}, hidden)
    return loss, logs, out


def _trainable(model):
    return [p for p in model.parameters() if p.requires_grad]


def _flat(grads):
    return torch.cat([g.flatten() for g in grads])


# ---------------------------------------------------------------- registry, params, checks
def test_registered_with_paper_defaults_and_alignment_objects():
    assert {"vaccine", "booster"} <= set(available_defenses())
    vaccine, booster = build_defense("vaccine"), build_defense("booster")
    assert (vaccine.params.rho, vaccine.params.layers) == (2.0, None)
    p = booster.params
    assert (p.lam, p.alpha, p.harmful_responses, p.harmful_batch_size) == (5.0, 0.1, "builtin", None)
    assert p.harmful == DataSpec(builtin="harmful", split="train")
    # the fine-tuning row is plain IFT; the alignment stage trains with the returned object
    for row, aligner in ((vaccine, VaccineAligner), (booster, BoosterAligner)):
        assert not row.replaces_lm_loss and row.layers == [] and row.loss(None, {}, {}) == (None, {})
        assert isinstance(row.alignment_defense(), aligner)
    assert VaccineAligner.replaces_lm_loss and not BoosterAligner.replaces_lm_loss
    # the aligned-model cache keys on describe(): stable, and it changes with the params (and Booster's data)
    v = vaccine.alignment_defense().describe()
    assert v == Vaccine(vaccine.params).alignment_defense().describe() == {
        "name": "vaccine_alignment", "params": {"rho": 2.0, "layers": None}}
    assert build_defense("vaccine", {"rho": 1.0}).alignment_defense().describe() != v
    b = booster.alignment_defense().describe()
    assert b == Booster(booster.params).alignment_defense().describe() and b["params"]["lam"] == 5.0
    assert build_defense("booster", {"harmful": HARMFUL}).alignment_defense().describe()["harmful_records"] \
        != b["harmful_records"]


@pytest.mark.parametrize(("name", "params", "match"), [
    ("vaccine", {"rho": -1}, "rho: expected a finite number >= 0"),
    ("vaccine", {"layers": []}, "layers: expected a non-empty list"),
    ("vaccine", {"layers": [0, 0]}, "layers: expected distinct"),
    ("vaccine", {"layers": [-1]}, "layers: expected a non-empty list of decoder-layer indices >= 0"),
    ("booster", {"lam": -0.5}, "lam: expected a finite number >= 0"),
    ("booster", {"alpha": float("nan")}, "alpha: expected a finite number >= 0"),
    ("booster", {"harmful_responses": "nope"}, "harmful_responses: expected builtin or dataset"),
    ("booster", {"harmful_batch_size": 0}, "harmful_batch_size: expected an integer >= 1"),
])
def test_params_are_validated(name, params, match):
    with pytest.raises(UserError, match=match) as info:
        build_defense(name, params)
    assert str(info.value).startswith(f"defenses.{name}.params") and "\n" not in str(info.value)


def test_booster_check_loads_the_harmful_data_and_names_the_field(tmp_path):
    build_defense("booster", {"harmful": HARMFUL}).check()  # built-in prompts + built-in compliant lead-ins
    with pytest.raises(UserError, match=r"^defenses\.booster\.params\.harmful: data file .*nope\.jsonl: not found$"):
        build_defense("booster", {"harmful": {"path": str(tmp_path / "nope.jsonl")}}).check()
    with pytest.raises(UserError, match=r"^defenses\.booster\.params\.harmful: records need a response .*"
                                        r"defenses\.booster\.params\.harmful_responses: builtin"):
        build_defense("booster", {"harmful": HARMFUL, "harmful_responses": "dataset"}).check()
    own = tmp_path / "own.jsonl"
    own.write_text('{"prompt": "do a bad thing", "response": "Sure, here it is"}\n')
    records = BoosterAligner(build_defense("booster", {"harmful": {"path": str(own)},
                                                       "harmful_responses": "dataset"}).params).records()
    assert [(r.prompt, r.response) for r in records] == [("do a bad thing", "Sure, here it is")]


def _run_config(**changes):
    from harness.config import RunConfig

    data = {"run": "x", "model": "tiny-random", "output_dir": "/nonexistent-results",
            "training": {"data": {"builtin": "harmless", "split": "train"}},
            "defenses": [{"name": "vanilla"}, {"name": "vaccine"}]}
    return from_dict(RunConfig, {**data, **changes})


def test_an_alignment_stage_defense_needs_an_alignment_block():
    from harness.pipeline import validate

    with pytest.raises(UserError) as info:
        validate(_run_config())
    message = str(info.value)
    assert message.startswith("defenses[vaccine]: vaccine is an alignment-stage defense") and "\n" not in message
    assert "`alignment:` block" in message
    validate(_run_config(alignment={}))  # with one it validates (no model is loaded)
    with pytest.raises(UserError, match=r"^defenses\.booster\.params\.harmful: data file"):
        validate(_run_config(alignment={}, defenses=[{"name": "booster", "params": {"harmful": {"path": "/no.csv"}}}]))


# ---------------------------------------------------------------- vaccine
def _hidden_grads(ctx, batch, layers):
    """dL/dh_l of the plain LM loss, computed independently of the defense."""
    inputs = {k: batch[k] for k in INPUT_KEYS}
    with capture_hidden(ctx.model, layers) as hidden:
        loss = ctx.model(**inputs).loss
    return dict(zip(layers, torch.autograd.grad(loss, [hidden[i] for i in layers]), strict=True)), loss


def test_vaccine_perturbation_has_norm_rho_over_all_layers_along_the_gradient(tiny_model_path):
    ctx, batch = _ctx(tiny_model_path)
    aligner = build_defense("vaccine", {"rho": 2.0}).alignment_defense()
    aligner.prepare(ctx)
    assert aligner.layers == [0, 1] and ctx.state["vaccine_alignment"] == {"rho": 2.0, "layers": [0, 1]}
    loss, logs, out = _trainer_loss(aligner, ctx, batch)
    eps = aligner.last_perturbation
    total = math.sqrt(sum(e.pow(2).sum().item() for e in eps.values()))
    assert total == pytest.approx(2.0, rel=1e-6) and logs["perturbation_norm"] == pytest.approx(2.0, rel=1e-6)
    assert all(e.norm() < 2.0 for e in eps.values())  # one norm for all layers, not rho per layer
    grads, plain = _hidden_grads(ctx, batch, [0, 1])
    g_norm = math.sqrt(sum(g.pow(2).sum().item() for g in grads.values()))
    for layer, g in grads.items():
        torch.testing.assert_close(eps[layer], 2.0 * g / g_norm, atol=1e-6, rtol=1e-5)
    assert logs["hidden_grad_norm"] == pytest.approx(g_norm, rel=1e-5)
    # the LM loss recomputed from the logits is the trainer's; the objective is the perturbed loss
    assert logs["clean_loss"] == out.loss.item() == plain.item() == causal_lm_loss(out.logits, batch["labels"]).item()
    assert loss.item() == logs["perturbed_loss"] > logs["clean_loss"]


def test_vaccine_perturbed_loss_rises_by_rho_times_the_gradient_norm_for_small_rho(tiny_model_path):
    """First order: L(h + eps) - L(h) = sum_l <g_l, eps_l> = rho ||g||, which only the gradient direction gives."""
    ctx, batch = _ctx(tiny_model_path)
    for rho in (0.01, 0.05):
        aligner = build_defense("vaccine", {"rho": rho}).alignment_defense()
        aligner.prepare(ctx)
        _, logs, _ = _trainer_loss(aligner, ctx, batch)
        rise = logs["perturbed_loss"] - logs["clean_loss"]
        assert rise > 0 and rise / (rho * logs["hidden_grad_norm"]) == pytest.approx(1.0, abs=0.05)


def test_vaccine_adds_the_perturbation_to_the_chosen_block_output(tiny_model_path):
    """layers: [1] (the last block): the objective is the LM loss of lm_head(norm(h_1 + eps_1)), recomputed by hand."""
    ctx, batch = _ctx(tiny_model_path)
    randomize_lora_b(ctx.model)
    aligner = build_defense("vaccine", {"rho": 0.5, "layers": [1]}).alignment_defense()
    aligner.prepare(ctx)
    loss, _, _ = _trainer_loss(aligner, ctx, batch)
    assert list(aligner.last_perturbation) == [1]
    with torch.no_grad(), capture_hidden(ctx.model, [1]) as hidden:
        ctx.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
    base = ctx.model.get_base_model()
    logits = base.lm_head(base.model.norm(hidden[1] + aligner.last_perturbation[1]))
    assert loss.item() == pytest.approx(causal_lm_loss(logits, batch["labels"]).item(), rel=1e-6)


def test_vaccine_with_rho_zero_is_exactly_plain_sft(tiny_model_path):
    ctx, batch = _ctx(tiny_model_path)
    randomize_lora_b(ctx.model)
    aligner = build_defense("vaccine", {"rho": 0.0}).alignment_defense()
    aligner.prepare(ctx)
    params = _trainable(ctx.model)
    loss, logs, _ = _trainer_loss(aligner, ctx, batch)
    assert logs["perturbation_norm"] == 0.0
    vaccine_grad = torch.autograd.grad(loss, params)
    plain = ctx.model(**{k: batch[k] for k in INPUT_KEYS}).loss
    plain_grad = torch.autograd.grad(plain, params)
    assert torch.equal(loss.detach(), plain.detach())
    assert all(torch.equal(a, b) for a, b in zip(vaccine_grad, plain_grad, strict=True))
    assert _flat(plain_grad).norm() > 0


# ---------------------------------------------------------------- booster
def _harmful_loss_and_grad(ctx, params_by_name, harmful):
    """h and dh/dw at the given trainable weights, by a functional call (the model's weights untouched)."""
    names = list(params_by_name)
    values = [params_by_name[n].detach().clone().requires_grad_(True) for n in names]
    loss = functional_call(ctx.model, dict(zip(names, values, strict=True)), args=(), kwargs=harmful).loss
    return loss.item(), torch.autograd.grad(loss, values)


def test_booster_gradient_is_lam_times_the_harmful_gradient_difference(tiny_model_path):
    ctx, batch = _ctx(tiny_model_path)
    randomize_lora_b(ctx.model)
    aligner = build_defense("booster", {"harmful": HARMFUL, "lam": 3.0, "alpha": 0.2,
                                        "harmful_batch_size": 3}).alignment_defense()
    aligner.prepare(ctx)
    assert ctx.state["booster_alignment"]["harmful_records"] == 8
    named = {n: p for n, p in ctx.model.named_parameters() if p.requires_grad}
    before = {n: p.detach().clone() for n, p in named.items()}
    term, logs, _ = _trainer_loss(aligner, ctx, batch)
    # the weights are back, bit for bit
    assert all(torch.equal(named[n], before[n]) for n in named)
    # independent: h(w), g = grad h(w); w' = w - alpha g / ||g||; grad h(w')
    picked = aligner.last_indices
    assert len(picked) == 3 and picked == harmful_sample(0, 0, 0, 0, 8, 3)
    rows = Collator(ctx.tokenizer.pad_token_id)([aligner.harmful_examples[i].to_features() for i in picked])
    harmful = {k: rows[k] for k in INPUT_KEYS}
    h, g = _harmful_loss_and_grad(ctx, before, harmful)
    norm = _flat(g).norm()
    moved = {n: before[n] - 0.2 * gi / norm for n, gi in zip(before, g, strict=True)}
    h2, g2 = _harmful_loss_and_grad(ctx, moved, harmful)
    expected = [3.0 * (a - b) for a, b in zip(g, g2, strict=True)]
    got = torch.autograd.grad(term, list(named.values()))
    assert _flat(expected).norm() > 0
    # float32: w' is rounded differently here (alpha g / ||g|| vs g * (alpha / ||g||)), so g' agrees to
    # ~1e-6 of the gradients' scale (measured: 1.5e-5 at a scale of 8.3)
    scale = _flat(expected).abs().max().item()
    for a, b in zip(got, expected, strict=True):
        assert torch.allclose(a, b, atol=1e-5 * scale, rtol=1e-4)
    # value: lam (h(w) - h(w')); the logs
    assert logs["harmful_loss"] == pytest.approx(h, rel=1e-6) and logs["harmful_loss_perturbed"] == pytest.approx(h2, rel=1e-5)
    assert logs["harmful_drop"] == pytest.approx(h - h2, rel=1e-4, abs=1e-6) and logs["harmful_drop"] > 0
    assert term.item() == pytest.approx(3.0 * logs["harmful_drop"], rel=1e-6)
    assert logs["harmful_grad_norm"] == pytest.approx(norm.item(), rel=1e-5)


def test_booster_draws_seeded_batches_per_micro_batch(tiny_model_path):
    ctx, batch = _ctx(tiny_model_path)
    aligner = build_defense("booster", {"harmful": HARMFUL}).alignment_defense()
    aligner.prepare(ctx)
    assert aligner.batch_size == 4  # null: the training batch size
    draws = []
    for step in (0, 0, 1):
        ctx.step = step
        aligner.harmful_batch(ctx)
        draws.append(aligner.last_indices)
    assert draws == [harmful_sample(0, 0, 0, 0, 8, 4), harmful_sample(0, 0, 0, 1, 8, 4), harmful_sample(0, 0, 1, 0, 8, 4)]
    assert all(len(set(d)) == 4 for d in draws) and draws[0] != draws[1]
    assert harmful_sample(1, 0, 0, 0, 8, 4) != draws[0]  # another training seed, other batches
    assert sorted(harmful_sample(0, 0, 0, 0, 3, 4)) == [0, 1, 2]  # fewer examples than the batch: all of them


def test_booster_with_lam_zero_is_the_plain_alignment_loss(tiny_model_path):
    ctx, batch = _ctx(tiny_model_path)
    aligner = build_defense("booster", {"harmful": HARMFUL, "lam": 0.0}).alignment_defense()
    aligner.prepare(ctx)
    assert _trainer_loss(aligner, ctx, batch)[:2] == (None, {})


# ---------------------------------------------------------------- through the real trainer
TRAIN = dict(steps=3, batch_size=4, save_steps=10, max_length=64, max_prompt_length=48, learning_rate=1e-2,
             lora=LoraConfig(r=4), max_truncated_fraction=0.5)


def test_vaccine_alignment_trains_and_logs_its_terms(tiny_model_path, tmp_path):
    aligner = build_defense("vaccine", {"rho": 0.5}).alignment_defense()
    train(tiny_model_path, TrainConfig(**TRAIN), aligner, _records(8), tmp_path, progress=False)
    rows = read_train_log(tmp_path / "train_log.jsonl")
    assert len(rows) == 3
    for row in rows:
        assert row["perturbation_norm"] == pytest.approx(0.5, rel=1e-5)
        assert row["clean_loss"] == pytest.approx(row["lm_loss"], rel=1e-6)
        assert row["perturbed_loss"] > row["clean_loss"]
        assert row["loss"] == pytest.approx(row["perturbed_loss"], rel=1e-4)  # the objective replaces the LM loss
    assert rows[-1]["clean_loss"] < rows[0]["clean_loss"]  # it still learns the alignment data
    assert (tmp_path / "adapter" / "adapter_config.json").exists()


def test_booster_alignment_trains_and_logs_the_harmful_drop(tiny_model_path, tmp_path):
    aligner = build_defense("booster", {"harmful": HARMFUL, "harmful_batch_size": 2}).alignment_defense()
    train(tiny_model_path, TrainConfig(**TRAIN), aligner, _records(8), tmp_path, progress=False)
    rows = read_train_log(tmp_path / "train_log.jsonl")
    assert len(rows) == 3
    for row in rows:
        assert row["defense_loss"] == pytest.approx(5.0 * row["harmful_drop"], rel=1e-5, abs=1e-7)
        assert row["loss"] == pytest.approx(row["lm_loss"] + row["defense_loss"], rel=1e-4, abs=1e-5)
        assert row["harmful_drop"] == pytest.approx(row["harmful_loss"] - row["harmful_loss_perturbed"], abs=1e-5)
        assert row["harmful_drop"] > 0 and row["harmful_grad_norm"] > 0  # the harmful step lowers h


# ---------------------------------------------------------------- pipeline integration
def test_align_with_a_defense_is_its_own_cache_entry_and_is_reused(tiny_model_path, tmp_path, monkeypatch):
    from harness import alignment
    from harness.training import engine

    monkeypatch.setenv("PROCON_BENCH_CACHE", str(tmp_path / "cache"))
    cfg = AlignmentConfig(harmful=DataSpec(builtin="harmful", split="train", limit=4),
                          harmless=DataSpec(builtin="harmless", split="train", limit=4), harmless_responses="dataset",
                          train=TrainConfig(steps=2, batch_size=4, save_steps=10, max_length=96, max_prompt_length=48,
                                            lora=LoraConfig(r=4), max_truncated_fraction=1.0))
    plain = alignment.align(tiny_model_path, cfg, None)
    vaccine = alignment.align(tiny_model_path, cfg, None, defense=build_defense("vaccine").alignment_defense())
    assert plain != vaccine and plain.parent == vaccine.parent == tmp_path / "cache" / "aligned"
    meta = (vaccine / "procon_alignment.json").read_text()
    assert '"vaccine_alignment"' in meta and '"rho": 2.0' in meta
    monkeypatch.setattr(engine, "train", lambda *a, **k: pytest.fail("the cached aligned model was retrained"))
    assert alignment.align(tiny_model_path, cfg, None, defense=build_defense("vaccine").alignment_defense()) == vaccine
    assert alignment.align(tiny_model_path, cfg, None) == plain


def test_alignment_by_full_fine_tuning_saves_the_trained_weights(tiny_model_path, tmp_path, monkeypatch):
    """alignment.train.lora: null trains every weight; the aligned model is that model (no adapter to merge)."""
    from safetensors.torch import load_file

    from harness import alignment

    monkeypatch.setenv("PROCON_BENCH_CACHE", str(tmp_path / "cache"))
    cfg = AlignmentConfig(harmful=DataSpec(builtin="harmful", split="train", limit=4),
                          harmless=DataSpec(builtin="harmless", split="train", limit=4), harmless_responses="dataset",
                          train=TrainConfig(steps=2, batch_size=4, save_steps=10, max_length=96, max_prompt_length=48,
                                            lora=None, learning_rate=1e-3, max_truncated_fraction=1.0))
    aligned = alignment.align(tiny_model_path, cfg, None)
    before, after = load_file(tiny_model_path / "model.safetensors"), load_file(aligned / "model.safetensors")
    changed = [k for k in before if k in after and not torch.equal(before[k], after[k])]
    assert changed and (aligned / "train_log.jsonl").exists()
    assert '"lora": null' in (aligned / "procon_alignment.json").read_text()
