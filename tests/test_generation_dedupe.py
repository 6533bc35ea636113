"""The Generator sends each distinct (prompt, adapter, sampling) to the engine once, in order of first
appearance, and hands every duplicate the same completion: a dict of first indices (O(n)), not a
list ``.index`` per request (O(n²))."""

from __future__ import annotations

import random

from harness.generation import Completion, GenerationRequest, Generator, SamplingConfig
from harness.generation.base import GenerationEngine
from harness.generation.cache import GenerationCache

SAMPLING = SamplingConfig(max_new_tokens=4)


class RecordingEngine:
    """Stands in for the backend: a completion that names its prompt and adapter; every call recorded."""

    def __init__(self) -> None:
        self.calls: list[tuple[str | None, list[str]]] = []

    def generate(self, prompts, sampling, adapter=None):
        self.calls.append((adapter, list(prompts)))
        return [Completion(f"{adapter}|{p}", [len(p)]) for p in prompts]

    generate_mixed = GenerationEngine.generate_mixed  # one generate call per adapter in each batch

    def close(self) -> None:
        pass


def test_twenty_thousand_duplicate_heavy_requests(tiny_model_path, tmp_path):
    adapter = tmp_path / "adapter"  # only fingerprinted: the recording engine never loads it
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    rng = random.Random(0)
    distinct = [(f"prompt {i}", a) for i in range(400) for a in (None, str(adapter))]
    requests = [GenerationRequest(*rng.choice(distinct)) for _ in range(20_000)]
    cache = GenerationCache(tmp_path / "gen.sqlite")
    gen = Generator(tiny_model_path, adapters=(str(adapter),), engine="hf", cache=cache, chunk_size=128)
    precached = {GenerationRequest("prompt 7", None), GenerationRequest("prompt 8", str(adapter))}
    cache.put_many({gen.key(r, SAMPLING): Completion(f"cached|{r.prompt}", [0]) for r in precached})
    gen._engine = engine = RecordingEngine()

    out = gen.generate(requests, SAMPLING, progress=False)

    assert len(out) == len(requests)
    for req, completion in zip(requests, out, strict=True):
        expected = f"cached|{req.prompt}" if req in precached else f"{req.adapter}|{req.prompt}"
        assert completion.text == expected
    sent = [(a, p) for a, prompts in engine.calls for p in prompts]
    assert len(sent) == len(set(sent)) == len(set(requests)) - len(precached)  # each distinct request once
    for a in (None, str(adapter)):  # per adapter, in order of first appearance (the old list.index order)
        first_seen = list(dict.fromkeys(r.prompt for r in requests if r.adapter == a
                                        and r not in precached))
        assert [p for b, p in sent if b == a] == first_seen
    assert all(len(prompts) <= 128 for _, prompts in engine.calls)
    assert gen.generated == len(sent) and gen.cached == len(requests) - len(sent)

    calls = len(engine.calls)
    again = gen.generate(requests, SAMPLING, progress=False)  # all cached now: the engine is not called
    assert again == out and len(engine.calls) == calls


def test_duplicates_get_the_same_completion_as_a_single_request(tiny_model_path, tmp_path):
    prompts = ["Hello there", "Tell me a joke", "Hello there", "Name a colour", "Tell me a joke", "Hello there"]
    dup = Generator(tiny_model_path, engine="hf", cache=GenerationCache(tmp_path / "a.sqlite"))
    out = dup.generate([GenerationRequest(p) for p in prompts], SAMPLING, progress=False)
    dup.close()
    assert dup.generated == 3 and dup.cached == 3
    single = Generator(tiny_model_path, engine="hf", cache=GenerationCache(tmp_path / "b.sqlite"))
    ref = dict(zip(dict.fromkeys(prompts), single.generate([GenerationRequest(p) for p in dict.fromkeys(prompts)],
                                                            SAMPLING, progress=False), strict=True))
    single.close()
    assert out == [ref[p] for p in prompts]
