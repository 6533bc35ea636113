"""Our generation engine as an lm-evaluation-harness model: ``lm_eval --model procon`` semantics.

* ``generate_until`` goes through our cached ``Generator`` (vLLM or transformers, LoRA adapters as
  requests): one generate call per distinct sampling setting, greedy unless the task samples. The
  engine runs to EOS or ``max_gen_toks`` (our ``SamplingConfig`` has no stop strings); lm-eval's
  ``until`` is then applied by cutting the text at the first stop string, which gives the same
  text as stopping there (the tokens before a stop string do not depend on what follows). The
  cache stores the uncut completion, so a task with other stop strings reuses it.
* ``loglikelihood`` / ``loglikelihood_rolling`` go through transformers (the same base model +
  optional LoRA adapter through PEFT): right-padded batches, the exact sum of the continuation
  tokens' log-probs and whether greedy decoding would produce them, as lm-eval's ``hf`` model.
  Rolling windows use ``lm_eval.utils.get_rolling_token_windows`` with lm-eval's settings.

Tokenisation follows lm-eval's ``hf`` model defaults: no special tokens are added (so no BOS;
``prefix_token_id`` = BOS, else EOS, conditions an empty context), and the context limit is ours:
``evaluation.max_model_len`` capped by the model's position embeddings, as in generation.

On a GPU with the vLLM engine, vLLM reserves most of the device memory, so the generation engine
and the scoring model are never held together there: each is released before the other loads
(``exclusive``). Elsewhere both stay loaded for the whole run.
"""

from __future__ import annotations

import logging
import sys
from collections import defaultdict
from pathlib import Path

import torch
from lm_eval.api.model import TemplateLM
from lm_eval.api.registry import register_model
from lm_eval.models.utils import handle_stop_sequences, normalize_gen_kwargs
from lm_eval.utils import get_rolling_token_windows, make_disjoint_window
from tqdm.auto import tqdm

from harness.generation import GenerationRequest, Generator, SamplingConfig
from harness.generation.base import context_limit
from harness.generation.cache import GenerationCache
from harness.models import load_model, load_tokenizer

DEFAULT_MAX_GEN_TOKS = 256  # lm-eval's default when a task sets no max_gen_toks
DEFAULT_BATCH_SIZE = 16  # loglikelihood windows per forward pass
_SAMPLING_KEYS = {"until", "max_gen_toks", "do_sample", "temperature", "top_p"}
_WARNED: set[tuple[str, ...]] = set()  # ignored generation kwargs already reported (once per process)

log = logging.getLogger(__name__)


def cut_at_stop(text: str, until: list[str]) -> str:
    """``text`` up to the first occurrence of any non-empty stop string (lm-eval's ``hf`` does the same)."""
    cut = len(text)
    for stop in until:
        if stop:
            at = text.find(stop)
            if at != -1:
                cut = min(cut, at)
    return text[:cut]


def sampling_from_gen_kwargs(gen_kwargs: dict, default_max_gen_toks: int, seed: int) -> tuple[SamplingConfig, list[str]]:
    """lm-eval generation kwargs -> our ``SamplingConfig`` and the stop strings (EOS is handled by the engine)."""
    kwargs = normalize_gen_kwargs(gen_kwargs, default_max_gen_toks)
    until = handle_stop_sequences(kwargs.pop("until", None), eos=None)
    ignored = tuple(sorted(set(kwargs) - _SAMPLING_KEYS))
    if ignored and ignored not in _WARNED:
        _WARNED.add(ignored)
        print(f"warning: lm-eval generation kwargs {', '.join(ignored)} are not supported by procon-bench's "
              "engines and are ignored (supported: until, max_gen_toks, do_sample, temperature, top_p)",
              file=sys.stderr)
    greedy = not kwargs.get("do_sample") or float(kwargs.get("temperature", 0.0)) == 0.0
    sampling = SamplingConfig(max_new_tokens=int(kwargs["max_gen_toks"]),
                              temperature=0.0 if greedy else float(kwargs.get("temperature", 1.0)),
                              top_p=float(kwargs.get("top_p", 1.0) or 1.0), seed=seed)
    return sampling, until


def _device(device: str | None) -> str:
    return device or ("cuda" if torch.cuda.is_available() else "cpu")


