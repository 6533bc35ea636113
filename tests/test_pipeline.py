"""End to end on the tiny model: `procon-bench run configs/ci-smoke.yaml`, rerun, leaderboard, check."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
import yaml

from harness.cli import main

ROOT = Path(__file__).resolve().parents[1]
MODELS = {"aligned", "vanilla", "procon"}
BENCHMARKS = {"builtin-harmful", "builtin-harmless", "string-ops"}


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    mp = pytest.MonkeyPatch()
    import harness.generation.cache as cache_mod

    mp.setattr(cache_mod, "cache_dir", lambda *_: out)  # a cold generation cache for this module
    assert main(["run", str(ROOT / "configs/ci-smoke.yaml"), "--output-dir", str(out)]) == 0
    yield out / "ci-smoke", out / "cache.sqlite"
    mp.undo()


def _count(db: Path) -> int:
    with sqlite3.connect(db) as con:
        return con.execute("SELECT COUNT(*) FROM completions").fetchone()[0]


def test_run_writes_the_results_layout(smoke_run):
    run, _ = smoke_run
    manifest = json.loads((run / "manifest.json").read_text())
    assert {"config", "seeds", "versions", "git", "hardware", "stages"} <= set(manifest)
    assert manifest["config"]["model"] == "tiny-random" and "torch" in manifest["versions"]
    assert {"align", "train vanilla", "train procon", "evaluate"} <= set(manifest["stages"])
    for name in ("vanilla", "procon"):
        assert (run / "models" / name / "adapter" / "adapter_config.json").exists()
        log = [json.loads(x) for x in (run / "models" / name / "train_log.jsonl").read_text().splitlines()]
        assert len(log) == 6
        drift = json.loads((run / "models" / name / "drift" / "drift.json").read_text())
        assert set(drift["steps"]) == {"0", "3", "6"} and len(drift["final"]) == 2
        assert drift["steps"]["0"]["cosine"] == pytest.approx([1.0, 1.0])  # step 0 is the start model
        assert {"proj_harmful", "proj_harmless", "d_prime", "refusal_harmful"} <= set(drift["steps"]["6"])
        assert len(drift["steps"]["6"]["projections"]["harmful"][0]) == 30  # the 30 held-out val prompts
    procon_log = (run / "models" / "procon" / "train_log.jsonl").read_text()
    assert "proj_loss" in procon_log and "proj_loss" not in (run / "models" / "vanilla" / "train_log.jsonl").read_text()
    stats = json.loads((run / "direction" / "direction_stats.json").read_text())
    assert len(stats["layers"]) == 2
    for model in MODELS:
        for bench in BENCHMARKS:
            rows = (run / "generations" / model / f"{bench}.jsonl").read_text().splitlines()
            assert len(rows) == 16
    assert list((run / "judgments").glob("keyword*gcg*/vanilla/builtin-harmful.jsonl"))
    for suffix in ("md", "csv", "json", "tex"):
        assert (run / f"leaderboard.{suffix}").stat().st_size > 0
    for plot in ("drift_vs_step.png", "projections.png", "separation.png"):
        assert (run / "drift" / plot).read_bytes()[:4] == b"\x89PNG"
        assert f"(drift/{plot})" in (run / "leaderboard.md").read_text()
    csv_rows = (run / "drift" / "drift.csv").read_text().splitlines()
    assert csv_rows[0].startswith("model,step,layer,cosine") and len(csv_rows) == 1 + 2 * 3 * 2  # models x steps x layers
    # the per-defense training cost, from each row's log and train_config.json, under the leaderboard
    costs = {c["model"]: c for c in json.loads((run / "training_cost.json").read_text())}
    assert set(costs) == {"vanilla", "procon"} and costs["vanilla"]["over_vanilla"] == pytest.approx(1.0)
    for c in costs.values():
        assert c["steps"] == 6 and c["s_per_step"] > 0 and c["train_seconds"] >= 6 * c["s_per_step"]
        assert 0.05 < c["peak_rss_gib"] < 24 and c["peak_cuda_gib"] is None and c["device"] == "cpu"
    written = json.loads((run / "models" / "procon" / "train_config.json").read_text())["cost"]
    assert written["rss_scope"] == "training" and written["peak_rss_gib"] == costs["procon"]["peak_rss_gib"]
    assert "Training cost" in (run / "leaderboard.md").read_text() and "| procon |" in (run / "leaderboard.md").read_text()


def test_metrics_cover_every_model_and_benchmark(smoke_run):
    run, _ = smoke_run
    rows = json.loads((run / "metrics.json").read_text())["rows"]
    seen = {(r["model"], r["benchmark"]) for r in rows}
    assert {(m, b) for m in MODELS for b in BENCHMARKS} <= seen
    assert {(m, "refusal-direction") for m in MODELS} <= seen
    for r in rows:
        if r["benchmark"] == "refusal-direction":  # deterministic over the layer band: no sampling CI
            per_layer = list(r["details"]["per_layer"].values())
            assert r["ci_low"] is None and min(per_layer) <= r["value"] <= max(per_layer)
            continue
        assert r["ci_low"] <= r["value"] <= r["ci_high"]
        if r["benchmark"] in BENCHMARKS:
            assert r["n"] == 16
    board = (run / "leaderboard.md").read_text()
    assert all(m in board for m in MODELS)


def test_rerun_generates_nothing(smoke_run, tmp_path):
    run, _ = smoke_run
    import harness.generation as gen

    calls = []
    original = gen.Generator.generate_jobs

    def spy(self, *a, **k):
        out = original(self, *a, **k)
        calls.append(self.generated)
        return out

    gen.Generator.generate_jobs = spy
    try:
        assert main(["run", str(ROOT / "configs/ci-smoke.yaml"), "--output-dir", str(run.parent)]) == 0
    finally:
        gen.Generator.generate_jobs = original
    assert calls and all(c == 0 for c in calls)
    stages = json.loads((run / "manifest.json").read_text())["stages"]
    keyed = {"direction", "train vanilla", "train procon", "drift vanilla", "drift procon"}
    assert keyed <= set(stages) and all(stages[s]["status"] == "reused" and stages[s]["key"] for s in keyed)
    assert stages["evaluate"]["generated"] == 0 and stages["align"]["status"] == "reused"
    # a reused training keeps in the manifest what it recorded when it ran
    assert stages["train vanilla"]["truncation"]["examples"] == 64


def test_force_recomputes_every_keyed_stage_from_the_cli(smoke_run, tmp_path):
    run, _ = smoke_run
    copy = tmp_path / "ci-smoke"
    shutil.copytree(run, copy)
    before = json.loads((copy / "manifest.json").read_text())["stages"]
    assert main(["train", str(ROOT / "configs/ci-smoke.yaml"), "--output-dir", str(tmp_path), "--force"]) == 0
    stages = json.loads((copy / "manifest.json").read_text())["stages"]
    for name in ("direction", "train vanilla", "train procon"):
        assert stages[name]["status"] == "computed" and stages[name]["note"] == "recomputed: --force"
        assert stages[name]["key"] == before[name]["key"]  # same inputs, recomputed on request
    # the manifest records the training seed training really used (the run seed's derived sub-seed)
    manifest = json.loads((copy / "manifest.json").read_text())
    assert manifest["config"]["training"]["seed"] == manifest["seeds"]["training"] != 0


def _config(tmp_path: Path, edit) -> Path:
    cfg = yaml.safe_load((ROOT / "configs/ci-smoke.yaml").read_text())
    edit(cfg)
    path = tmp_path / f"cfg-{len(list(tmp_path.glob('cfg-*')))}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _copy_run(run: Path, tmp_path: Path) -> Path:
    out = tmp_path / "results"
    shutil.copytree(run, out / run.name)
    return out


def _stages(out: Path) -> dict:
    return json.loads((out / "ci-smoke" / "manifest.json").read_text())["stages"]


def test_config_change_recomputes_exactly_the_affected_stages(smoke_run, tmp_path, capsys):
    """The issue's reproduction: steps 6 -> 12 and direction limits 32 -> 24 used to reuse everything."""
    run, _ = smoke_run
    out = _copy_run(run, tmp_path)

    def edit(cfg):
        cfg["training"]["steps"] = 12
        cfg["direction"]["harmful"]["limit"] = cfg["direction"]["harmless"]["limit"] = 24
    capsys.readouterr()
    assert main(["run", str(_config(tmp_path, edit)), "--output-dir", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "direction: n_harmful 32 -> 24" in printed and "train vanilla: train.steps 6 -> 12" in printed
    stages = _stages(out)
    for name in ("direction", "train vanilla", "train procon", "drift vanilla", "drift procon"):
        assert stages[name]["status"] == "computed", name
    assert stages["evaluate"]["generated"] > 0  # new adapters, new generations; the aligned model's are cached
    for name in ("vanilla", "procon"):
        folder = out / "ci-smoke" / "models" / name
        assert json.loads((folder / "train_config.json").read_text())["train"]["steps"] == 12
        assert "12" in json.loads((folder / "drift" / "drift.json").read_text())["steps"]
        log = [json.loads(x)["step"] for x in (folder / "train_log.jsonl").read_text().splitlines()]
        assert log == list(range(1, 13))  # rewritten whole, not appended to the 6-step log

    evaluate_key = stages["evaluate"]["key"]

    # only the judge and the benchmark limit change: every keyed stage is reused; the smaller stratified
    # sample is nested in the larger one, so nothing is generated; the verdicts are redone
    def judge(cfg):
        edit(cfg)
        cfg["evaluation"]["judge"] = "keyword-inclusive"
        cfg["evaluation"]["limit"] = 12
    assert main(["run", str(_config(tmp_path, judge)), "--output-dir", str(out)]) == 0
    stages = _stages(out)
    assert all(stages[n]["status"] == "reused" for n in ("direction", "train vanilla", "drift procon"))
    assert stages["evaluate"]["generated"] == 0 and stages["evaluate"]["judges"] != ["keyword:gcg-29@1"]
    assert stages["evaluate"]["key"] != evaluate_key
    rows = json.loads((out / "ci-smoke" / "metrics.json").read_text())["rows"]
    assert {r["judge"] for r in rows if r["benchmark"] == "builtin-harmful"} == {"keyword:inclusive-64@1",
                                                                                 "degenerate:heuristic@1"}
    assert {r["n"] for r in rows if r["benchmark"] == "builtin-harmful"} == {12}


def _sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_killed_training_resumes_only_with_a_matching_key(smoke_run, tmp_path):
    run, _ = smoke_run
    out = _copy_run(run, tmp_path)
    folder = out / "ci-smoke" / "models" / "vanilla"
    weights = folder / "adapter" / "adapter_model.safetensors"
    before = _sha(weights)

    def kill():  # as if the process died after the last checkpoint, before saving the adapter
        record = json.loads((folder / "stage.json").read_text())
        (folder / "stage.json").write_text(json.dumps({**record, "status": "running"}))
        shutil.rmtree(folder / "adapter")

    kill()
    assert main(["train", str(ROOT / "configs/ci-smoke.yaml"), "--output-dir", str(out)]) == 0
    assert _stages(out)["train vanilla"]["status"] == "resumed" and _sha(weights) == before
    kill()
    lr = _config(tmp_path, lambda cfg: cfg["training"].update(learning_rate=2.0e-3))
    assert main(["train", str(lr), "--output-dir", str(out)]) == 0
    stage = _stages(out)["train vanilla"]
    assert stage["status"] == "computed" and "learning_rate" in stage["note"] and _sha(weights) != before


def test_run_seed_drives_training(smoke_run, tmp_path):
    """seed: 1 trains different adapters from the same (shared) aligned model; sub-seeds are in the manifest."""
    run, _ = smoke_run
    out = _copy_run(run, tmp_path)
    cfg = _config(tmp_path, lambda c: c.update(seed=1))
    assert main(["train", str(cfg), "--output-dir", str(out)]) == 0
    manifest = json.loads((out / "ci-smoke" / "manifest.json").read_text())
    old = json.loads((run / "manifest.json").read_text())
    assert manifest["seeds"]["run"] == 1 and manifest["seeds"]["training"] != old["seeds"]["training"]
    assert manifest["stages"]["align"]["key"] == old["stages"]["align"]["key"]
    for name in ("vanilla", "procon"):
        new_w = out / "ci-smoke" / "models" / name / "adapter" / "adapter_model.safetensors"
        assert _sha(new_w) != _sha(run / "models" / name / "adapter" / "adapter_model.safetensors")


def test_training_seed_in_run_config_is_refused(tmp_path, capsys):
    path = _config(tmp_path, lambda c: c["training"].update(seed=3))
    assert main(["run", str(path), "--output-dir", str(tmp_path)]) == 2
    assert "training.seed: set the top-level `seed:`" in capsys.readouterr().err


def test_full_fine_tuning_end_to_end(tmp_path, monkeypatch, capsys):
    """`lora: null`: full-weight models through drift, evaluation (each its own engine) and the leaderboard."""
    import harness.generation.cache as cache_mod

    monkeypatch.setattr(cache_mod, "cache_dir", lambda *_: tmp_path)
    path = _config(tmp_path, lambda c: c["training"].update(lora=None, steps=4, save_steps=2))
    assert main(["run", str(path), "--output-dir", str(tmp_path)]) == 0
    run = tmp_path / "ci-smoke"
    for name in ("vanilla", "procon"):
        assert (run / "models" / name / "model" / "config.json").exists()
        drift = json.loads((run / "models" / name / "drift" / "drift.json").read_text())
        assert set(drift["steps"]) == {"0", "2", "4"}
    rows = json.loads((run / "metrics.json").read_text())["rows"]
    assert {(r["model"], r["benchmark"]) for r in rows} >= {(m, b) for m in MODELS for b in BENCHMARKS}
    # the analysis commands see the full-weight models too (they used to skip them silently)
    capsys.readouterr()
    assert main(["directions", str(path), "--output-dir", str(tmp_path)]) == 0
    assert len([line for line in capsys.readouterr().out.splitlines() if line.startswith("drift ")]) == 2
    assert main(["drift", str(run)]) == 0
    stages = json.loads((run / "manifest.json").read_text())["stages"]
    assert stages["drift vanilla"]["status"] == stages["drift procon"]["status"] == "reused"


def test_directions_command_reports_layers_and_drift(smoke_run, capsys):
    run, _ = smoke_run
    capsys.readouterr()
    assert main(["directions", str(ROOT / "configs/ci-smoke.yaml"), "--output-dir", str(run.parent)]) == 0
    out = capsys.readouterr().out
    drift_lines = [line for line in out.splitlines() if line.startswith("drift ")]
    assert "separation" in out and len(drift_lines) == 2  # one line per trained defense
    assert (run / "direction" / "direction.pt").exists()
    stages = json.loads((run / "manifest.json").read_text())["stages"]
    assert {"train vanilla", "evaluate", "drift procon"} <= set(stages)  # a partial command keeps the others


def test_check_gate_passes_then_fails_on_regression(smoke_run, tmp_path, capsys):
    run, _ = smoke_run
    baseline = tmp_path / "baseline.yaml"
    assert main(["check", str(run), "--write-baseline", str(baseline)]) == 0
    assert main(["check", str(run), "--baseline", str(baseline)]) == 0
    worse = tmp_path / "worse"
    shutil.copytree(run, worse, ignore=shutil.ignore_patterns("models", "generations", "judgments"))
    data = json.loads((worse / "metrics.json").read_text())
    for r in data["rows"]:
        if r["model"] == "procon" and r["metric"] == "non_refusal_rate":
            r["value"], r["ci_low"], r["ci_high"] = 1.0, 0.95, 1.0
            r["value"] = min(1.0, r["value"])
    (worse / "metrics.json").write_text(json.dumps(data))
    base = yaml.safe_load(baseline.read_text())
    entry = next(m for m in base["metrics"] if m["model"] == "procon" and m["metric"] == "non_refusal_rate")
    if entry["value"] >= 0.9:  # a random tiny model may already comply with everything: make the gap explicit
        entry["value"] = 0.2
        baseline.write_text(yaml.safe_dump(base))
    capsys.readouterr()
    assert main(["check", str(worse), "--baseline", str(baseline)]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_bad_config_is_one_line_exit_2(tmp_path, capsys):
    cfg = yaml.safe_load((ROOT / "configs/ci-smoke.yaml").read_text())
    cfg["defenses"] = [{"name": "procon", "params": {"lamda": 3}}]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["run", str(path), "--output-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "lamda" in err and "accepted: lam" in err
    assert main(["run", str(tmp_path / "missing.yaml")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_layer_out_of_range_fails_before_any_stage(tmp_path, capsys):
    path = _config(tmp_path, lambda c: c["defenses"][1]["params"].update(layers=[0, 5]))
    assert main(["run", str(path), "--output-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "defenses[procon].params.layers: layer(s) [5] out of range" in err
    assert not (tmp_path / "ci-smoke" / "direction").exists()


def test_eval_command_scores_base_and_adapter(tmp_path, tiny_model_path, tiny_lora_adapter, monkeypatch):
    import harness.generation.cache as cache_mod

    monkeypatch.setattr(cache_mod, "cache_dir", lambda *_: tmp_path)
    cfg = {
        "run": "eval-smoke", "model": "tiny-random",
        "models": [{"name": "base"}, {"name": "lora", "adapter": str(tiny_lora_adapter)}],
        "evaluation": {"benchmarks": ["builtin-harmful", {"name": "string-ops", "limit": 6}], "limit": 8,
                       "judge": "keyword-inclusive", "sampling": {"max_new_tokens": 8}},
    }
    path = tmp_path / "eval.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["eval", str(path), "--output-dir", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "eval-smoke" / "metrics.json").read_text())["rows"]
    assert {(r["model"], r["benchmark"], r["n"]) for r in rows} == {
        ("base", "builtin-harmful", 8), ("lora", "builtin-harmful", 8), ("base", "string-ops", 6), ("lora", "string-ops", 6)}
    assert all(r["judge"] == "keyword:inclusive-64@1" for r in rows
               if r["benchmark"] == "builtin-harmful" and r["metric"] == "non_refusal_rate")
    assert {r["metric"] for r in rows} == {"non_refusal_rate", "accuracy", "degenerate_rate"}
    base = (tmp_path / "eval-smoke" / "generations" / "base" / "builtin-harmful.jsonl").read_text()
    lora = (tmp_path / "eval-smoke" / "generations" / "lora" / "builtin-harmful.jsonl").read_text()
    assert base != lora  # the adapter was applied


def test_eval_on_real_benchmark_file(tmp_path, monkeypatch, needs_shared):
    import harness.generation.cache as cache_mod

    SHARED_DATA = needs_shared  # noqa: N806
    monkeypatch.setattr(cache_mod, "cache_dir", lambda *_: tmp_path)
    cfg = {"run": "advbench", "model": "tiny-random",
           "evaluation": {"benchmarks": [{"name": "advbench", "data": {"path": str(SHARED_DATA / "harmful/advbench.csv"),
                                                                        "fields": {"prompt": "goal"}}}],
                          "limit": 4, "engine": "hf", "sampling": {"max_new_tokens": 4}}}
    path = tmp_path / "adv.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["eval", str(path), "--output-dir", str(tmp_path)]) == 0
    gens = (tmp_path / "advbench" / "generations" / "tiny-random" / "advbench.jsonl").read_text().splitlines()
    import pandas as pd

    goals = set(pd.read_csv(SHARED_DATA / "harmful/advbench.csv")["goal"].str.strip())
    assert len(gens) == 4 and all(json.loads(g)["prompt"] in goals for g in gens)


def test_drift_command_rebuilds_the_report_from_a_copied_run(smoke_run, tmp_path, capsys):
    """`procon-bench drift RUN` on a moved run folder: the config comes from its manifest (output_dir and
    run are taken from RUN, so the copy is self-contained); the keyed drift stages whose drift.json is
    still there are reused, a deleted one is recomputed, and the derived `drift/` report is rewritten."""
    run, _ = smoke_run
    copy = _copy_run(run, tmp_path) / run.name
    shutil.rmtree(copy / "drift")
    vanilla = json.loads((copy / "models" / "vanilla" / "drift" / "drift.json").read_text())
    shutil.rmtree(copy / "models" / "vanilla" / "drift")
    capsys.readouterr()
    assert main(["drift", str(copy)]) == 0
    out = capsys.readouterr().out
    assert "==> drift procon (reused" in out and "==> drift vanilla\n" in out
    csv_rows = (copy / "drift" / "drift.csv").read_text().splitlines()
    assert csv_rows[0].startswith("model,step,layer,cosine") and len(csv_rows) == 1 + 2 * 3 * 2
    for plot in ("drift_vs_step.png", "projections.png", "separation.png"):
        assert (copy / "drift" / plot).read_bytes()[:4] == b"\x89PNG"
    stages = json.loads((copy / "manifest.json").read_text())["stages"]
    assert stages["drift procon"]["status"] == "reused" and stages["drift vanilla"]["status"] == "computed"
    assert {s: stages[s]["status"] for s in ("direction", "align")} == {"direction": "reused", "align": "reused"}
    assert "evaluate" in stages  # a partial command keeps the other stages' records
    recomputed = json.loads((copy / "models" / "vanilla" / "drift" / "drift.json").read_text())
    assert recomputed["final"] == pytest.approx(vanilla["final"], abs=1e-5)  # same weights, same numbers
    assert (run / "drift" / "drift.csv").exists() and (run / "models" / "vanilla" / "drift" / "drift.json").exists()

    empty = tmp_path / "no-run"
    empty.mkdir()
    assert main(["drift", str(empty)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no manifest.json" in err
