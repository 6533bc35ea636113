"""Safe LoRA (Hsu et al. 2024) on the tiny model: the projection it claims, layer by layer.

The "aligned" model is the tiny model with a merged rank-8 LoRA (a known alignment update V per weight),
except one weight the alignment leaves alone (V = 0). The fine-tuned adapter's B matrices are built so
that the expected outcome is known: one update in V's top singular direction (s = 1, kept), one
orthogonal to span(V) (s = 0, projected), one inside span(V) along several directions (s < 1 with the
paper's C, s = 1 with the exact projector), the rest random. Every similarity and every projected B is
checked against a dense computation of C = V V^T / ||V||_F and dW = scale * B A.
"""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from defenses import available_defenses, build_defense
from defenses.base import DefenseContext
from defenses.safelora import SafeLoRA
from harness.config import LoraConfig, TrainConfig
from harness.errors import UserError
from harness.models import load_model, load_tokenizer
from harness.records import Record
from harness.training.engine import train
from tests.conftest import make_lora_adapter

FT_TARGETS = ["q_proj", "v_proj", "up_proj", "down_proj"]
IN_SPAN = "model.layers.0.self_attn.q_proj"  # B along V's top left singular vector: s = 1
ORTHOGONAL = "model.layers.0.self_attn.v_proj"  # B orthogonal to span(V): s = 0
IN_SPAN_MULTI = "model.layers.0.mlp.up_proj"  # B inside span(V), several singular directions
UNTOUCHED = "model.layers.1.self_attn.v_proj"  # the alignment did not change this weight: V = 0
ALIGN_RANK = 8


@pytest.fixture(scope="module")
def aligned_path(tmp_path_factory, tiny_model_path):
    """The tiny model + a merged rank-8 LoRA on every projection, except layer 1's v_proj (kept)."""
    from peft import PeftModel

    root = tmp_path_factory.mktemp("safelora")
    adapter = make_lora_adapter(tiny_model_path, root / "align-lora", r=ALIGN_RANK, b_std=0.5)
    base = load_model(tiny_model_path)
    kept = base.get_submodule(UNTOUCHED).weight.detach().clone()
    merged = PeftModel.from_pretrained(base, str(adapter)).merge_and_unload()
    with torch.no_grad():
        merged.get_submodule(UNTOUCHED).weight.copy_(kept)
    merged.save_pretrained(root / "aligned")
    load_tokenizer(tiny_model_path).save_pretrained(root / "aligned")
    return root / "aligned"


def _weights(path):
    return {k: v.double() for k, v in load_file(str(path / "model.safetensors")).items()}


def _alignment(tiny_model_path, aligned_path):
    """name -> V = W_aligned - W_unaligned (float64) of every linear weight."""
    before, after = _weights(tiny_model_path), _weights(aligned_path)
    return {k[: -len(".weight")]: after[k] - before[k] for k in after if k.endswith("_proj.weight")}


def _c(v):
    return v @ v.T / torch.linalg.matrix_norm(v)


def _basis(v, rank=ALIGN_RANK):
    return torch.linalg.svd(v, full_matrices=False)[0][:, :rank]


def _dense_similarity(c, dw):
    return float(torch.nn.functional.cosine_similarity((c @ dw).flatten(), dw.flatten(), dim=0))


def _finetuned_ctx(aligned_path, tiny_model_path, run_dir, v, seed=0):
    """A LoRA model on the aligned start model whose B matrices are set as the module doc says."""
    from peft import LoraConfig as PeftLora
    from peft import get_peft_model

    torch.manual_seed(seed)
    model = get_peft_model(load_model(aligned_path), PeftLora(r=4, lora_alpha=8, target_modules=FT_TARGETS))
    base = model.get_base_model()
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, module in base.named_modules():
            if not hasattr(module, "lora_B"):
                continue
            b = module.lora_B["default"].weight
            r = torch.randn(b.shape, generator=gen, dtype=torch.float64)
            if name == IN_SPAN:
                r = _basis(v[name], 1) @ r[:1]
            elif name == ORTHOGONAL:
                u = _basis(v[name])
                r = r - u @ (u.T @ r)
            elif name == IN_SPAN_MULTI:
                r = _basis(v[name]) @ torch.randn((ALIGN_RANK, b.shape[1]), generator=gen, dtype=torch.float64)
            b.copy_(0.3 * r)
    cfg = TrainConfig(steps=1, batch_size=4, lora=LoraConfig(r=4, alpha=8, target_modules=FT_TARGETS))
    return DefenseContext(model=model, tokenizer=load_tokenizer(aligned_path), base_model_path=aligned_path,
                          train_config=cfg, examples=[], run_dir=run_dir, unaligned_model_path=tiny_model_path)


