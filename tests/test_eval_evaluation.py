"""Evaluation on the tiny model: stratified limits, metric checks, what a run records (direction,
truncation, report), folder-name collisions and adapters on the wrong base."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from benchmarks.sampling import stratified_sample
from harness.cli import main
from harness.config import EvalConfig, load_config
from harness.errors import UserError
from harness.evaluation import EvalTarget, benchmark_scorings, evaluate, load_benchmarks
from harness.generation import SamplingConfig
from harness.generation.lora import check_adapter_base
from harness.io import fingerprint_dir, read_jsonl, write_json_atomic
from harness.models import format_prompt, load_tokenizer
from harness.records import Record
from harness.report.leaderboard import build_leaderboard
from harness.report.metrics_table import read_metrics, write_metrics
from tests.conftest import make_lora_adapter


@pytest.fixture
def cold_cache(tmp_path, monkeypatch) -> Path:
    import harness.generation.cache as cache_mod

    monkeypatch.setattr(cache_mod, "cache_dir", lambda *_: tmp_path / "cache")
    return tmp_path / "cache"


def ids(benchmarks) -> list[list[str]]:
    return [[r.id for r in records] for _, records in benchmarks]


# ---------------------------------------------------------------- limit: seeded, stratified by category
def test_limit_is_a_seeded_category_stratified_sample():
    cfg = EvalConfig(benchmarks=["builtin-harmful", "builtin-harmless"], limit=16)
    (_, harmful), (_, harmless) = load_benchmarks(cfg, seed=0)
    assert len(harmful) == len(harmless) == 16
    assert len({r.category for r in harmful}) == 9  # the first 16 records covered 2 of the 9 categories
    counts = Counter(r.category for r in harmless)
    assert len(counts) == 12 and counts["edgy_safe"] == 3  # 16 * 15/90 = 2.7 (the first 16 held none)
    assert ids(load_benchmarks(cfg, seed=0)) == ids(load_benchmarks(cfg, seed=0))
    assert ids(load_benchmarks(cfg, seed=1)) != ids(load_benchmarks(cfg, seed=0))
    larger = ids(load_benchmarks(replace(cfg, limit=32), seed=0))
    assert all(set(small) <= set(big) for small, big in zip(ids(load_benchmarks(cfg, seed=0)), larger, strict=True))
    per_benchmark = load_benchmarks(EvalConfig(benchmarks=[{"name": "builtin-harmful", "limit": 9}]), seed=0)
    assert len({r.category for r in per_benchmark[0][1]}) == 9


def test_stratified_sample_is_proportional_nested_and_keeps_data_order():
    records = [Record(f"{c}{i}", "p", category=c) for c, n in (("a", 60), ("b", 30), ("c", 10)) for i in range(n)]
    previous: set[str] = set()
    for k in range(1, 101):
        sample = stratified_sample(records, k, seed=3)
        counts = Counter(r.category for r in sample)
        assert all(abs(counts[c] - k * n / 100) <= 1 for c, n in (("a", 60), ("b", 30), ("c", 10))), (k, counts)
        assert previous <= {r.id for r in sample}
        previous = {r.id for r in sample}
        assert sample == sorted(sample, key=records.index)
    assert stratified_sample(records, None) == records


# ---------------------------------------------------------------- metric names and directions, up front
def test_metric_is_checked_against_the_benchmark_kind_before_any_model_loads():
    with pytest.raises(UserError, match=r"benchmark builtin-harmful: metric 'refusal_rat' is not defined for kind "
                                        r"'harmful'; accepted: attack_success_rate, (.*, )?non_refusal_rate, refusal_rate"):
        load_benchmarks(EvalConfig(benchmarks=[{"name": "builtin-harmful", "metric": "refusal_rat"}]))
    with pytest.raises(UserError, match="metric 'accuracy' is not defined for kind 'overrefusal'"):
        load_benchmarks(EvalConfig(benchmarks=[{"name": "builtin-harmless", "metric": "accuracy"}]))
    specs = [spec for spec, _ in load_benchmarks(EvalConfig(benchmarks=[
        {"name": "builtin-harmful", "metric": "refusal_rate"}, "builtin-harmless",
        {"name": "advbench", "metric": "non_refusal_rate", "data": {"builtin": "harmful"}}]))]
    assert [(s.metric, s.higher_is_better) for s in specs] == [
        ("refusal_rate", True), ("refusal_rate", False), ("non_refusal_rate", False)]


# ---------------------------------------------------------------- metrics named by what their judge measures
def scorings(cfg: EvalConfig) -> list[list[tuple[str, str]]]:
    return [[(s.id, s.metric) for s in benchmark_scorings(spec, cfg)] for spec, _ in load_benchmarks(cfg)]


def test_a_harmful_benchmarks_default_metric_follows_the_judges_kind():
    harmful = [{"name": "builtin-harmful", "limit": 2}]
    assert scorings(EvalConfig(benchmarks=harmful)) == [[("keyword:gcg-29@1", "non_refusal_rate")]]
    assert scorings(EvalConfig(benchmarks=harmful, judge="harmbench-cls")) == [
        [("harmbench-cls:llama2-13b@1", "attack_success_rate")]]
    assert scorings(EvalConfig(benchmarks=harmful, judge="wildguard"))[0][0][1] == "attack_success_rate"  # harm too
    # a refusal judge and a harm judge on one benchmark: refusal and harm side by side
    both = scorings(EvalConfig(benchmarks=harmful, judges=["keyword-gcg", "llama-guard-3"]))
    assert [m for _, m in both[0]] == ["non_refusal_rate", "attack_success_rate"]
    # builtin-harmless (refusal_rate) has its own judge here: llama-guard-3 cannot score refusals
    with pytest.raises(UserError, match=r"^benchmark builtin-harmless: judge llama-guard-3:8b@1 measures harm, not "
                                        r"refusal: metric refusal_rate needs a refusal judge"):
        scorings(EvalConfig(benchmarks=["builtin-harmless"], judges=["keyword-gcg", "llama-guard-3"]))
    assert scorings(EvalConfig(benchmarks=[{"name": "builtin-harmless", "judge": "keyword-rules"}],
                               judges=["keyword-gcg", "llama-guard-3"]))[0][0][1] == "refusal_rate"


def test_asr_asked_of_a_refusal_judge_is_an_error_naming_non_refusal_rate():
    for metric in ("attack_success_rate", "asr"):
        with pytest.raises(UserError) as err:
            load_benchmarks(EvalConfig(benchmarks=[{"name": "builtin-harmful", "metric": metric}]))
        message = str(err.value)
        assert "\n" not in message and message.startswith(
            "benchmark builtin-harmful: judge keyword:gcg-29@1 measures refusal, not harm: metric attack_success_rate "
            "(ASR) counts harmful answers and needs a harm judge (e.g. harmbench-cls, llama-guard-3, wildguard)")
        assert "non_refusal_rate" in message
    load_benchmarks(EvalConfig(benchmarks=[{"name": "builtin-harmful", "metric": "asr"}], judge="harmbench-cls"))


@pytest.mark.parametrize(("evaluation", "message"), [
    ({"judges": []}, "config.evaluation: judges: expected at least one judge name"),
    ({"judge": "keyword-gcg", "judges": ["keyword-rules"]},
     "config.evaluation: give either judge: (one judge) or judges: (a list), not both"),
    ({"judges": ["keyword-gcg", "keyword-gcg"]}, "config.evaluation: judges: keyword-gcg listed twice"),
    ({"judges": ["keyword-gcg", ""]}, "config.evaluation: judges[1]: expected a judge name"),
    ({"judges": ["keyword-gcg", "no-such-judge"]}, "benchmark builtin-harmful: unknown judge 'no-such-judge'; accepted:"),
    ({"benchmarks": [{"name": "builtin-harmful", "judges": []}]},
     "benchmark builtin-harmful: judges: expected at least one judge name"),
    ({"benchmarks": [{"name": "builtin-harmful", "judge": "keyword-gcg", "judges": ["keyword-rules"]}]},
     "benchmark builtin-harmful: give either judge: (one judge) or judges: (a list), not both"),
    ({"benchmarks": [{"name": "builtin-harmful", "judges": ["keyword-rules", "nope"]}]},
     "benchmark builtin-harmful: unknown judge 'nope'"),
    ({"benchmarks": [{"name": "string-ops", "judges": ["keyword-gcg"]}]},
     "benchmark string-ops: a task benchmark is scored by its scorer (string-ops); the judges it adds grade answer "
     "quality (e.g. mt-bench?model=...), and judge keyword:gcg-29@1 measures refusal"),
    ({"benchmarks": [{"name": "builtin-harmful", "judges": ["harmbench-cls", "harmbench-cls?engine=hf"]}]},
     "benchmark builtin-harmful: judges 'harmbench-cls' and 'harmbench-cls?engine=hf' are both harmbench-cls:"),
])
def test_bad_judges_are_one_line_errors_before_any_model_loads(tmp_path, evaluation, message):
    path = tmp_path / "eval.yaml"
    path.write_text(yaml.safe_dump({"run": "r", "model": "tiny-random", "evaluation": evaluation}))
    with pytest.raises(UserError) as err:
        load_benchmarks(load_config(path).evaluation)
    assert message in str(err.value) and "\n" not in str(err.value)


# ---------------------------------------------------------------- what an evaluation records
@pytest.fixture(scope="module")
def long_prompt_file(tiny_model_path, tmp_path_factory) -> Path:
    """Four harmful prompts whose chat-formatted length is 42-54 tokens."""
    from harness.data import DataSpec, load_records

    tok = load_tokenizer(tiny_model_path)
    records = [r for r in load_records(DataSpec(builtin="harmful", split="test"))
               if 42 <= len(tok.encode(format_prompt(tok, r.prompt), add_special_tokens=False)) <= 54][:4]
    path = tmp_path_factory.mktemp("data") / "long.jsonl"
    path.write_text("".join(json.dumps({"prompt": r.prompt, "category": r.category}) + "\n" for r in records))
    return path


def test_evaluate_records_direction_truncation_and_its_report(tiny_model_path, long_prompt_file, cold_cache, tmp_path,
                                                               capsys):
    cfg = EvalConfig(benchmarks=[{"name": "long", "kind": "harmful", "metric": "refusal_rate",
                                  "data": {"path": str(long_prompt_file)}}],
                     engine="hf", max_model_len=64, sampling=SamplingConfig(max_new_tokens=48), bootstrap=100)
    target = [EvalTarget("tiny", str(tiny_model_path))]
    report: dict = {}
    row, degenerate = evaluate(cfg, target, tmp_path / "run", "r", report=report)
    assert row.higher_is_better is True and (degenerate.metric, degenerate.higher_is_better) == ("degenerate_rate", False)
    per_category = row.details.pop("per_category")  # the records carry categories (tests/test_per_category.py)
    assert sum(c["n"] for c in per_category.values()) == 4
    assert row.details == {"truncated": 4, "judgments": "judgments/keyword_gcg-29_1/tiny/long.jsonl"}  # its verdicts
    assert (tmp_path / "run" / row.details["judgments"]).is_file()
    assert "long: 4/4 answers of tiny were cut short by max_model_len 64" in capsys.readouterr().err
    generations = read_jsonl(tmp_path / "run" / "generations" / "tiny" / "long.jsonl")
    assert [g["truncated"] for g in generations] == [True] * 4
    assert report["generated"] == 4 and report["cached"] == 0
    assert report["judges"] == ["degenerate:heuristic@1", "keyword:gcg-29@1"]
    assert len(report["generation_keys"]) == 64

    again: dict = {}
    evaluate(cfg, target, tmp_path / "run", "r", report=again)
    assert again == {**report, "generated": 0, "cached": 4}

    roomy: dict = {}
    full, _ = evaluate(replace(cfg, max_model_len=128), target, tmp_path / "run", "r", report=roomy)
    assert roomy["generation_keys"] != report["generation_keys"] and roomy["generated"] == 4
    assert full.details["truncated"] == 0

    write_metrics(tmp_path / "metrics.json", [row, full])
    assert read_metrics(tmp_path / "metrics.json") == [row, full]
    assert build_leaderboard([row]).attrs["ascending"] is False  # refusing harmful prompts is good


def test_names_that_share_a_folder_are_refused(tiny_model_path, tmp_path):
    cfg = EvalConfig(benchmarks=["builtin-harmful"], limit=2)
    with pytest.raises(UserError, match=r"model names 'a/b' and 'a_b' both map to the folder 'a_b'; rename one"):
        evaluate(cfg, [EvalTarget("a/b", str(tiny_model_path)), EvalTarget("a_b", str(tiny_model_path))], tmp_path, "r")
    with pytest.raises(UserError, match=r"benchmark names 'x y' and 'x_y' both map to the folder 'x_y'"):
        load_benchmarks(EvalConfig(benchmarks=[{"name": n, "kind": "harmful", "data": {"builtin": "harmful"}}
                                               for n in ("x y", "x_y")]))


# ---------------------------------------------------------------- adapters must sit on the base they were trained on
@pytest.fixture(scope="module")
def other_base(tiny_model_path, tmp_path_factory) -> Path:
    """Same architecture and tokenizer as tiny-random, other weights (like an aligned copy of it)."""
    import torch

    from harness.models import load_model

    out = tmp_path_factory.mktemp("models") / "tiny-other"
    model = load_model(tiny_model_path)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(0.9)
    model.save_pretrained(out)
    load_tokenizer(tiny_model_path).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def other_adapter(other_base, tmp_path_factory) -> Path:
    return make_lora_adapter(other_base, tmp_path_factory.mktemp("lora") / "other-lora")


def test_eval_refuses_an_adapter_trained_on_another_base(other_adapter, other_base, tmp_path, capsys):
    cfg = {"run": "wrong-base", "model": "tiny-random", "models": [{"name": "lora", "adapter": str(other_adapter)}],
           "evaluation": {"benchmarks": ["builtin-harmful"], "limit": 2, "engine": "hf"}}
    path = tmp_path / "eval.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["eval", str(path), "--output-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert f"adapter {other_adapter} was trained on {other_base}" in err and "set model:" in err
    check_adapter_base(other_adapter, other_base, "lora")  # its own base passes
    link = tmp_path / "same-folder"
    link.symlink_to(other_base)
    check_adapter_base(other_adapter, link, "lora")  # compared by folder, not by path string


def test_training_record_beside_the_adapter_decides(tiny_lora_adapter, tiny_model_path, other_base, tmp_path, capsys):
    adapter = tmp_path / "models" / "vanilla" / "adapter"
    shutil.copytree(tiny_lora_adapter, adapter)  # adapter_config.json names tiny-random's folder
    write_json_atomic(adapter.parent / "stage.json", {"inputs": {"start_model": fingerprint_dir(other_base)}})
    with pytest.raises(UserError, match=r"fingerprint .* in .*stage.json\), not on "):
        check_adapter_base(adapter, tiny_model_path, "vanilla")
    check_adapter_base(adapter, other_base, "vanilla")

    hub = tmp_path / "hub-adapter"
    shutil.copytree(tiny_lora_adapter, hub)
    config = json.loads((hub / "adapter_config.json").read_text())
    (hub / "adapter_config.json").write_text(json.dumps({**config, "base_model_name_or_path": "org/some-model"}))
    check_adapter_base(hub, tiny_model_path, "hub", "tiny-random")  # cannot be compared: a warning, not an error
    assert "names its base 'org/some-model', which cannot be compared" in capsys.readouterr().err


# ---------------------------------------------------------------- several judges per benchmark, degenerate flags
def test_several_judges_score_one_generation_each_with_its_folder_and_column(tiny_model_path, cold_cache, tmp_path):
    from harness.degenerate import DEGENERATE_ID, degenerate
    from harness.judges import get_judge
    from harness.report.items import item_values
    from harness.report.leaderboard import render

    gcg, rules, inclusive = (get_judge(n).id for n in ("keyword-gcg", "keyword-rules", "keyword-inclusive"))
    cfg = EvalConfig(benchmarks=[{"name": "builtin-harmful", "limit": 4},
                                 {"name": "builtin-harmless", "limit": 3, "judges": ["keyword-inclusive"]}],
                     judges=["keyword-gcg", "keyword-rules"], engine="hf", sampling=SamplingConfig(max_new_tokens=6),
                     bootstrap=50)
    report: dict = {}
    run = tmp_path / "run"
    rows = evaluate(cfg, [EvalTarget("tiny", str(tiny_model_path))], run, "r", report=report, progress=False)
    assert [(r.benchmark, r.metric, r.judge) for r in rows] == [
        ("builtin-harmful", "non_refusal_rate", gcg), ("builtin-harmful", "non_refusal_rate", rules),
        ("builtin-harmful", "degenerate_rate", DEGENERATE_ID),
        ("builtin-harmless", "refusal_rate", inclusive), ("builtin-harmless", "degenerate_rate", DEGENERATE_ID)]
    assert report["generated"] == 7 and report["judges"] == sorted({gcg, rules, inclusive, DEGENERATE_ID})
    generations = {g["id"]: g["response"] for g in read_jsonl(run / "generations" / "tiny" / "builtin-harmful.jsonl")}
    assert len(list((run / "judgments").iterdir())) == 3  # one folder per judge id
    for row in rows[:2]:  # each judge: its own verdicts, each row with the degenerate flag and its reason
        verdicts = read_jsonl(run / row.details["judgments"])
        assert row.details["judgments"].startswith(f"judgments/{row.judge.replace(':', '_').replace('@', '_')}/")
        assert [v["id"] for v in verdicts] == list(generations)
        for v in verdicts:
            assert (v["degenerate"], v["degenerate_reason"]) == (
                degenerate(generations[v["id"]]).degenerate, degenerate(generations[v["id"]]).reason)
        assert row.value == pytest.approx(sum(not v["refused"] for v in verdicts) / 4)
        assert sum(item_values(run, row).values()) / 4 == pytest.approx(row.value)  # read back per item
    flags = rows[2]
    verdicts = read_jsonl(run / flags.details["judgments"])  # the first judge's file
    assert flags.value == pytest.approx(sum(v["degenerate"] for v in verdicts) / 4) and flags.n == 4
    assert flags.higher_is_better is False and "truncated" not in flags.details
    assert sum(item_values(run, flags).values()) / 4 == pytest.approx(flags.value)
    assert sum(flags.details.get("reasons", {}).values()) == sum(v["degenerate"] for v in verdicts)

    board = build_leaderboard(rows)
    keys = [c.key for c in board.attrs["columns"]]
    assert keys == [f"builtin-harmful/non_refusal_rate [{gcg}]", f"builtin-harmful/non_refusal_rate [{rules}]",
                    "builtin-harmful/degenerate_rate", "builtin-harmless/refusal_rate", "builtin-harmless/degenerate_rate"]
    md = render(board, "md")
    assert (f"Judges: builtin-harmful/non_refusal_rate [{gcg}]: {gcg}; builtin-harmful/non_refusal_rate [{rules}]: "
            f"{rules}; builtin-harmful/degenerate_rate: {DEGENERATE_ID};") in md
    assert board.attrs["primary"] == f"builtin-harmful/non_refusal_rate [{gcg}]"
    write_metrics(tmp_path / "metrics.json", rows)
    assert read_metrics(tmp_path / "metrics.json") == rows
