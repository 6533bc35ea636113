"""Stage keys: a stage is reused only on an exact key match; changed inputs recompute what they affect."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from harness.config import load_config
from harness.seeds import derive_seed, run_seeds
from harness.stages import STAGE_FILE, changed_inputs, keyed_stage, read_stage, stage_key

ROOT = Path(__file__).resolve().parents[1]


def _run_stage(folder: Path, inputs: dict, **kw) -> tuple[str, bool, str | None]:
    ran = False
    with keyed_stage("demo", folder, inputs, outputs=("out.txt",), **kw) as record:
        if not record.reused:
            ran = True
            (folder / "out.txt").write_text(json.dumps(inputs))
    return record.status, ran, record.note


def test_reuse_only_on_exact_key(tmp_path, capsys):
    folder = tmp_path / "stage"
    assert _run_stage(folder, {"steps": 6, "lr": 1e-3}) == ("computed", True, None)
    assert read_stage(folder)["status"] == "done"
    assert _run_stage(folder, {"steps": 6, "lr": 1e-3})[:2] == ("reused", False)
    status, ran, note = _run_stage(folder, {"steps": 12, "lr": 1e-3})
    assert (status, ran) == ("computed", True) and note == "recomputed: steps 6 -> 12"
    assert "demo: steps 6 -> 12; recomputing" in capsys.readouterr().out
    assert json.loads((folder / "out.txt").read_text())["steps"] == 12


def test_a_half_finished_stage_resumes_only_with_its_key(tmp_path):
    folder = tmp_path / "train"
    inputs = {"lr": 1e-3}
    with pytest.raises(KeyboardInterrupt), keyed_stage("train", folder, inputs) as _:
        (folder / "checkpoint-3").mkdir()
        raise KeyboardInterrupt  # killed mid-training: the record stays "running"
    assert read_stage(folder)["status"] == "running"
    with keyed_stage("train", folder, inputs) as record:
        assert record.status == "resumed" and (folder / "checkpoint-3").exists()
    # the same half-finished folder under other settings is cleared, never resumed into
    (folder / STAGE_FILE).write_text(json.dumps({"key": stage_key(inputs), "status": "running", "inputs": inputs}))
    with keyed_stage("train", folder, {"lr": 2e-3}) as record:
        assert record.status == "computed" and not (folder / "checkpoint-3").exists()


def test_done_stage_without_its_output_and_force_recompute(tmp_path):
    folder = tmp_path / "s"
    _run_stage(folder, {"a": 1})
    (folder / "out.txt").unlink()
    assert _run_stage(folder, {"a": 1})[:2] == ("computed", True)
    status, ran, note = _run_stage(folder, {"a": 1}, force=True)
    assert (status, ran, note) == ("computed", True, "recomputed: --force")


def test_folder_without_record_is_recomputed(tmp_path, capsys):
    """Committed example outputs carry no stage record: they are outputs, not caches."""
    folder = tmp_path / "direction"
    folder.mkdir()
    (folder / "out.txt").write_text("committed")
    assert _run_stage(folder, {"a": 1})[:2] == ("computed", True)
    assert "no stage record" in capsys.readouterr().out


def test_new_optional_fields_at_none_keep_the_stage(tmp_path, monkeypatch):
    """An upgrade that adds an optional field (None = the old behaviour) must not retrain everything;
    any real change, None -> value included, still recomputes."""
    monkeypatch.setenv("PROCON_BENCH_CACHE", str(tmp_path / "cache"))  # the migrated-keys file lives there
    old_inputs = {"data": {"path": None, "split": "train"}, "steps": 6}
    grown = {"data": {"path": None, "split": "train", "data_files": None, "column_names": None}, "steps": 6}
    folder = tmp_path / "s"
    _run_stage(folder, old_inputs)
    status, ran, note = _run_stage(folder, grown)
    assert (status, ran) == ("reused", False)
    assert note == "same inputs; new fields at their defaults: data.column_names, data.data_files"
    assert read_stage(folder)["key"] == stage_key(grown)  # migrated: the next run matches directly
    assert _run_stage(folder, grown) == ("reused", False, None)
    # a downstream stage whose inputs name the migrated key is the same stage too
    drift = tmp_path / "drift"
    _run_stage(drift, {"training": stage_key(old_inputs), "steps": [25, 50]})
    status, _, note = _run_stage(drift, {"training": stage_key(grown), "steps": [25, 50]})
    assert status == "reused" and note == "same inputs; new fields at their defaults: training (migrated key)"
    assert _run_stage(drift, {"training": "f" * 16, "steps": [25, 50]})[:2] == ("computed", True)
    # a half-finished stage resumes the same way
    train = tmp_path / "train"
    with pytest.raises(KeyboardInterrupt), keyed_stage("train", train, old_inputs):
        raise KeyboardInterrupt
    with keyed_stage("train", train, grown) as record:
        assert record.status == "resumed"
    # a new field with a value, a removed field, a changed value: recomputed
    for other in ({**grown, "data": {**grown["data"], "data_files": "x.json"}}, {"steps": 6},
                  {**grown, "steps": 7}):
        assert _run_stage(tmp_path / "s", other)[:2] == ("computed", True)
        _run_stage(tmp_path / "s", old_inputs)


def test_changed_inputs_names_nested_fields():
    assert changed_inputs({"train": {"steps": 6, "lr": 1}}, {"train": {"steps": 12, "lr": 1}}) == "train.steps 6 -> 12"
    assert "(+1 more)" in changed_inputs({str(i): i for i in range(5)}, {str(i): -i - 1 for i in range(5)})


def test_sub_seeds_are_derived_and_distinct():
    seeds = run_seeds(1)
    assert seeds["run"] == 1 and len(set(seeds.values())) == len(seeds)
    assert seeds["training"] == derive_seed(1, "training") != run_seeds(0)["training"]


# ---------------------------------------------------------------- which input changes which key
def _keys(cfg) -> dict[str, str]:
    """Direction and training keys of a config, with a stand-in start-model fingerprint (no model loads)."""
    from harness.pipeline import RunState, _direction_prompts, direction_inputs, plan_training
    from harness.training.engine import training_records

    state = RunState(cfg)
    state.start_fingerprint = f"model:{cfg.model}"
    harmful, harmless = _direction_prompts(cfg)
    state.direction_key = stage_key(direction_inputs(state, harmful, harmless))
    records = training_records(replace(cfg.training, seed=state.seeds["training"]))
    keys = {"direction": state.direction_key}
    keys.update({f"train {p.entry.row_name}": stage_key(p.inputs) for p in plan_training(state, records)})
    return keys


def _changed(edit) -> set[str]:
    base = load_config(ROOT / "configs/ci-smoke.yaml")
    other = load_config(ROOT / "configs/ci-smoke.yaml")
    edit(other)
    a, b = _keys(base), _keys(other)
    return {name for name in a if a[name] != b[name]}


def _set(path: str, value):
    def edit(cfg):
        *parents, last = path.split(".")
        obj = cfg
        for p in parents:
            obj = obj[int(p)] if p.isdigit() else getattr(obj, p)
        setattr(obj, last, value)
    return edit


@pytest.mark.parametrize(("edit", "expected"), [
    (_set("training.steps", 12), {"train vanilla", "train procon"}),
    (_set("training.learning_rate", 5e-4), {"train vanilla", "train procon"}),
    (_set("training.data.limit", 48), {"train vanilla", "train procon"}),
    (_set("defenses.1.params", {"lam": 3.0}), {"train procon"}),
    (_set("seed", 1), {"train vanilla", "train procon"}),
    (_set("model", "another-model"), {"direction", "train vanilla", "train procon"}),
    # the direction changes, so does ProCon (it constrains along it); vanilla never reads it
    (_set("direction.harmful.limit", 24), {"direction", "train procon"}),
    (_set("direction.batch_size", 8), {"direction", "train procon"}),
    (_set("evaluation.limit", 8), set()),
    (_set("evaluation.judge", "keyword-inclusive"), set()),
])
def test_each_input_changes_exactly_the_stages_it_affects(edit, expected):
    assert _changed(edit) == expected


def test_key_matched_config_has_identical_keys():
    assert _changed(lambda cfg: None) == set()


def test_committed_results_hold_no_stage_records():
    """Committed example results are outputs, not caches: a fresh clone recomputes every stage."""
    import subprocess

    out = subprocess.run(["git", "ls-files", "results"], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    assert [p for p in out.stdout.splitlines() if p.endswith("stage.json")] == []