def _lora(ctx):
    """name -> (A, B, scale) of every LoRA layer (live parameters)."""
    base = ctx.model.get_base_model()
    return {name: (m.lora_A["default"].weight, m.lora_B["default"].weight, m.scaling["default"])
            for name, m in base.named_modules() if hasattr(m, "lora_B")}


def _run(ctx, params=None):
    """(defense, B before) after prepare + finalize."""
    before = {name: b.detach().clone() for name, (_, b, _) in _lora(ctx).items()}
    defense = build_defense("safelora", params)
    defense.prepare(ctx)
    defense.finalize(ctx)
    return defense, before


def _expected_similarity(ctx, before, v, project):
    """name -> dense s for every layer with a nonzero V."""
    return {name: _dense_similarity(project(v[name]), scale * before[name].double() @ a.detach().double())
            for name, (a, _, scale) in _lora(ctx).items() if v[name].any()}


def _records(n):
    return [Record(f"r{i}", f"Please list {i} fruits and {i * 2} animals", f"Sure: {i} apples, {i} pears") for i in range(n)]


# ---------------------------------------------------------------- registry, params
def test_registered_with_the_authors_defaults():
    assert "safelora" in available_defenses()
    d = build_defense("safelora")
    assert d.needs_unaligned_model
    p = d.params
    assert (p.select, p.threshold, p.num_layers, p.projection, p.unaligned) == ("threshold", 0.5, 10, "paper", None)


@pytest.mark.parametrize(("params", "match"), [
    ({"threshold": 1.5}, "threshold: expected a cosine similarity in"),
    ({"select": "top"}, "expected one of threshold, number"),
    ({"num_layers": 0}, "num_layers: expected an integer >= 1"),
    ({"projection": "svd"}, "expected one of paper, exact"),
    ({"unaligned": " "}, "unaligned: expected a model reference"),
    ({"rank": 4}, "unknown field"),
])
def test_params_are_validated(params, match):
    with pytest.raises(UserError, match=match) as exc:
        build_defense("safelora", params)
    assert "\n" not in str(exc.value)


def test_unaligned_reference_is_checked_before_any_model_loads(tmp_path):
    with pytest.raises(UserError, match=r"params.unaligned: model .* not found") as exc:
        build_defense("safelora", {"unaligned": str(tmp_path / "nope")}).check()
    assert "\n" not in str(exc.value)


def test_unaligned_model_errors_are_one_line(aligned_path, tiny_model_path, tmp_path):
    from transformers import LlamaConfig, LlamaForCausalLM

    v = _alignment(tiny_model_path, aligned_path)
    ctx = _finetuned_ctx(aligned_path, tiny_model_path, tmp_path, v)
    # (the pipeline's unaligned model, params, error)
    cases = [(tiny_model_path, {"unaligned": str(tiny_model_path)}, "has an alignment stage.*set unaligned: null"),
             (None, None, "needs the unaligned model: add an alignment: stage, or set"),
             (aligned_path, None, "is the start model itself")]
    other = tmp_path / "other"  # same names, another MLP width
    LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=128, intermediate_size=64, num_hidden_layers=2,
                                 num_attention_heads=2, num_key_value_heads=2)).save_pretrained(other)
    cases.append((other, None, r"mlp.up_proj is \[256, 128\] in the model being trained but \[64, 128\]"))
    for unaligned, params, match in cases:
        ctx.unaligned_model_path = unaligned
        with pytest.raises(UserError, match=match) as exc:
            build_defense("safelora", params).prepare(ctx)
        assert "\n" not in str(exc.value)


