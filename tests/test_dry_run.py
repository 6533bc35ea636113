"""`--dry-run`: every shipped config resolves without loading weights; bad references fail in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.cli import main

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted(p.relative_to(ROOT) for p in (ROOT / "configs").rglob("*.yaml"))


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_every_shipped_config_passes_a_dry_run(config, capsys, monkeypatch):
    import harness.models as models

    def no_build():
        raise AssertionError("a dry run must not build or load a model")

    monkeypatch.setattr(models, "BUILTIN_MODELS", {name: no_build for name in models.BUILTIN_MODELS})
    command = "eval" if "eval" in config.name else "run"
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
