"""transformers backend: batched ``generate`` with left padding; LoRA through PEFT."""

from __future__ import annotations

import torch

from harness.generation.base import Completion, GenerationEngine, SamplingConfig, package_version
from harness.models import load_model, load_tokenizer


class HFEngine(GenerationEngine):
    name = "hf"

    def __init__(self, *args, batch_size: int = 64, device: str | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.batch_size = batch_size
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = load_tokenizer(self.model_path)
        self.tokenizer.padding_side = "left"
        self.model = load_model(self.model_path, self.dtype, self.device).eval()
        self._adapter_names: dict[str, str] = {}
        for adapter in self.adapters:
            self._load_adapter(adapter)

    @classmethod
    def engine_version(cls) -> str:
        return f"hf-transformers-{package_version('transformers')}-torch-{package_version('torch').split('+')[0]}"

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

    @torch.inference_mode()
    def generate(self, prompts: list[str], sampling: SamplingConfig, adapter: str | None = None) -> list[Completion]:
        out: list[Completion] = []
        gen_kwargs = {"max_new_tokens": sampling.max_new_tokens, "pad_token_id": self.tokenizer.pad_token_id}
        if sampling.greedy:
            gen_kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        else:
            gen_kwargs.update(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p, top_k=None)
            torch.manual_seed(sampling.seed)
        with self._context(adapter):
            for start in range(0, len(prompts), self.batch_size):
                batch = prompts[start : start + self.batch_size]
                enc = self.tokenizer(batch, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
                seqs = self.model.generate(**enc, **gen_kwargs)
                for row in seqs[:, enc["input_ids"].shape[1] :].tolist():
                    ids = _strip_after_eos(row, self.model.generation_config.eos_token_id, self.tokenizer.pad_token_id)
                    out.append(Completion(self.tokenizer.decode(ids, skip_special_tokens=True), ids))
        return out

    def close(self) -> None:
        del self.model
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _strip_after_eos(ids: list[int], eos, pad: int | None) -> list[int]:
    """Keep tokens up to and including the first EOS, matching vLLM's output token ids."""
    eos_ids = set(eos if isinstance(eos, list) else [eos]) - {None}
    for i, tok in enumerate(ids):
        if tok in eos_ids:
            return ids[: i + 1]
    return [t for t in ids if t != pad] if pad not in eos_ids else ids
