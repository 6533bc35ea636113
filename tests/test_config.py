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


def test_fake_gguf_and_unreachable_hub_are_one_line_errors(tmp_path, monkeypatch):
    import huggingface_hub
    from huggingface_hub.errors import LocalEntryNotFoundError

    from harness.models import resolve_model

    fake = tmp_path / "model.gguf"
    fake.write_text("not a model")
    with pytest.raises(UserError, match="not a GGUF file") as err:
        resolve_model(str(fake))

    def offline(*_args, **_kwargs):  # the hub library's own offline failure (a multi-line message)
        raise LocalEntryNotFoundError("Cannot find the requested files in the disk cache and outgoing\n"
                                      "traffic has been disabled. To enable hf.co look-ups ...")

    # the hub is the system boundary: fail it the way an offline machine does, wherever this test runs
    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    with pytest.raises(UserError, match="the hub could not be reached") as err:
        resolve_model("no-such-org/no-such-model")
    assert "\n" not in str(err.value)


# ---------------------------------------------------------------- scenarios
def _scenario_config(tmp_path, scenarios):
    import yaml

    path = tmp_path / "sc.yaml"
    path.write_text(yaml.safe_dump({
        "run": "base", "output_dir": str(tmp_path / "out"),
        "training": {"data": {"builtin": "string-ops", "split": "train"}, "steps": 5, "lora": {"r": 4}},
        "defenses": [{"name": "vanilla"}], "scenarios": scenarios}, sort_keys=False))
    return path


def test_scenarios_deep_merge_into_one_run_each(tmp_path):
    from harness.config import load_configs

    path = _scenario_config(tmp_path, {"benign": {}, "harmful": {"training": {
        "harmful_mix": {"data": {"builtin": "harmful", "split": "train"}, "responses": "builtin", "ratio": 0.2}}}})
    benign, harmful = load_configs(path)
    assert (benign.run, harmful.run) == ("benign", "harmful")
    assert benign.run_dir == tmp_path / "out" / "base" / "benign"
    assert harmful.run_dir == tmp_path / "out" / "base" / "harmful"
    # the override merged into training: the rest of the training block is kept
    assert benign.training.harmful_mix is None and harmful.training.harmful_mix.ratio == 0.2
    assert harmful.training.steps == 5 and harmful.training.lora.r == 4
    assert [c.run for c in load_configs(path, scenario="harmful")] == ["harmful"]


def test_scenario_errors_are_one_line(tmp_path):
    from harness.config import load_configs

    path = _scenario_config(tmp_path, {"benign": {}, "bad": {"training": {"stepz": 3}}})
    with pytest.raises(UserError, match=r"config\.scenarios\.bad\.training: unknown field\(s\) stepz"):
        load_configs(path)
    with pytest.raises(UserError, match="--scenario 'nope': unknown; the config has benign, bad"):
        load_configs(path, scenario="nope")
    with pytest.raises(UserError, match="config has scenarios"):
        load_config(path)
    with pytest.raises(UserError, match="expected a mapping of scenario name"):
        load_configs(_scenario_config(tmp_path, ["benign"]))


def test_a_single_run_command_needs_one_scenario(tmp_path, capsys):
    from harness.cli import main

    path = _scenario_config(tmp_path, {"benign": {}, "harmful": {}})
    assert main(["eval", str(path), "--dry-run"]) == 2
    assert "pass --scenario NAME" in capsys.readouterr().err
    assert main(["run", str(path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "dry run: benign:" in out and "dry run: harmful:" in out


def test_harmful_mix_with_builtin_compliant_answers():
    from harness.config import TrainConfig
    from harness.training.engine import training_records

    cfg = from_dict(TrainConfig, {"data": {"builtin": "string-ops", "split": "train", "limit": 90},
                                  "harmful_mix": {"data": {"builtin": "harmful", "split": "train"},
                                                  "responses": "builtin", "ratio": 0.1}})
    records = training_records(cfg)
    poison = [r for r in records if r.meta.get("kind") == "harmful_mix"]
    assert len(poison) == 10 and len(records) == 100  # 10 % of the final set
    assert all(r.response and not r.response.startswith(("I'm sorry", "I cannot", "Sorry")) for r in poison)
    # without `responses: builtin` the built-in harmful prompts have no answer: a one-line error
    bad = from_dict(TrainConfig, {"data": {"builtin": "string-ops", "split": "train"},
                                  "harmful_mix": {"data": {"builtin": "harmful", "split": "train"}}})
    with pytest.raises(UserError, match="training.harmful_mix.data: records need a response"):
        training_records(bad)


@pytest.mark.parametrize("limit", [0, -3])
def test_a_benchmarks_own_limit_must_be_positive(limit, tmp_path, capsys):
    import yaml

    from benchmarks.registry import resolve_benchmark
    from harness.cli import main

    with pytest.raises(UserError, match="benchmark string-ops: limit: expected a positive integer"):
        resolve_benchmark({"name": "string-ops", "limit": limit})
    cfg = yaml.safe_load((ROOT / "configs" / "ci-smoke.yaml").read_text())
    cfg["evaluation"]["benchmarks"] = [{"name": "string-ops", "limit": limit}]
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["run", str(path), "--dry-run"]) == 2
    assert "limit: expected a positive integer" in capsys.readouterr().err
