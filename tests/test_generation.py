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
    records = [r for name in ("harmful", "harmless")
               for r in load_records(DataSpec(builtin=name, split="test", limit=per_set))]
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
    gen = Generator(tiny_model_path, adapters=(tiny_adapter,), engine="vllm",
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
