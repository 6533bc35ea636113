"""Config loading: typed dataclasses, errors that name the field, the bad value and what is accepted."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import RunConfig, from_dict, load_config
from harness.errors import UserError

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["quickstart", "ci-smoke", "eval-default"])
def test_shipped_configs_load(name):
    cfg = load_config(ROOT / "configs" / f"{name}.yaml")
    assert cfg.run == name


def test_types_are_coerced_and_nested():
    cfg = from_dict(RunConfig, {"run": "x", "training": {"learning_rate": "3e-4", "lora": {"r": 4}},
                                "defenses": [{"name": "procon", "params": {"lam": 2}}]})
    assert cfg.training.learning_rate == pytest.approx(3e-4) and cfg.training.lora.r == 4
    assert cfg.defenses[0].row_name == "procon"
    assert from_dict(RunConfig, {"run": "x", "training": {"lora": None}}).training.lora is None


@pytest.mark.parametrize(("data", "message"), [
    ({"run": "x", "training": {"lora": {"r": "sixteen"}}}, "config.training.lora.r: expected int, got 'sixteen'"),
    ({"run": "x", "trainng": {}}, "config: unknown field(s) trainng; accepted: run, model"),
    ({"run": "x", "training": {"steps": 0}}, "config.training: steps: expected a positive integer, got 0"),
    ({"run": "x", "training": {"data": {"builtin": "a", "path": "b"}}},
     "config.training.data: give exactly one of builtin, path, hub"),
    ({"run": "x", "evaluation": {"sampling": {"temperature": -1}}}, "sampling.temperature: expected >= 0"),
    ({"run": "x", "defenses": [{"name": "vanilla"}, {"name": "vanilla"}]}, "row names must be unique"),
    ({"model": "x"}, "config.run: required field is missing"),
    ({"run": "a/b"}, "run: expected a folder name without '/'"),
    ({"run": "x", "evaluation": {"engine": "vlm"}}, "engine: unknown engine 'vlm'; accepted: auto, vllm, hf"),
    ({"run": "x", "evaluation": {"limit": 0}}, "limit: expected a positive integer (or null for all prompts), got 0"),
    ({"run": "x", "training": {"lora": {"r": 0}}}, "config.training.lora: r: expected a LoRA rank >= 1, got 0"),
    ({"run": "x", "training": {"max_length": 96}}, "max_prompt_length: expected < max_length (96)"),
    ({"run": "x", "training": {"dtype": "fp8"}}, "dtype: expected one of float32, bfloat16, float16"),
    ({"run": "x", "direction": {"drift_layers": []}}, "drift_layers: expected at least one layer index"),
])
def test_errors_name_the_field(data, message):
    with pytest.raises(UserError) as err:
        from_dict(RunConfig, data, "config")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_yaml_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("run: x\ntraining: [unclosed\n")
    with pytest.raises(UserError, match=r"bad.yaml: invalid YAML at line \d"):
        load_config(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n")
    with pytest.raises(UserError, match="expected a mapping at the top level"):
        load_config(listy)
    with pytest.raises(UserError, match="file not found"):
        load_config(tmp_path / "nope.yaml")


def test_input_files_that_are_not_what_they_claim(tmp_path):
    binary = tmp_path / "cfg.yaml"
    binary.write_bytes(b"run: x\n\xff\xfe\x00binary")
    with pytest.raises(UserError, match="not a UTF-8 text file"):
        load_config(binary)
    afile = tmp_path / "taken"
    afile.write_text("x")
    with pytest.raises(UserError, match="output_dir: .* is an existing file; expected a folder"):
        from_dict(RunConfig, {"run": "x", "output_dir": str(afile)})


def test_fake_gguf_and_unreachable_hub_are_one_line_errors(tmp_path):
    from harness.models import resolve_model

    fake = tmp_path / "model.gguf"
    fake.write_text("not a model")
    with pytest.raises(UserError, match="not a GGUF file") as err:
        resolve_model(str(fake))
    with pytest.raises(UserError, match="the hub could not be reached") as err:
        resolve_model("no-such-org/no-such-model")  # this machine has no hub access
    assert "\n" not in str(err.value)
