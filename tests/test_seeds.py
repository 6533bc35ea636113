"""`seeds: [0, 1]`: every defense trained once per seed from one shared start model and direction,
per-seed and aggregated rows, and the config rules (tiny model; the run takes about 30 s)."""

from __future__ import annotations

import hashlib
import json
import statistics
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from harness.cli import main
from harness.config import load_config
from harness.metrics import bootstrap_ci
from harness.seeds import run_seeds

ROOT = Path(__file__).resolve().parents[1]
SEEDS = [0, 1]
DEFENSES = ("vanilla", "procon")
BENCHMARKS = ("builtin-harmful", "string-ops")


def _config(tmp_path: Path, edit=None) -> Path:
    cfg = yaml.safe_load((ROOT / "configs/ci-smoke.yaml").read_text())
    del cfg["seed"]
    cfg.update(run="seeds", seeds=SEEDS)
    cfg["training"].update(steps=4, save_steps=2)
    cfg["evaluation"].update(benchmarks=list(BENCHMARKS), limit=12, sampling={"max_new_tokens": 8})
    if edit:
        edit(cfg)
    path = tmp_path / f"cfg-{len(list(tmp_path.glob('cfg-*')))}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("results")
    mp = pytest.MonkeyPatch()
    import harness.generation.cache as cache_mod

    mp.setattr(cache_mod, "cache_dir", lambda *_: out)
    assert main(["run", str(_config(out)), "--output-dir", str(out)]) == 0
    yield out / "seeds"
    mp.undo()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rows(path: Path) -> list[dict]:
    return json.loads(path.read_text())["rows"]


def test_each_defense_is_trained_once_per_seed_from_one_direction(seed_run):
    stages = json.loads((seed_run / "manifest.json").read_text())["stages"]
    assert [s for s in stages if s.startswith("direction")] == ["direction"]  # computed once, shared
    for name in DEFENSES:
        folders = [seed_run / "models" / name / f"seed-{s}" for s in SEEDS]
        assert not (seed_run / "models" / name / "adapter").exists()
        weights = [_sha(f / "adapter" / "adapter_model.safetensors") for f in folders]
        assert weights[0] != weights[1]  # another seed, other weights
        inputs = [json.loads((f / "stage.json").read_text())["inputs"] for f in folders]
        assert [i["train"]["seed"] for i in inputs] == [run_seeds(s)["training"] for s in SEEDS]
        assert inputs[0]["start_model"] == inputs[1]["start_model"] and inputs[0]["direction"] == inputs[1]["direction"]
        for f, s in zip(folders, SEEDS, strict=True):
            assert stages[f"train {name}/seed-{s}"]["status"] == "computed"
            assert stages[f"drift {name}/seed-{s}"]["key"]
            assert json.loads((f / "drift" / "drift.json").read_text())["steps"].keys() == {"0", "2", "4"}
    manifest = json.loads((seed_run / "manifest.json").read_text())
    assert manifest["seeds"]["seeds"] == SEEDS and manifest["seeds"]["1"] == run_seeds(1)
    drift_models = {line.split(",")[0] for line in (seed_run / "drift" / "drift.csv").read_text().splitlines()[1:]}
    assert drift_models == {f"{d}/seed-{s}" for d in DEFENSES for s in SEEDS}


def test_per_seed_rows_and_the_start_model_once(seed_run):
    rows = _rows(seed_run / "metrics.json")
    seen = {(r["model"], r["benchmark"], r["seed"]) for r in rows}
    for bench in (*BENCHMARKS, "refusal-direction"):
        assert {("aligned", bench, 0)} == {k for k in seen if k[0] == "aligned" and k[1] == bench}
        assert {(d, bench, s) for d in DEFENSES for s in SEEDS} <= seen
    for r in rows:
        if r["benchmark"] in BENCHMARKS:
            folder = r["model"] if r["model"] == "aligned" else f"{r['model']}/seed-{r['seed']}"
            assert f"/{folder}/{r['benchmark']}.jsonl" in r["details"]["judgments"]
            assert (seed_run / r["details"]["judgments"]).is_file()
            assert (seed_run / "generations" / folder / f"{r['benchmark']}.jsonl").is_file()
            if r["model"] != "aligned":  # tested against the start model, seed by seed
                assert r["details"]["vs_reference"]["model"] == "aligned"


