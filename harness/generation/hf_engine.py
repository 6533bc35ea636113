"""transformers backend: batched ``generate`` with left padding; LoRA through PEFT.

Decoding settings come from our ``SamplingConfig`` only: the model's ``generation_config.json``
(repetition penalty, no-repeat n-grams, top-k, ...) is reduced to its special token ids at load, as
vLLM ignores it when given explicit ``SamplingParams``. Otherwise ``engine: auto`` would change
results depending on whether vLLM imports.
"""

from __future__ import annotations

import torch

from harness.generation.base import (
    Completion,
    GenerationEngine,
    SamplingConfig,
    context_limit,
    package_version,
    token_budgets,
)
from harness.models import load_model, load_tokenizer

DEFAULT_BATCH_SIZE = 64
_SPECIAL_IDS = ("bos_token_id", "eos_token_id", "pad_token_id", "decoder_start_token_id")


def _device(device: str | None) -> str:
    return device or ("cuda" if torch.cuda.is_available() else "cpu")


class HFEngine(GenerationEngine):
    name = "hf"
    adapter_packages = ("peft",)

    def __init__(self, *args, batch_size: int = DEFAULT_BATCH_SIZE, device: str | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from transformers import GenerationConfig

        self.batch_size = batch_size
        self.device = _device(device)
        self.limit = context_limit(self.model_path, self.max_model_len)
        self.tokenizer = load_tokenizer(self.model_path)
        self.tokenizer.padding_side = "left"
        self.model = load_model(self.model_path, self.dtype, self.device).eval()
        shipped = self.model.generation_config
        self.model.generation_config = GenerationConfig(
            **{k: getattr(shipped, k, None) for k in _SPECIAL_IDS if getattr(shipped, k, None) is not None})
        self.eos_ids = set(_as_list(shipped.eos_token_id)) - {None}
        self._adapter_names: dict[str, str] = {}
        for adapter in self.adapters:
            self._load_adapter(adapter)

    @classmethod
    def engine_version(cls) -> str:
        return f"hf-transformers-{package_version('transformers')}-torch-{package_version('torch').split('+')[0]}"

    @classmethod
    def output_settings(cls, batch_size: int = DEFAULT_BATCH_SIZE, device: str | None = None, **_) -> dict:
        # The batch is left-padded: its size changes the logits (~5e-5 on SmolLM2, fp32), so it is keyed.
        return {"device": _device(device).split(":")[0], "batch_size": batch_size}

    def _load_adapter(self, adapter: str) -> str:
        if adapter in self._adapter_names:
            return self._adapter_names[adapter]
        from peft import PeftModel

        name = f"a{len(self._adapter_names)}"
        if not self._adapter_names:
            self.model = PeftModel.from_pretrained(self.model, adapter, adapter_name=name).eval()
        else:
            self.model.load_adapter(adapter, adapter_name=name)
        self._adapter_names[adapter] = name
        return name

    def _context(self, adapter: str | None):
        import contextlib

        if adapter is not None:
            self.model.set_adapter(self._load_adapter(adapter))
            return contextlib.nullcontext()
        if self._adapter_names:
            return self.model.disable_adapter()
        return contextlib.nullcontext()

    def _generation_config(self, sampling: SamplingConfig, max_new_tokens: int):
        """Every decoding setting stated explicitly, so nothing is filled in from the model's files."""
        from transformers import GenerationConfig

        special = {k: getattr(self.model.generation_config, k) for k in _SPECIAL_IDS}
        special["pad_token_id"] = self.tokenizer.pad_token_id
        decoding = {"do_sample": True, "temperature": sampling.temperature, "top_p": sampling.top_p, "top_k": 0}
        return GenerationConfig(max_new_tokens=max_new_tokens, num_beams=1, repetition_penalty=1.0,
                                no_repeat_ngram_size=0, **({"do_sample": False} if sampling.greedy else decoding),
                                **special)

    @torch.inference_mode()
    def generate(self, prompts: list[str], sampling: SamplingConfig, adapter: str | None = None) -> list[Completion]:
        out: list[Completion] = []
        if not sampling.greedy:
            torch.manual_seed(sampling.seed)
        with self._context(adapter):
            for start in range(0, len(prompts), self.batch_size):
                batch = prompts[start : start + self.batch_size]
                enc = self.tokenizer(batch, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
                budgets = token_budgets(enc["attention_mask"].sum(1).tolist(), sampling.max_new_tokens, self.limit)
                seqs = self.model.generate(**enc, generation_config=self._generation_config(sampling, max(budgets)))
                for row, budget in zip(seqs[:, enc["input_ids"].shape[1] :].tolist(), budgets, strict=True):
                    ids = _strip_after_eos(row[:budget], self.eos_ids, self.tokenizer.pad_token_id)
                    truncated = budget < sampling.max_new_tokens and len(ids) == budget and ids[-1] not in self.eos_ids
                    out.append(Completion(self.tokenizer.decode(ids, skip_special_tokens=True), ids, truncated))
        return out

    def close(self) -> None:
        del self.model
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _as_list(ids) -> list:
    return ids if isinstance(ids, list) else [ids]


def _strip_after_eos(ids: list[int], eos_ids: set[int], pad: int | None) -> list[int]:
    """Keep tokens up to and including the first EOS, matching vLLM's output token ids."""
    for i, tok in enumerate(ids):
        if tok in eos_ids:
            return ids[: i + 1]
    return [t for t in ids if t != pad] if pad not in eos_ids else ids
