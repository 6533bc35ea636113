"""Generation: one interface (``Generator``) over vLLM and transformers, with a content-addressed cache."""

from __future__ import annotations

import importlib
from collections import defaultdict
from pathlib import Path

from tqdm.auto import tqdm

from harness.errors import unknown_name
from harness.generation.base import (
    Completion,
    GenerationEngine,
    GenerationRequest,
    SamplingConfig,
    package_version,
)
from harness.generation.cache import GenerationCache
from harness.generation.serving import SERVING, merged_weights, resolve_serving
from harness.io import fingerprint_dir, sha256_json

ENGINES = {"vllm": "harness.generation.vllm_engine:VLLMEngine", "hf": "harness.generation.hf_engine:HFEngine"}

__all__ = ["SERVING", "Completion", "GenerationRequest", "Generator", "SamplingConfig", "engine_class",
           "resolve_engine"]


def resolve_engine(name: str) -> str:
    """``auto`` picks vLLM when it imports, else transformers."""
    if name == "auto":
        from harness.generation.vllm_engine import vllm_available

        return "vllm" if vllm_available() else "hf"
    if name not in ENGINES:
        raise unknown_name("engine", name, [*ENGINES, "auto"])
    return name


def engine_class(name: str) -> type[GenerationEngine]:
    module, attr = ENGINES[resolve_engine(name)].split(":")
    return getattr(importlib.import_module(module), attr)


class Generator:
    """Cached, resumable generation for one base model and any number of its LoRA adapters.

    ``adapter_serving`` (``harness.generation.serving``): ``lora`` mixes every adapter's requests in
    one engine's batches, ``merged`` serves each adapter as merged weights by an engine of its own,
    ``auto`` picks per device. The backend is started lazily: a fully cached run never loads a model.
    """

    def __init__(self, model_path: str | Path, adapters: tuple[str, ...] = (), engine: str = "auto",
                 dtype: str = "float32", max_model_len: int = 1024, cache: GenerationCache | None = None,
                 chunk_size: int = 128, engine_kwargs: dict | None = None, adapter_serving: str = "auto") -> None:
        self.model_path = str(model_path)
        self.adapters = tuple(str(a) for a in adapters)
        self.engine_name = resolve_engine(engine)
        self.engine_cls = engine_class(self.engine_name)
        self.serving = resolve_serving(adapter_serving, self.engine_name)
        self.dtype = dtype
        self.max_model_len = max_model_len
        self.cache = cache if cache is not None else GenerationCache()  # an empty cache is falsy (__len__)
        self.chunk_size = chunk_size
        self.engine_kwargs = engine_kwargs or {}
        self._engine: GenerationEngine | None = None
        self._fingerprints = {None: fingerprint_dir(self.model_path)}
        for a in self.adapters:
            self._fingerprints[a] = fingerprint_dir(a)
        self.generated = 0  # completions produced by the backend (not the cache) in this object's life
        self.cached = 0  # requests served without the backend (cache hits and in-call duplicates)
        self._settings = {
            "engine": self.engine_cls.engine_version(),
            "dtype": self.dtype,
            "max_model_len": self.max_model_len,
            "settings": self.engine_cls.output_settings(**self.engine_kwargs),
            "model": self._fingerprints[None],
        }
        self._adapter_packages = {p: package_version(p) for p in self.engine_cls.adapter_packages}

    @property
    def engine(self) -> GenerationEngine:
        """The engine on the base weights (holding every adapter when they are served as LoRA)."""
        if self._engine is None:
            adapters = self.adapters if self.serving == "lora" else ()
            self._engine = self._start(self.model_path, adapters)
        return self._engine

    def _start(self, model_path: str, adapters: tuple[str, ...]) -> GenerationEngine:
        return self.engine_cls(model_path, dtype=self.dtype, max_model_len=self.max_model_len,
                               adapters=adapters, **self.engine_kwargs)

    def key(self, request: GenerationRequest, sampling: SamplingConfig) -> str:
        """Cache key: everything that can change the output tokens (see README 'Caching and resume')."""
        adapter = {"adapter": self._fingerprints[request.adapter],
                   "adapter_packages": self._adapter_packages} if request.adapter else {"adapter": None}
        if request.adapter and self.serving == "merged":  # merged weights round differently from LoRA kernels
            adapter = {**adapter, "served": "merged"}
        return sha256_json({**self._settings, **adapter, "prompt": request.prompt, "sampling": sampling.to_dict()})

    def keys(self, requests: list[GenerationRequest], sampling: SamplingConfig) -> list[str]:
        return [self.key(r, sampling) for r in requests]

    def generate(self, requests: list[GenerationRequest], sampling: SamplingConfig | None = None,
                 desc: str = "generate", progress: bool = True) -> list[Completion]:
        return self.generate_jobs([(requests, sampling or SamplingConfig())], desc, progress)[0]

    def generate_jobs(self, jobs: list[tuple[list[GenerationRequest], SamplingConfig]], desc: str = "generate",
                      progress: bool = True) -> list[list[Completion]]:
        """Several request lists, each with its own sampling (an evaluation's benchmarks), in one pass:
        with merged weights every adapter is merged and its engine started once for all of them."""
        keys = [self.keys(requests, sampling) for requests, sampling in jobs]
        results = self.cache.get_many(list(dict.fromkeys(k for ks in keys for k in ks)))
        todo: list[tuple[int, int]] = []  # (job, request) pairs the backend must generate
        first: set[str] = set()  # keys already planned: duplicates are generated once, O(n)
        for j, job_keys in enumerate(keys):
            for i, key in enumerate(job_keys):
                if key not in results and key not in first:
                    first.add(key)
                    todo.append((j, i))
        total = sum(len(ks) for ks in keys)
        with tqdm(total=total, initial=total - len(todo), desc=desc, unit="prompt", disable=not progress,
                  dynamic_ncols=True) as bar:

            def run(engine: GenerationEngine, items: list[tuple[int, int]], lora: bool) -> None:
                by_job: dict[int, list[int]] = defaultdict(list)
                for j, i in items:
                    by_job[j].append(i)
                for j, indices in by_job.items():
                    requests, sampling = jobs[j]
                    for start in range(0, len(indices), self.chunk_size):
                        chunk = indices[start : start + self.chunk_size]
                        outs = engine.generate_mixed([requests[i].prompt for i in chunk], sampling,
                                                     [requests[i].adapter if lora else None for i in chunk])
                        new = {keys[j][i]: out for i, out in zip(chunk, outs, strict=True)}
                        self.cache.put_many(new)  # committed now: a kill after this loses nothing
                        results.update(new)
                        self.generated += len(chunk)
                        bar.update(len(chunk))

            if self.serving == "lora":  # one engine, every adapter's requests in the same batches
                if todo:
                    run(self.engine, todo, lora=True)
            else:  # base requests on the base engine, then each adapter on its merged weights
                by_adapter: dict[str | None, list[tuple[int, int]]] = defaultdict(list)
                for j, i in todo:
                    by_adapter[jobs[j][0][i].adapter].append((j, i))
                if None in by_adapter:
                    run(self.engine, by_adapter.pop(None), lora=False)
                for adapter, items in by_adapter.items():
                    self.close()  # one engine in memory at a time
                    with merged_weights(self.model_path, adapter) as folder:
                        engine = self._start(str(folder), ())
                        try:
                            run(engine, items, lora=False)
                        finally:
                            engine.close()
        self.cached += total - len(todo)
        return [[results[k] for k in job_keys] for job_keys in keys]

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None