def test_aggregated_rows_match_the_per_seed_rows(seed_run):
    per_seed = _rows(seed_run / "metrics.json")
    aggregated = _rows(seed_run / "metrics_aggregated.json")
    # (aligned + defenses) x (2 benchmarks x (the judge's metric + degenerate_rate) + r_cosine)
    assert len(aggregated) == 5 * (1 + len(DEFENSES))
    cosine_std = []
    for agg in aggregated:
        group = [r for r in per_seed
                 if (r["model"], r["benchmark"], r["metric"]) == (agg["model"], agg["benchmark"], agg["metric"])]
        values = [r["value"] for r in group]
        d = agg["details"]
        assert agg["seed"] is None and d["n_seeds"] == len(group) == (1 if agg["model"] == "aligned" else 2)
        assert agg["value"] == pytest.approx(statistics.fmean(values))
        assert d["per_seed"] == {str(r["seed"]): pytest.approx(r["value"]) for r in group}
        if agg["model"] == "aligned":
            assert d["std"] is None and agg["ci_low"] == group[0]["ci_low"]
            continue
        assert d["std"] == pytest.approx(statistics.stdev(values))
        if agg["benchmark"] == "refusal-direction":
            cosine_std.append(d["std"])
            assert agg["ci_low"] is None
            continue
        # pooled CI: the per-item mean over the seeds' verdicts, bootstrapped over items
        items = []
        for r in sorted(group, key=lambda r: r["seed"]):
            lines = [json.loads(x) for x in (seed_run / r["details"]["judgments"]).read_text().splitlines()]
            items.append([float(x["degenerate"]) if agg["metric"] == "degenerate_rate" else
                          float(not x["refused"]) if "refused" in x else float(x["correct"]) for x in lines])
        means = [sum(col) / len(col) for col in zip(*items, strict=True)]
        cfg = load_config(_config(seed_run.parent))
        low, high = bootstrap_ci(means, n_boot=cfg.evaluation.bootstrap, seed=run_seeds(0)["bootstrap"])
        assert (agg["ci_low"], agg["ci_high"]) == pytest.approx((low, high)) and agg["n"] == 12
        assert d["vs_reference"]["model"] == "aligned"
    assert all(s > 0 for s in cosine_std)  # the seeds' trainings drift r differently
    board = (seed_run / "leaderboard.md").read_text()
    assert "| n_seeds" in board and "±" in board
    assert "| seed " in (seed_run / "leaderboard_seeds.md").read_text()
    for suffix in ("csv", "json", "tex"):
        assert (seed_run / f"leaderboard.{suffix}").stat().st_size and (seed_run / f"leaderboard_seeds.{suffix}").exists()


def test_compare_command_on_the_run(seed_run, capsys):
    assert main(["compare", str(seed_run), "aligned", "vanilla", "--resamples", "200"]) == 0
    saved = json.loads((seed_run / "compare" / "aligned__vs__vanilla.json").read_text())
    harmful = next(m for m in saved["metrics"] if m["benchmark"] == "builtin-harmful")
    assert harmful["seed_pairs"] == [[0, 0], [0, 1]] and harmful["n_items"] == 12  # the start model, once


def test_single_seed_keys_stay_and_other_seeds_get_their_own():
    """A multi-seed run's seed-0 trainings have the keys a single-seed run has (only the folder moves)."""
    from harness.pipeline import RunState, plan_training
    from harness.stages import stage_key
    from harness.training.engine import training_records

    def keys(cfg, seed):
        state = RunState(cfg)
        state.start_fingerprint, state.direction_key = "model", "direction"
        records = training_records(replace(cfg.training, seed=run_seeds(seed)["training"]))
        return {p.entry.row_name: (stage_key(p.inputs), p.folder.relative_to(cfg.run_dir).as_posix())
                for p in plan_training(state, records, seed)}

    single = load_config(ROOT / "configs/ci-smoke.yaml")
    multi = replace(single, seeds=[0, 1])
    assert {k: v[0] for k, v in keys(multi, 0).items()} == {k: v[0] for k, v in keys(single, 0).items()}
    assert keys(single, 0)["vanilla"][1] == "models/vanilla" and keys(multi, 1)["vanilla"][1] == "models/vanilla/seed-1"
    assert keys(multi, 1)["vanilla"][0] != keys(multi, 0)["vanilla"][0]


def test_sampled_generation_uses_each_seeds_sampling_seed():
    from harness.evaluation import EvalTarget, _by_sampling_seed
    from harness.generation import SamplingConfig

    targets = [EvalTarget("aligned", "m"), EvalTarget("v", "m", "a0", sampling_seed=11),
               EvalTarget("v", "m", "a1", sampling_seed=22)]
    greedy = SamplingConfig(seed=5)
    assert _by_sampling_seed(targets, greedy) == [(greedy, targets)]  # one call, the keys single runs had
    sampled = SamplingConfig(temperature=0.7, seed=5)
    groups = {s.seed: [t.adapter for t in members] for s, members in _by_sampling_seed(targets, sampled)}
    assert groups == {5: [None], 11: ["a0"], 22: ["a1"]}


def test_seed_and_seeds_rules(tmp_path, capsys):
    def fails(edit, says: str) -> None:
        assert main(["run", str(_config(tmp_path, edit)), "--output-dir", str(tmp_path), "--dry-run"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and says in err, err

    fails(lambda c: c.update(seed=0), "either `seed:` (one run seed) or `seeds:`")
    fails(lambda c: c.update(seeds=[0, 0]), "seeds: expected a non-empty list of distinct")
    fails(lambda c: c.update(seeds=[]), "seeds: expected a non-empty list of distinct")
    assert main(["run", str(_config(tmp_path)), "--output-dir", str(tmp_path), "--dry-run"]) == 0
    assert "4 trainings (2 defense(s) x 2 seeds) in models/<defense>/seed-<s>/" in capsys.readouterr().out
    cfg = load_config(_config(tmp_path))
    assert cfg.seed == 0 and cfg.all_seeds == SEEDS and cfg.multi_seed
    one = load_config(_config(tmp_path, lambda c: c.update(seeds=[3])))
    assert one.seed == 3 and not one.multi_seed  # one seed: the single-seed layout
