"""`--dry-run`: every shipped config resolves without loading weights; bad references fail in one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from harness.cli import main

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted(p.relative_to(ROOT) for p in (ROOT / "configs").rglob("*.yaml"))


COMMANDS = [(config, command) for config in CONFIGS
            for command in (["eval"] if "eval" in config.name else ["run", "train"])]


@pytest.mark.parametrize(("config", "command"), COMMANDS, ids=lambda v: str(v))
def test_every_shipped_config_passes_a_dry_run(config, command, capsys, monkeypatch):
    import harness.dry_run as dry_run
    import harness.models as models

    def no_build():
        raise AssertionError("a dry run must not build or load a model")

    monkeypatch.setattr(models, "BUILTIN_MODELS", {name: no_build for name in models.BUILTIN_MODELS})
    monkeypatch.setattr(dry_run, "hub_reachable", lambda *a, **k: False)  # the same result with or without network
    assert main([command, str(ROOT / config), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "nothing was loaded or trained" in out
    if "paper" in str(config):  # hub models and data sets: well-formed ids, not contacted offline
        assert "not contacted" in out and "hub model" in out


def test_dry_run_names_the_bad_reference(tmp_path, capsys):
    cfg = yaml.safe_load((ROOT / "configs/ci-smoke.yaml").read_text())
    cfg["training"]["data"] = {"path": str(tmp_path / "missing.jsonl")}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["run", str(path), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "missing.jsonl: not found" in err
    cfg["training"]["data"] = {"hub": "not a hub id"}
    path.write_text(yaml.safe_dump(cfg))
    assert main(["run", str(path), "--dry-run"]) == 2
    assert "is not a hub id of the form org/name" in capsys.readouterr().err


def _write(tmp_path: Path, cfg: dict) -> Path:
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


DIRECTION_DATA = ["heldout_harmful", "heldout_harmless", "select.harmful", "select.harmless",
                  "intervene.harmful", "intervene.harmless"]


@pytest.mark.parametrize("field", DIRECTION_DATA)
def test_dry_run_resolves_every_direction_data_set(field, tmp_path, capsys):
    """Held-out (drift), selection and intervention data are resolved too, and the error names the field."""
    cfg = yaml.safe_load((ROOT / "configs/ci-smoke.yaml").read_text())
    node = cfg["direction"]
    *parents, leaf = field.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = {"path": str(tmp_path / "missing.jsonl")}
    assert main(["run", str(_write(tmp_path, cfg)), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"direction.{field}: " in err and "missing.jsonl: not found" in err


@pytest.mark.parametrize("field", ["heldout_harmful", "heldout_harmless"])
def test_run_fails_on_bad_heldout_data_before_any_stage(field, tmp_path, capsys):
    """A real run reads the held-out drift data only after every training: `validate` loads it up front."""
    cfg = yaml.safe_load((ROOT / "configs/ci-smoke.yaml").read_text())
    cfg["direction"][field] = {"path": str(tmp_path / "missing.jsonl")}
    assert main(["run", str(_write(tmp_path, cfg)), "--output-dir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"direction.{field}: " in err and "missing.jsonl: not found" in err
    assert not (tmp_path / "out" / "ci-smoke").exists()  # nothing ran, not even the manifest


def test_dry_run_checks_the_intervention_judge(tmp_path, capsys):
    cfg = yaml.safe_load((ROOT / "configs/ci-smoke.yaml").read_text())
    cfg["direction"]["intervene"] = {"judge": "no-such-judge"}
    assert main(["run", str(_write(tmp_path, cfg)), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "direction.intervene.judge: unknown judge 'no-such-judge'" in err
    cfg["direction"]["intervene"] = {"judge": "keyword-inclusive"}
    assert main(["run", str(_write(tmp_path, cfg)), "--dry-run"]) == 0
    assert "ok            direction.intervene.judge: keyword:inclusive" in capsys.readouterr().out


def test_eval_dry_run_checks_the_adapter_base(tiny_model_path, tmp_path, capsys):
    """As `eval` does: an adapter whose recorded base is other weights than its entry's model is refused."""
    other = tmp_path / "other-base"
    shutil.copytree(tiny_model_path, other, ignore=shutil.ignore_patterns(".procon_fingerprint"))
    config = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**config, "note": "other files"}))
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"r": 8, "base_model_name_or_path": str(other)}))
    cfg = {"run": "eval-adapter", "model": str(tiny_model_path), "models": [{"name": "lora", "adapter": str(adapter)}],
           "evaluation": {"benchmarks": ["builtin-harmful"]}}
    assert main(["eval", str(_write(tmp_path, cfg)), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"models entry 'lora': adapter {adapter} was trained on {other}" in err
    cfg["model"] = str(other)  # its own base passes
    assert main(["eval", str(_write(tmp_path, cfg)), "--dry-run"]) == 0
    assert f"ok            models[lora].adapter: LoRA adapter {adapter} on its base {other}" in capsys.readouterr().out


def test_builtin_layer_counts_match_the_built_models(tiny_model_path, smollm2_path):
    from harness.models import BUILTIN_LAYER_COUNTS, model_layer_count

    assert {"tiny-random": model_layer_count(tiny_model_path),
                                    "smollm2-135m-instruct": model_layer_count(smollm2_path)} == BUILTIN_LAYER_COUNTS


def test_dry_run_checks_layer_indices_of_a_builtin_model(tmp_path, capsys):
    cfg = yaml.safe_load((ROOT / "configs/ci-smoke.yaml").read_text())  # tiny-random: 2 decoder layers
    cfg["defenses"] = [{"name": "procon", "params": {"layers": [0, 5]}}]
    path = tmp_path / "layers.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["run", str(path), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert "defenses[procon].params.layers: layer(s) [5] out of range" in err and "\n" not in err
    cfg["defenses"] = [{"name": "procon", "params": {"layers": [0, 1]}}]
    path.write_text(yaml.safe_dump(cfg))
    assert main(["run", str(path), "--dry-run"]) == 0
    assert "ok            layer indices: within the model's 2 decoder layers" in capsys.readouterr().out