class LogprobScorer:
    """A transformers causal LM (one base, any of its LoRA adapters via PEFT) that scores token sequences.

    Loaded on first use; ``release()`` frees it (it reloads when asked again)."""

    def __init__(self, model_path: str | Path, adapters: tuple[str, ...] = (), dtype: str = "float32",
                 device: str | None = None, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self.model_path = str(model_path)
        self.adapters = tuple(dict.fromkeys(str(a) for a in adapters))
        self.dtype = dtype
        self.device = _device(device)
        self.batch_size = batch_size
        self._model = None
        self._names: dict[str, str] = {}

    @property
    def model(self):
        if self._model is None:
            model = load_model(self.model_path, self.dtype, self.device).eval()
            self._names = {}
            if self.adapters:
                from peft import PeftModel

                for i, adapter in enumerate(self.adapters):
                    name = f"a{i}"
                    if i == 0:
                        model = PeftModel.from_pretrained(model, adapter, adapter_name=name).eval()
                    else:
                        model.load_adapter(adapter, adapter_name=name)
                    self._names[adapter] = name
            self._model = model
        return self._model

    def _context(self, adapter: str | None):
        import contextlib

        model = self.model
        if adapter is not None:
            if adapter not in self._names:
                raise ValueError(f"adapter {adapter} was not declared when the scorer was built")
            model.set_adapter(self._names[adapter])
            return contextlib.nullcontext()
        return model.disable_adapter() if self._names else contextlib.nullcontext()

    @torch.inference_mode()
    def score(self, windows: list[tuple[list[int], list[int]]], adapter: str | None = None,
              progress: bool = True) -> list[tuple[float, bool]]:
        """``(context tokens, continuation tokens)`` -> (sum of the continuation's log-probs, is greedy).

        The caller has already cut each pair to fit the context (``len(ctx) + len(cont) - 1 <= limit``).
        Pairs are sorted by length (longest first) and right-padded into batches: padding after a
        sequence does not change a causal model's logits at its positions."""
        order = sorted(range(len(windows)), key=lambda i: -(len(windows[i][0]) + len(windows[i][1])))
        out: list[tuple[float, bool] | None] = [None] * len(windows)
        with self._context(adapter), tqdm(total=len(windows), desc="loglikelihood", unit="window",
                                          disable=not progress, dynamic_ncols=True) as bar:
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                seqs = [(windows[i][0] + windows[i][1])[:-1] for i in batch]
                width = max(len(s) for s in seqs)
                ids = torch.zeros((len(seqs), width), dtype=torch.long)
                mask = torch.zeros((len(seqs), width), dtype=torch.long)
                for row, s in enumerate(seqs):
                    ids[row, : len(s)] = torch.tensor(s, dtype=torch.long)
                    mask[row, : len(s)] = 1
                logits = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device)).logits
                for row, i in enumerate(batch):
                    cont = windows[i][1]
                    end = len(seqs[row])
                    # the positions that predict the continuation (log-softmax in fp32 over them only)
                    span = torch.log_softmax(logits[row, end - len(cont) : end].float(), dim=-1)
                    target = torch.tensor(cont, dtype=torch.long, device=span.device)
                    total = span.gather(1, target[:, None]).sum().item()
                    out[i] = (float(total), bool((span.argmax(-1) == target).all().item()))
                bar.update(len(batch))
        return out  # type: ignore[return-value]

    def release(self) -> None:
        if self._model is not None:
            self._model = None
            if torch.cuda.is_available():
                torch.cuda.empty_cache()


