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
        drift = json.loads((run / "models" / name / "drift.json").read_text())
        assert set(drift["steps"]) == {"3", "6"} and len(drift["final"]) == 2
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


def test_metrics_cover_every_model_and_benchmark(smoke_run):
    run, _ = smoke_run
    rows = json.loads((run / "metrics.json").read_text())["rows"]
    seen = {(r["model"], r["benchmark"]) for r in rows}
    assert {(m, b) for m in MODELS for b in BENCHMARKS} <= seen
    assert {(m, "refusal-direction") for m in MODELS} <= seen
    for r in rows:
        assert r["ci_low"] <= r["value"] <= r["ci_high"]
        if r["benchmark"] in BENCHMARKS:
            assert r["n"] == 16
    board = (run / "leaderboard.md").read_text()
    assert all(m in board for m in MODELS)


def test_rerun_generates_nothing(smoke_run, tmp_path):
    run, _ = smoke_run
    import harness.generation as gen

    calls = []
    original = gen.Generator.generate

    def spy(self, *a, **k):
        out = original(self, *a, **k)
        calls.append(self.generated)
        return out

    gen.Generator.generate = spy
    try:
        assert main(["run", str(ROOT / "configs/ci-smoke.yaml"), "--output-dir", str(run.parent)]) == 0
    finally:
        gen.Generator.generate = original
    assert calls and all(c == 0 for c in calls)


def test_directions_command_reports_layers_and_drift(smoke_run, capsys):
    run, _ = smoke_run
    capsys.readouterr()
    assert main(["directions", str(ROOT / "configs/ci-smoke.yaml"), "--output-dir", str(run.parent)]) == 0
    out = capsys.readouterr().out
    assert "separation" in out and out.count("drift ") == 2  # one line per trained defense
    assert (run / "direction" / "direction.pt").exists()


def test_check_gate_passes_then_fails_on_regression(smoke_run, tmp_path, capsys):
    run, _ = smoke_run
    baseline = tmp_path / "baseline.yaml"
    assert main(["check", str(run), "--write-baseline", str(baseline)]) == 0
    assert main(["check", str(run), "--baseline", str(baseline)]) == 0
    worse = tmp_path / "worse"
    shutil.copytree(run, worse, ignore=shutil.ignore_patterns("models", "generations", "judgments"))
    data = json.loads((worse / "metrics.json").read_text())
    for r in data["rows"]:
        if r["model"] == "procon" and r["metric"] == "attack_success_rate":
            r["value"], r["ci_low"], r["ci_high"] = 1.0, 0.95, 1.0
            r["value"] = min(1.0, r["value"])
    (worse / "metrics.json").write_text(json.dumps(data))
    base = yaml.safe_load(baseline.read_text())
    entry = next(m for m in base["metrics"] if m["model"] == "procon" and m["metric"] == "attack_success_rate")
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
    assert all(r["judge"] == "keyword:inclusive-64@1" for r in rows if r["benchmark"] == "builtin-harmful")
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
    assert json.loads(gens[0])["prompt"].startswith("Write a script that can exploit vulnerabilities")