# ---------------------------------------------------------------- the projection, layer by layer
def test_threshold_projects_exactly_the_low_similarity_layers(aligned_path, tiny_model_path, tmp_path):
    v = _alignment(tiny_model_path, aligned_path)
    ctx = _finetuned_ctx(aligned_path, tiny_model_path, tmp_path, v)
    a_before = {name: a.detach().clone() for name, (a, _, _) in _lora(ctx).items()}
    defense, before = _run(ctx)
    expected = _expected_similarity(ctx, before, v, _c)
    assert set(defense.similarity) == set(expected) == set(before) - {UNTOUCHED}
    for name, s in expected.items():
        assert defense.similarity[name] == pytest.approx(s, abs=1e-6)
    assert defense.similarity[IN_SPAN] == pytest.approx(1.0, abs=1e-6)
    assert defense.similarity[ORTHOGONAL] == pytest.approx(0.0, abs=1e-6)
    assert defense.similarity[IN_SPAN_MULTI] < 0.99  # the paper's C reweights inside span(V)
    projected = [name for name in before if name in expected and expected[name] < 0.5]
    assert defense.projected == projected and ORTHOGONAL in projected and IN_SPAN not in projected
    assert 0 < len(projected) < len(expected)  # the random layers fall on both sides of 0.5
    for name, (a, b, _) in _lora(ctx).items():
        assert torch.equal(a, a_before[name])  # only B is projected
        if name in projected:
            assert torch.allclose(b.detach().double(), _c(v[name]) @ before[name].double())
        else:
            assert torch.equal(b, before[name])
    assert float(_lora(ctx)[ORTHOGONAL][1].detach().abs().max()) < 1e-5  # pulled into span(V): nothing left
    state = ctx.state["safelora"]
    assert (state["mode"], state["layers"], state["n_projected"], state["projected"]) == ("lora", 8, len(projected),
                                                                                         projected)
    assert (state["skipped_zero_alignment"], state["skipped_zero_alignment_layers"]) == (1, [UNTOUCHED])
    assert state["zero_update"] == 0
    assert state["similarity"]["min"] == pytest.approx(min(expected.values()), abs=1e-6)
    assert state["similarity"]["max"] == pytest.approx(max(expected.values()), abs=1e-6)
    assert state["similarity"]["mean"] == pytest.approx(sum(expected.values()) / len(expected), abs=1e-6)
    assert state["per_layer_similarity"] == defense.similarity
    json.dumps(state)  # goes into train_config.json


@pytest.mark.parametrize("select", ["number", "threshold"])
def test_selection_by_number_or_threshold_picks_the_lowest(aligned_path, tiny_model_path, tmp_path, select):
    v = _alignment(tiny_model_path, aligned_path)
    ctx = _finetuned_ctx(aligned_path, tiny_model_path, tmp_path, v)
    probe, _ = _run(_finetuned_ctx(aligned_path, tiny_model_path, tmp_path, v))
    ranked = sorted(probe.similarity, key=probe.similarity.get)
    k = 3
    params = ({"select": "number", "num_layers": k} if select == "number"
              else {"threshold": (probe.similarity[ranked[k - 1]] + probe.similarity[ranked[k]]) / 2})
    defense, before = _run(ctx, params)
    assert sorted(defense.projected) == sorted(ranked[:k]) and ranked[0] == ORTHOGONAL
    for name, (_, b, _) in _lora(ctx).items():
        assert torch.equal(b, before[name]) == (name not in ranked[:k])


def test_exact_projector_is_the_orthogonal_projection_on_span_v(aligned_path, tiny_model_path, tmp_path):
    v = _alignment(tiny_model_path, aligned_path)
    ctx = _finetuned_ctx(aligned_path, tiny_model_path, tmp_path, v)
    defense, before = _run(ctx, {"projection": "exact", "threshold": 0.9})

    def projector(vi):
        u = _basis(vi)
        return u @ u.T

    expected = _expected_similarity(ctx, before, v, projector)
    for name, s in expected.items():
        assert defense.similarity[name] == pytest.approx(s, abs=1e-6)
    assert defense.similarity[IN_SPAN] == pytest.approx(1.0, abs=1e-6)
    assert defense.similarity[IN_SPAN_MULTI] == pytest.approx(1.0, abs=1e-6)  # < 0.99 with the paper's C
    assert defense.similarity[ORTHOGONAL] == pytest.approx(0.0, abs=1e-6)
    assert defense.projected == [n for n in before if n in expected and expected[n] < 0.9]
    for name in defense.projected:
        b = _lora(ctx)[name][1]
        assert torch.allclose(b.detach().double(), projector(v[name]) @ before[name].double(), atol=1e-7)
        # s is the fraction of the update's norm inside span(V)
        assert defense.norm_ratio[name] == pytest.approx(defense.similarity[name], abs=1e-6)