@register_model("procon", "procon-bench")
class ProconLM(TemplateLM):
    """lm-eval model over procon-bench's engines. Build it from strings (``lm_eval`` model_args:
    ``pretrained=REF,adapter=DIR,engine=hf``), or hand it a shared ``generator`` and ``scorer`` so that
    several adapters of one base share one engine (``harness.tasks.lm_eval_run`` does)."""

    def __init__(self, pretrained: str | None = None, adapter: str | None = None, engine: str = "auto",
                 dtype: str = "float32", max_model_len: int = 1024, batch_size: int | str | None = None,
                 device: str | None = None, max_gen_toks: int = DEFAULT_MAX_GEN_TOKS, seed: int = 0,
                 cache: str | None = None, generator: Generator | None = None, scorer: LogprobScorer | None = None,
                 exclusive: bool | None = None, progress: bool = True, **unused) -> None:
        super().__init__()
        if generator is None:
            if pretrained is None:
                raise ValueError("ProconLM: give pretrained= (a model reference) or a generator")
            from harness.models import resolve_model

            path = str(resolve_model(str(pretrained)).path)
            generator = Generator(path, adapters=(adapter,) if adapter else (), engine=engine,
                                  dtype=dtype, max_model_len=int(max_model_len),
                                  cache=GenerationCache(cache) if cache else None)
        if scorer is None:
            size = int(batch_size) if str(batch_size or "").isdigit() else DEFAULT_BATCH_SIZE
            scorer = LogprobScorer(generator.model_path, generator.adapters, generator.dtype, device, size)
        if adapter is not None and str(adapter) not in generator.adapters:
            raise ValueError(f"ProconLM: adapter {adapter} is not one of the generator's adapters")
        self.generator, self.scorer = generator, scorer
        self.adapter = str(adapter) if adapter else None
        self.tokenizer = load_tokenizer(generator.model_path)
        self.max_length = context_limit(generator.model_path, generator.max_model_len)
        self.max_gen_toks = int(max_gen_toks)
        self.seed = int(seed)
        self.progress = progress
        # vLLM on a GPU reserves most of its memory: never hold it and the scoring model together there
        self.exclusive = (generator.engine_name == "vllm" and torch.cuda.is_available()) if exclusive is None \
            else exclusive
        self._device = scorer.device
        self.truncated: dict[str, int] = defaultdict(int)  # task -> answers cut by max_model_len
        if unused:
            log.debug("ProconLM: ignored arguments %s", sorted(unused))

    # ------------------------------------------------------------ tokenisation (TemplateLM)
    @property
    def eot_token_id(self) -> int:
        return self.tokenizer.eos_token_id

    @property
    def prefix_token_id(self) -> int:
        bos = self.tokenizer.bos_token_id
        return bos if bos is not None else self.tokenizer.eos_token_id

    def tok_encode(self, string: str, add_special_tokens: bool | None = None, **kwargs) -> list[int]:
        return self.tokenizer.encode(string, add_special_tokens=bool(add_special_tokens))

    def tok_decode(self, tokens: list[int]) -> str:
        return self.tokenizer.decode(tokens, skip_special_tokens=True)

    @property
    def tokenizer_name(self) -> str:
        return self.tokenizer.name_or_path.replace("/", "__")

    def apply_chat_template(self, chat_history: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
        return self.tokenizer.apply_chat_template(chat_history, tokenize=False,
                                                  add_generation_prompt=add_generation_prompt,
                                                  continue_final_message=not add_generation_prompt)

    # ------------------------------------------------------------ scoring
    def _fit(self, context: list[int], continuation: list[int]) -> tuple[list[int], list[int]]:
        """Cut from the left to ``max_length`` input tokens, as lm-eval's ``hf`` model does."""
        whole = (context + continuation)[-(self.max_length + 1) :]
        if len(continuation) >= len(whole):
            raise ValueError(f"a continuation of {len(continuation)} tokens does not fit the context limit "
                             f"{self.max_length}; raise evaluation.max_model_len")
        return whole[: len(whole) - len(continuation)], continuation

    def _score(self, windows: list[tuple[list[int], list[int]]]) -> list[tuple[float, bool]]:
        if self.exclusive:
            self.generator.close()
        return self.scorer.score([self._fit(c, x) for c, x in windows], self.adapter, progress=self.progress)

    def _loglikelihood_tokens(self, requests, disable_tqdm: bool = False, **kwargs) -> list[tuple[float, bool]]:
        results = self._score([(context, continuation) for _, context, continuation in requests])
        for (pair, _, _), result in zip(requests, results, strict=True):
            if pair is not None:
                self.cache_hook.add_partial("loglikelihood", pair, result)
        return results

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False) -> list[float]:
        windows, owners = [], []
        for i, (string,) in enumerate(req.args for req in requests):
            for window in map(make_disjoint_window, get_rolling_token_windows(
                    token_list=self.tok_encode(string), prefix_token=self.prefix_token_id,
                    max_seq_len=self.max_length, context_len=1)):
                windows.append(window)
                owners.append(i)
        totals = [0.0] * len(requests)
        for owner, (logprob, _) in zip(owners, self._score(windows), strict=True):
            totals[owner] += logprob
        for req, total in zip(requests, totals, strict=True):
            self.cache_hook.add_partial("loglikelihood_rolling", req.args, total)
        return totals

    # ------------------------------------------------------------ generation
    def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
        if self.exclusive:
            self.scorer.release()
        groups: dict[tuple, list[int]] = defaultdict(list)
        plans: list[tuple[SamplingConfig, list[str]]] = []
        for i, req in enumerate(requests):
            context, gen_kwargs = req.args
            sampling, until = sampling_from_gen_kwargs(dict(gen_kwargs), self.max_gen_toks, self.seed)
            plans.append((sampling, until))
            groups[tuple(sorted(sampling.to_dict().items()))].append(i)
        out: list[str | None] = [None] * len(requests)
        for indices in groups.values():
            sampling = plans[indices[0]][0]
            completions = self.generator.generate(
                [GenerationRequest(requests[i].args[0], self.adapter) for i in indices], sampling,
                desc="lm-eval generate_until", progress=self.progress)
            for i, completion in zip(indices, completions, strict=True):
                task = requests[i].task_name or "(unknown)"
                self.truncated[task] += int(completion.truncated)
                out[i] = cut_at_stop(completion.text, plans[i][1])
                self.cache_hook.add_partial("generate_until", requests[i].args, out[i])
        return out  # type: ignore[return-value]
