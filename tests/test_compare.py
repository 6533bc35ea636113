"""Seed aggregation, the paired comparison (`procon-bench compare`) and the leaderboard's marks, on
hand-made verdicts whose answer is known."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import pytest

from harness.cli import main
from harness.io import write_jsonl_atomic
from harness.metrics import bootstrap_ci
from harness.report.aggregate import SeedStats, aggregate_rows
from harness.report.compare import annotate_significance, compare_models, pair_seeds, sign_flip_pvalue
from harness.report.items import judgments_file
from harness.report.leaderboard import build_leaderboard, render
from harness.report.metrics_table import MetricRow, read_metrics, write_metrics

JUDGE = "keyword:gcg-29@1"
ASR = "builtin-harmful/non_refusal_rate"
N = 40


def make_run(root: Path, refused: dict[tuple[str, int], list[bool]], *, per_seed_folders: bool = True,
             ids: dict[tuple[str, int], list[str]] | None = None) -> Path:
    """A run folder with one ASR row per (model, seed) and its verdicts, as the evaluation writes them."""
    run = root / "run"
    multi = len({s for _, s in refused}) > 1 and per_seed_folders
    rows = []
    for (model, seed), flags in refused.items():
        folder = f"{model}/seed-{seed}" if multi and model != "aligned" else model
        path = judgments_file(JUDGE, folder, "builtin-harmful")
        item_ids = (ids or {}).get((model, seed)) or [f"h{i}" for i in range(len(flags))]
        write_jsonl_atomic(run / path, [{"id": i, "refused": f, "judge": JUDGE, "evidence": None, "truncated": False}
                                        for i, f in zip(item_ids, flags, strict=True)])
        asr = 1 - sum(flags) / len(flags)
        rows.append(MetricRow("run", model, "builtin-harmful", "non_refusal_rate", asr, asr - 0.1, asr + 0.1,
                              len(flags), JUDGE, seed, False, {"truncated": 0, "judgments": path}))
    write_metrics(run / "metrics.json", rows)
    return run


def flags(refused_items: set[int], n: int = N) -> list[bool]:
    return [i in refused_items for i in range(n)]


# ---------------------------------------------------------------- the tests themselves
def test_sign_flip_pvalue_known_answers():
    assert sign_flip_pvalue([0.0] * 20, 2000) == 1.0  # identical: every flip is as extreme
    assert sign_flip_pvalue([1.0] * 20, 2000) == pytest.approx(1 / 2001)  # all one way: none of 2000 flips is
    p_some = sign_flip_pvalue([1.0] * 10 + [0.0] * 30, 4000, seed=1)
    assert 0.0005 < p_some < 0.01  # exact: P(|sum of 10 signs| = 10) = 2/1024 ~ 0.002
    assert sign_flip_pvalue([1.0, -1.0] * 10, 2000) == 1.0  # balanced differences: no evidence


def test_pair_seeds_by_seed_and_broadcasts_a_single_seed():
    assert pair_seeds([0, 1, 2], [2, 1, 0]) == [(0, 0), (1, 1), (2, 2)]
    assert pair_seeds([0], [0, 1]) == [(0, 0), (0, 1)]  # the start model, evaluated once
    assert pair_seeds([0, 1], [1, 2]) == [(1, 1)]
    assert pair_seeds([0, 1], [2, 3]) == []


def test_identical_models_differ_by_zero_with_p_one(tmp_path):
    same = flags(set(range(0, N, 3)))
    run = make_run(tmp_path, {("vanilla", 0): same, ("procon", 0): list(same)})
    m = compare_models(run, read_metrics(run), "vanilla", "procon", n_resamples=2000).metrics[0]
    assert (m.diff, m.ci_low, m.ci_high, m.p_value, m.n_items) == (0.0, 0.0, 0.0, 1.0, N)
    assert not m.significant() and m.better() == ""


def test_all_flipped_is_a_full_difference_with_tiny_p(tmp_path):
    run = make_run(tmp_path, {("vanilla", 0): [True] * N, ("procon", 0): [False] * N})
    m = compare_models(run, read_metrics(run), "vanilla", "procon", n_resamples=2000).metrics[0]
    assert m.diff == 1.0 and (m.ci_low, m.ci_high) == (1.0, 1.0)  # B's ASR is 100 points higher
    assert m.p_value == pytest.approx(1 / 2001) and m.significant()
    assert m.better() == "A"  # ASR: lower is better, so A (vanilla, refusing everything) is better


def test_partial_difference_sign_ci_and_p(tmp_path):
    a = flags(set(range(N)))  # A refuses everything: ASR 0
    b = flags(set(range(10, N)))  # B complies on 10 of 40: ASR 25 %
    run = make_run(tmp_path, {("vanilla", 0): a, ("procon", 0): b})
    rows = read_metrics(run)
    m = compare_models(run, rows, "vanilla", "procon", n_resamples=4000).metrics[0]
    assert m.diff == pytest.approx(0.25) and (m.a_value, m.b_value) == (0.0, pytest.approx(0.25))
    assert 0 < m.ci_low < 0.25 < m.ci_high and m.p_value < 0.01
    back = compare_models(run, rows, "procon", "vanilla", n_resamples=4000).metrics[0]
    assert back.diff == pytest.approx(-0.25) and back.ci_high < 0 and back.better() == "B"
    assert back.p_value == pytest.approx(m.p_value, abs=0.005)


def test_seeds_are_paired_seed_by_seed(tmp_path):
    """Seed 0 of B differs from seed 0 of A on 10 items, seed 1 not at all; A's two seeds differ wholly,
    so pairing A0 with B1 (or pooling) would give other per-seed differences."""
    a0, a1 = flags(set(range(N))), flags(set())
    b0, b1 = flags(set(range(10, N))), list(a1)
    run = make_run(tmp_path, {("vanilla", 0): a0, ("vanilla", 1): a1, ("procon", 0): b0, ("procon", 1): b1})
    m = compare_models(run, read_metrics(run), "vanilla", "procon", n_resamples=2000).metrics[0]
    assert m.seed_pairs == [(0, 0), (1, 1)]
    assert m.per_seed_diff == {"0:0": pytest.approx(0.25), "1:1": 0.0}
    assert m.diff == pytest.approx(0.125) and m.n_items == N


def test_compare_command_prints_writes_json_and_fails_on_bad_input(tmp_path, capsys):
    run = make_run(tmp_path, {("vanilla", 0): [True] * N, ("procon", 0): [False] * N})
    assert main(["compare", str(run), "vanilla", "procon", "--resamples", "500"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith(f"| {ASR}"))
    assert "+100.0" in line and "0.0020 *" in line and "| vanilla" in line  # 1/501, significant; A better
    saved = json.loads((run / "compare" / "vanilla__vs__procon.json").read_text())
    assert saved["a"] == "vanilla" and saved["metrics"][0]["diff"] == 1.0 and saved["metrics"][0]["significant"]

    def fails(*argv: str, says: str) -> None:
        assert main(["compare", *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and says in err, err

    fails(str(tmp_path / "missing"), "vanilla", "procon", says="run folder")
    fails(str(run), "vanilla", "nope", says="unknown model 'nope'; accepted: procon, vanilla")
    fails(str(run), "vanilla", "vanilla", says="the same model")
    other = make_run(tmp_path / "x", {("vanilla", 0): [True] * 4, ("procon", 0): [False] * 4},
                     ids={("procon", 0): ["p0", "p1", "p2", "p3"]})
    fails(str(other), "vanilla", "procon", says="share no items")
    (run / "judgments").rename(tmp_path / "gone")
    fails(str(run), "vanilla", "procon", says="per-item verdicts")


# ---------------------------------------------------------------- aggregation over seeds
def test_aggregate_mean_std_and_pooled_item_bootstrap(tmp_path):
    v0, v1, v2 = flags(set(range(0, 30))), flags(set(range(5, 40))), flags(set(range(0, 20)))
    start = flags(set(range(N)))
    run = make_run(tmp_path, {("aligned", 0): start, ("vanilla", 0): v0, ("vanilla", 1): v1, ("vanilla", 2): v2})
    rows = read_metrics(run)
    agg = {r.model: r for r in aggregate_rows(rows, run, n_boot=500, seed=3)}
    per_seed = [r.value for r in rows if r.model == "vanilla"]
    vanilla = agg["vanilla"]
    stats = SeedStats.of(vanilla)
    assert stats.n_seeds == 3 and stats.seeds == [0, 1, 2] and vanilla.seed is None
    assert vanilla.value == pytest.approx(statistics.fmean(per_seed))
    assert stats.std == pytest.approx(statistics.stdev(per_seed)) and stats.std > 0
    # the pooled CI resamples items, each carrying its verdicts under every seed
    item_means = [sum(not f[i] for f in (v0, v1, v2)) / 3 for i in range(N)]
    assert (vanilla.ci_low, vanilla.ci_high) == pytest.approx(bootstrap_ci(item_means, n_boot=500, seed=3))
    assert vanilla.ci_low < vanilla.value < vanilla.ci_high and vanilla.n == N
    one = agg["aligned"]  # evaluated once: its own row's CI, no std
    assert SeedStats.of(one).n_seeds == 1 and SeedStats.of(one).std is None
    assert (one.value, one.ci_low, one.ci_high) == (0.0, -0.1, 0.1)


def test_leaderboard_aggregated_marks_best_and_significance(tmp_path, capsys):
    start = flags(set(range(N)))  # refuses everything
    near = flags(set(range(1, N)))  # one compliance per seed: not significant
    far = flags(set(range(20, N)))  # half complied: significant
    run = make_run(tmp_path, {("aligned", 0): start, ("procon", 0): near, ("procon", 1): near,
                              ("vanilla", 0): far, ("vanilla", 1): far})
    rows = read_metrics(run)
    agg = annotate_significance(aggregate_rows(rows, run), "aligned", run, per_seed_rows=rows)
    by_model = {r.model: r for r in agg}
    assert "vs_reference" not in (by_model["aligned"].details or {})
    assert by_model["vanilla"].details["vs_reference"]["p_value"] < 0.05
    assert by_model["procon"].details["vs_reference"]["p_value"] > 0.05
    table = build_leaderboard(agg)
    assert list(table["model"]) == ["aligned", "procon", "vanilla"]  # ASR, lower first
    assert list(table[f"{ASR}.best"]) == [True, False, False]
    md = render(table, "md")
    assert "| n_seeds" in md and "**0.0 [" in md and "50.0 ± 0.0 [" in md
    vanilla_line = next(x for x in md.splitlines() if "| vanilla" in x)
    procon_line = next(x for x in md.splitlines() if "| procon" in x)
    assert "†" in vanilla_line and "†" not in procon_line and "differs from aligned" in md
    csv = render(table, "csv").splitlines()
    assert csv[0].startswith("run,model,n_seeds,") and f"{ASR}.std" in csv[0] and f"{ASR}.best" in csv[0]
    doc = json.loads(render(table, "json"))
    vanilla = next(r for r in doc["rows"] if r["model"] == "vanilla")
    assert vanilla["n_seeds"] == 2 and vanilla["metrics"][ASR]["p_vs_reference"] < 0.05
    assert vanilla["metrics"][ASR]["std"] == 0.0 and vanilla["metrics"][ASR]["reference"] == "aligned"
    tex = render(table, "latex")
    assert r"\textbf{0.0 [" in tex and r"$^\dagger$" in tex

    # the command: aggregated by default (the run has two seeds), per seed on request, retested on request
    assert main(["leaderboard", str(run), "--reference", "procon", "--resamples", "500"]) == 0
    out = capsys.readouterr().out
    assert "| n_seeds" in out and "differs from procon" in out
    assert main(["leaderboard", str(run), "--per-seed"]) == 0
    out = capsys.readouterr().out
    assert "| seed" in out and out.count("| vanilla") == 2


def test_mixed_aggregated_and_per_seed_rows_are_refused():
    row = MetricRow("r", "m", "builtin-harmful", "non_refusal_rate", 0.5, 0.4, 0.6, 10, JUDGE, 0)
    agg = MetricRow("r", "n", "builtin-harmful", "non_refusal_rate", 0.5, 0.4, 0.6, 10, JUDGE, None,
                    details=SeedStats(2, [0, 1], 0.1, {"0": 0.4, "1": 0.6}).to_details())
    with pytest.raises(Exception, match="aggregated"):
        build_leaderboard([row, agg])
    assert not math.isnan(build_leaderboard([agg])[f"{ASR}.std"][0])
