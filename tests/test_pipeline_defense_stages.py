"""End to end on the tiny model: the stages around the training loop that baselines change.

An alignment-stage defense (vaccine) gets its own aligned start model, trained, keyed and evaluated
as its own row; an evaluation-time defense (bea) is evaluated with its triggered system prompt, also
after a rerun that reuses its training (the trigger is rebuilt from the start model's tokenizer);
a post-hoc defense (safelora) is keyed on the unaligned model and records its projection.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from harness.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _config(tmp_path: Path) -> Path:
    cfg = yaml.safe_load((ROOT / "configs/ci-smoke.yaml").read_text())
    cfg["run"] = "stages"
    cfg["training"].update(steps=4, save_steps=2)
    cfg["defenses"] = [{"name": "vanilla"}, {"name": "vaccine"}, {"name": "bea", "params": {"trigger_tokens": 8}},
                       {"name": "safelora", "params": {"select": "number", "num_layers": 3}}]
    cfg["evaluation"].update(limit=8, engine="hf", sampling={"max_new_tokens": 8},
                             benchmarks=["builtin-harmful", "builtin-harmless"])
    path = tmp_path / "stages.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def stages_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("stages")
    mp = pytest.MonkeyPatch()
    import harness.generation.cache as cache_mod

    mp.setattr(cache_mod, "cache_dir", lambda *_: tmp)  # a cold generation cache for this module
    config = _config(tmp)
    assert main(["run", str(config), "--output-dir", str(tmp / "out")]) == 0
    first = json.loads((tmp / "out" / "stages" / "manifest.json").read_text())["stages"]
    assert main(["run", str(config), "--output-dir", str(tmp / "out")]) == 0  # everything reused
    yield tmp / "out" / "stages", first
    mp.undo()


def test_alignment_stage_defense_has_its_own_start_model(stages_run):
    run, stages = stages_run
    own = Path(stages["align vaccine"]["path"])
    assert own != Path(stages["align"]["path"]) and (own / "config.json").exists()
    assert "vaccine" in json.loads((own / "procon_alignment.json").read_text())["defense"]["name"]
    rows = json.loads((run / "metrics.json").read_text())["rows"]
    models = {r["model"] for r in rows}
    assert {"aligned", "aligned+vaccine", "vanilla", "vaccine", "bea", "safelora"} <= models
    # the vaccine row fine-tunes its own start: the adapter records that base, and its drift starts there
    adapter = json.loads((run / "models/vaccine/adapter/adapter_config.json").read_text())
    assert Path(adapter["base_model_name_or_path"]).name == own.name
    vaccine_drift = json.loads((run / "models/vaccine/drift/drift.json").read_text())["steps"]["0"]
    vanilla_drift = json.loads((run / "models/vanilla/drift/drift.json").read_text())["steps"]["0"]
    assert vaccine_drift["proj_harmful"] != vanilla_drift["proj_harmful"]


def test_evaluation_time_defense_is_evaluated_with_its_trigger(stages_run):
    run, _ = stages_run
    rows = json.loads((run / "metrics.json").read_text())["rows"]
    notes = {r["model"]: (r.get("details") or {}).get("evaluation") for r in rows if r["benchmark"] != "refusal-direction"}
    assert notes["bea"] and "trigger" in notes["bea"]
    assert not any(notes[m] for m in ("vanilla", "aligned", "safelora"))
    assert f"Evaluated differently: bea: {notes['bea']}" in (run / "leaderboard.md").read_text()
    state = json.loads((run / "models/bea/train_config.json").read_text())["state"]["bea"]
    assert state["trigger_tokens"] == 8 and state["trigger_source"] == "random"


def test_rerun_reuses_every_stage_and_rebuilds_the_trigger(stages_run):
    run, first = stages_run
    second = json.loads((run / "manifest.json").read_text())["stages"]
    assert first["evaluate"]["generated"] > 0
    # the rerun regenerated nothing: the bea prompts it rebuilt are the ones the first run generated for
    assert second["evaluate"]["generated"] == 0 and second["evaluate"]["status"] == "reused"
    for name in ("train vanilla", "train vaccine", "train bea", "train safelora"):
        assert second[name]["status"] == "reused" and second[name]["key"] == first[name]["key"]
    assert second["align vaccine"]["status"] == "reused"


def test_post_hoc_defense_records_its_projection(stages_run):
    run, _ = stages_run
    state = json.loads((run / "models/safelora/train_config.json").read_text())["state"]["safelora"]
    assert state["n_projected"] == 3 and len(state["projected"]) == 3
    # the unaligned weights are the run's model before its alignment stage
    manifest = json.loads((run / "manifest.json").read_text())
    assert Path(state["unaligned"]).name == Path(manifest["config"]["model"]).name or "tiny" in state["unaligned"]