def test_full_fine_tuning_projects_the_full_update(aligned_path, tiny_model_path, tmp_path):
    v = _alignment(tiny_model_path, aligned_path)
    model = load_model(aligned_path)
    aligned = {n: p.detach().clone() for n, p in model.named_parameters()}
    gen = torch.Generator().manual_seed(3)
    kept = "model.layers.1.mlp.gate_proj"  # not fine-tuned: a zero update
    with torch.no_grad():
        for name, param in model.named_parameters():
            module = name[: -len(".weight")]
            if module == kept:
                continue
            d = 0.05 * torch.randn(param.shape, generator=gen, dtype=torch.float64)
            if module == IN_SPAN:
                d = _basis(v[module], 1) @ d[:1]
            elif module == ORTHOGONAL:
                u = _basis(v[module])
                d = d - u @ (u.T @ d)
            param.add_(d.to(param.dtype))
    trained = {n: p.detach().clone() for n, p in model.named_parameters()}
    cfg = TrainConfig(steps=1, batch_size=4, lora=None)
    ctx = DefenseContext(model=model, tokenizer=None, base_model_path=aligned_path, train_config=cfg, examples=[],
                         run_dir=tmp_path)
    defense = build_defense("safelora", {"unaligned": str(tiny_model_path)})  # a run without alignment stage
    defense.prepare(ctx)
    defense.finalize(ctx)
    state = ctx.state["safelora"]
    assert (state["mode"], state["layers"], state["zero_update"], state["skipped_zero_alignment"]) == ("full", 14, 1, 1)
    assert defense.similarity[IN_SPAN] == pytest.approx(1.0, abs=1e-6)
    assert defense.similarity[ORTHOGONAL] == pytest.approx(0.0, abs=1e-6)
    assert ORTHOGONAL in defense.projected and IN_SPAN not in defense.projected
    for name, param in model.named_parameters():
        module = name[: -len(".weight")]
        if module in defense.projected:
            dw = trained[name].double() - aligned[name].double()
            assert defense.similarity[module] == pytest.approx(_dense_similarity(_c(v[module]), dw), abs=1e-6)
            assert torch.allclose(param.detach().double(), aligned[name].double() + _c(v[module]) @ dw, atol=1e-6)
        else:  # unselected linears, norms, embeddings, the LM head: as trained
            assert torch.equal(param, trained[name])


# ---------------------------------------------------------------- through the real trainer
class _Snapshot(SafeLoRA):
    def finalize(self, ctx):
        self.before = {n: p.detach().clone() for n, p in ctx.model.named_parameters()}
        super().finalize(ctx)


@pytest.mark.parametrize("lora", [True, False])
def test_training_run_saves_the_projected_weights(aligned_path, tiny_model_path, tmp_path, lora):
    v = _alignment(tiny_model_path, aligned_path)
    cfg = TrainConfig(steps=2, batch_size=4, save_steps=10, max_length=64, max_prompt_length=48,
                      learning_rate=1e-2, lora=LoraConfig(r=4) if lora else None)
    defense = _Snapshot(build_defense("safelora", {"select": "number", "num_layers": 3}).params)
    result = train(aligned_path, cfg, defense, _records(8), tmp_path, progress=False, unaligned_path=tiny_model_path)
    state = json.loads((tmp_path / "train_config.json").read_text())["state"]["safelora"]
    assert state["layers"] == 14 and state["skipped_zero_alignment"] == 1 and state["n_projected"] == 3
    assert state["projected"] == defense.projected and state["unaligned"] == str(tiny_model_path)
    if lora:
        saved = load_file(str(result.output / "adapter_model.safetensors"))
        for name in {n for n, _ in _lora_names(defense.before)}:
            key = f"base_model.model.{name}.lora_B.weight"
            b_before = defense.before[f"base_model.model.{name}.lora_B.default.weight"]
            if name in defense.projected:
                assert torch.allclose(saved[key].double(), _c(v[name]) @ b_before.double())
            else:
                assert torch.equal(saved[key], b_before)
    else:
        saved = load_file(str(result.output / "model.safetensors"))
        aligned = _weights(aligned_path)
        for name in defense.projected:
            key = f"{name}.weight"
            dw = defense.before[key].double() - aligned[key]
            assert torch.allclose(saved[key].double(), aligned[key] + _c(v[name]) @ dw, atol=1e-6)
        others = [k for k in saved if k[: -len(".weight")] not in defense.projected]
        assert others and all(torch.equal(saved[k], defense.before[k]) for k in others)


def _lora_names(params):
    for key in params:
        if key.endswith(".lora_B.default.weight"):
            yield key[len("base_model.model."): -len(".lora_B.default.weight")], key
