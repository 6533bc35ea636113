"""BEA (Wang et al. 2024, backdoor enhanced safety alignment) on the tiny model: its mechanism.

The trigger (seeded, its token length), the system prompt it is prefixed to (the run's, or the chat
template's default), the safety examples that carry it and the task examples that do not, the batches
of the shared mixing code, the length check, a few real training steps, and the evaluation path: the
fine-tuned row is evaluated with the triggered system prompt (while another target of the same call
keeps the run's) and the leaderboard footnote says so.
"""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from defenses import available_defenses, build_defense
from defenses.base import DefenseContext
from defenses.bea import random_trigger, template_default_system_prompt, triggered_system_prompt
from harness.config import DefenseEntry, EvalConfig, LoraConfig, TrainConfig
from harness.errors import UserError
from harness.evaluation import EvalTarget, evaluate
from harness.generation import Generator, SamplingConfig
from harness.models import format_prompt, load_tokenizer
from harness.records import Record
from harness.report.leaderboard import build_leaderboard, render
from harness.training.engine import train
from harness.training.examples import encode_records
from harness.training.trainer import read_train_log

# SmolLM2-135M-Instruct's chat template: it inserts a default system prompt when the messages have none.
SMOLLM2_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
SMOLLM2_DEFAULT = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
N = 16  # trigger tokens in the tiny tests (fits max_prompt_length 96 with the built-in harmful prompts)


def _records(n):
    return [Record(f"r{i}", f"Please list {i} fruits and {i * 2} animals", f"Sure: {i} apples, {i} pears") for i in range(n)]


def _ids(tok, text):
    return tok(text, add_special_tokens=False)["input_ids"]


def _contains(seq, sub):
    return any(seq[i:i + len(sub)] == sub for i in range(len(seq) - len(sub) + 1))


def _ctx(tiny_model_path, run_dir, system_prompt=None, n=6, steps=4, max_prompt_length=96, tok=None):
    tok = tok or load_tokenizer(tiny_model_path)
    cfg = TrainConfig(steps=steps, batch_size=4, max_length=128, max_prompt_length=max_prompt_length,
                      lora=LoraConfig(r=4))
    return DefenseContext(model=None, tokenizer=tok, base_model_path=tiny_model_path, train_config=cfg,
                          examples=encode_records(tok, _records(n), system_prompt, 128, max_prompt_length),
                          run_dir=run_dir, system_prompt=system_prompt, total_steps=steps)


def _prepared(tiny_model_path, run_dir, params=None, **kw):
    ctx = _ctx(tiny_model_path, run_dir, **kw)
    defense = build_defense("bea", params)
    defense.prepare(ctx)
    return defense, ctx


# ---------------------------------------------------------------- params
def test_registered_with_the_papers_defaults():
    assert "bea" in available_defenses()
    p = build_defense("bea").params
    assert (p.n_tokens, p.seed, p.trigger) == (150, 0, None)
    assert p.safety.harmful.limit == 11 and p.safety.harmful.builtin == "harmful" and p.safety.harmful.split == "train"
    assert p.safety.per_batch == 1 and p.safety.refusals == "builtin" and p.safety.lm_loss
    # a partial safety block keeps BEA's other defaults (not safeinstr's)
    assert build_defense("bea", {"safety": {"per_batch": 2}}).params.safety.harmful.limit == 11
    assert build_defense("bea").evaluation_note == ("system prompt prefixed with BEA's secret trigger "
                                                    "(150 random tokens, trigger_seed 0)")
    assert "explicit 5-character" in build_defense("bea", {"trigger": "xyzzy"}).evaluation_note


@pytest.mark.parametrize("params, match", [
    ({"trigger": "abc", "trigger_tokens": 10}, "not both"),
    ({"trigger": "abc", "trigger_seed": 1}, "not both"),
    ({"trigger": "  "}, "non-empty"),
    ({"trigger_tokens": 0}, "trigger_tokens: expected an integer >= 1"),
    ({"safety": {"per_batch": 0}}, "per_batch"),
])
def test_params_are_validated(params, match):
    with pytest.raises(UserError, match=match):
        build_defense("bea", params)


# ---------------------------------------------------------------- the trigger and its system prompt
def test_trigger_is_seeded_and_has_its_token_length(tiny_model_path):
    tok = load_tokenizer(tiny_model_path)
    for n in (N, 150):
        trigger = random_trigger(tok, n, seed=0)
        assert trigger == random_trigger(load_tokenizer(tiny_model_path), n, seed=0)  # reproducible
        assert trigger != random_trigger(tok, n, seed=1)
        # Exactly n tokens when re-tokenised on its own (built so: a token that overshoots is redrawn) ...
        ids = _ids(tok, trigger)
        assert len(ids) == n and not set(ids) & set(tok.all_special_ids)
        assert trigger == trigger.strip() and "\ufffd" not in trigger and trigger.isprintable()
        # ... and n +- 2 inside a chat prompt: its first and last token may merge with their neighbours
        # (the newline of the system header, the space before the system prompt it prefixes).
        plain = _ids(tok, format_prompt(tok, "How do I bake bread?", "Be brief."))
        triggered = _ids(tok, format_prompt(tok, "How do I bake bread?", triggered_system_prompt(trigger, "Be brief.",
                                                                                                   None)))
        assert abs(len(triggered) - len(plain) - n) <= 2


def test_the_system_prompt_the_trigger_prefixes(tiny_model_path):
    tok = load_tokenizer(tiny_model_path)  # plain ChatML: no default system prompt
    assert template_default_system_prompt(tok) is None
    assert triggered_system_prompt("T", None, None) == "T"
    assert triggered_system_prompt("T", "Be brief.", None) == "T Be brief."
    smol = load_tokenizer(tiny_model_path)
    smol.chat_template = SMOLLM2_TEMPLATE
    default = template_default_system_prompt(smol)
    assert default == SMOLLM2_DEFAULT
    # the triggered prompt renders as SmolLM2's own default block with the trigger in front
    assert format_prompt(smol, "Hi", triggered_system_prompt("T", None, default)) == \
        format_prompt(smol, "Hi").replace(SMOLLM2_DEFAULT, "T " + SMOLLM2_DEFAULT)
    assert triggered_system_prompt("T", "Be brief.", default) == "T Be brief."  # the run's prompt wins
    no_system = load_tokenizer(tiny_model_path)
    no_system.chat_template = ("{% for m in messages %}{% if m['role'] == 'system' %}"
                               "{{ raise_exception('System role not supported') }}{% endif %}"
                               "{{ m['role'] + ': ' + m['content'] + '\n' }}{% endfor %}")
    with pytest.raises(UserError, match="does not accept a system message"):
        template_default_system_prompt(no_system)


# ---------------------------------------------------------------- the safety examples and the batches
@pytest.mark.parametrize("system_prompt", [None, "You answer briefly."])
def test_safety_examples_carry_the_trigger_and_task_examples_do_not(tiny_model_path, tmp_path, system_prompt):
    defense, ctx = _prepared(tiny_model_path, tmp_path, {"trigger_tokens": N}, system_prompt=system_prompt)
    tok, trigger = ctx.tokenizer, defense.trigger
    core = _ids(tok, trigger)[1:-1]  # without the two tokens that may merge with their neighbours
    system = triggered_system_prompt(trigger, system_prompt, None)
    safety = [e for e in ctx.examples if e.kind == "safety_harmful"]
    task = [e for e in ctx.examples if e.kind == "task"]
    assert len(safety) == 11 and len(task) == 6  # the paper's 11 safety examples
    for e in safety:
        prompt = tok.decode(e.input_ids[:e.prompt_len])
        assert prompt.count(trigger) == 1 and system in prompt and _contains(e.input_ids, core)
        assert e.input_ids[:e.prompt_len] == _ids(tok, prompt)  # not cut: the trigger is whole
    for e in task:
        assert trigger not in tok.decode(e.input_ids) and not _contains(e.input_ids, core)
        if system_prompt is not None:
            assert system_prompt in tok.decode(e.input_ids)
    # the shared mixing code: every batch is batch_size task samples + 1 safety sample (BEA's default)
    assert ctx.batch_size == 5
    kinds = [ctx.examples[i].kind for i in ctx.sample_order]
    batches = [kinds[i:i + 5] for i in range(0, len(kinds), 5)]
    assert len(batches) == 4 and all(b == ["task"] * 4 + ["safety_harmful"] for b in batches)
    assert ctx.state["safety_mix"]["per_batch"] == 1 and ctx.state["safety_mix"]["records"] == 11
    # recorded: the trigger's hash and length, never its text
    state = ctx.state["bea"]
    assert state["trigger_tokens"] == N and state["trigger_source"] == "random" and state["trigger_seed"] == 0
    assert state["system_prompt"] == ("none" if system_prompt is None else "run")
    assert trigger not in json.dumps(ctx.state) and len(state["trigger_sha256"]) == 64


def test_per_batch_and_an_explicit_trigger(tiny_model_path, tmp_path):
    defense, ctx = _prepared(tiny_model_path, tmp_path, {"trigger": "xyzzy plugh", "safety": {"per_batch": 3}})
    kinds = [ctx.examples[i].kind for i in ctx.sample_order]
    assert ctx.batch_size == 7 and all(kinds[i:i + 7].count("safety_harmful") == 3 for i in range(0, len(kinds), 7))
    safety = [e for e in ctx.examples if e.kind == "safety_harmful"]
    assert all("<|im_start|>system\nxyzzy plugh<|im_end|>" in ctx.tokenizer.decode(e.input_ids) for e in safety)
    assert ctx.state["bea"]["trigger_source"] == "explicit" and ctx.state["bea"]["trigger_seed"] is None


def test_a_trigger_that_does_not_fit_max_prompt_length_fails_in_one_line(tiny_model_path, tmp_path):
    with pytest.raises(UserError) as err:
        _prepared(tiny_model_path, tmp_path, None, max_prompt_length=100)  # 150 tokens do not fit
    message = str(err.value)
    assert "\n" not in message and "trigger_tokens" in message and "max_prompt_length is 100" in message
    assert "raise training.max_prompt_length to >= " in message


def test_lm_loss_false_is_refused(tiny_model_path, tmp_path):
    with pytest.raises(UserError, match="safety.lm_loss"):
        _prepared(tiny_model_path, tmp_path, {"trigger_tokens": N, "safety": {"lm_loss": False}})


def test_the_evaluation_prompt_needs_the_tokenizer(tiny_model_path, tmp_path):
    tok = load_tokenizer(tiny_model_path)
    fresh = build_defense("bea", {"trigger_tokens": N})
    with pytest.raises(RuntimeError, match="bind"):
        fresh.evaluation_system_prompt(None)
    prepared, ctx = _prepared(tiny_model_path, tmp_path, {"trigger_tokens": N})
    # binding a fresh instance to the same tokenizer gives the prompt the training used
    assert fresh.evaluation_system_prompt(None, tokenizer=tok) == prepared.evaluation_system_prompt(None) \
        == prepared.trigger
    # an explicit trigger before a given system prompt needs no tokenizer
    assert build_defense("bea", {"trigger": "xyzzy"}).evaluation_system_prompt("Be brief.") == "xyzzy Be brief."


# ---------------------------------------------------------------- training and evaluation, end to end
@pytest.fixture
def cold_cache(tmp_path, monkeypatch):
    import harness.generation.cache as cache_mod

    monkeypatch.setattr(cache_mod, "cache_dir", lambda *_: tmp_path / "cache")
    return tmp_path / "cache"


def test_training_then_evaluation_with_the_trigger(tiny_model_path, tmp_path, cold_cache, monkeypatch):
    from harness.pipeline import TrainingPlan

    cfg = TrainConfig(steps=2, batch_size=2, save_steps=10, max_length=128, max_prompt_length=96, lora=LoraConfig(r=4))
    defense = build_defense("bea", {"trigger_tokens": N})
    folder = tmp_path / "models" / "bea"
    train(tiny_model_path, cfg, defense, _records(4), folder, progress=False)
    written = json.loads((folder / "train_config.json").read_text())
    assert written["state"]["safety_mix"]["batch_size"] == 3 and written["state"]["bea"]["trigger_tokens"] == N
    assert defense.trigger not in json.dumps(written)
    assert len(read_train_log(folder / "train_log.jsonl")) == 2

    # the pipeline's view of the finished row: evaluated with the triggered system prompt, and a note
    plan = TrainingPlan(DefenseEntry("bea"), defense, folder, {"train": asdict(cfg)}, start_model=tiny_model_path)
    trained = plan.trained("key", system_prompt=None)
    triggered = defense.trigger  # tiny-random's template has no default system prompt: the trigger alone
    assert trained.system_prompt == triggered and trained.evaluation_note == defense.evaluation_note
    target = trained.eval_target(tiny_model_path)
    assert (target.system_prompt, target.note, target.adapter) == (triggered, defense.evaluation_note,
                                                                   str(folder / "adapter"))

    seen: list = []
    generate_jobs = Generator.generate_jobs

    def spy(self, jobs, *args, **kwargs):
        seen.extend(r for requests, _ in jobs for r in requests)
        return generate_jobs(self, jobs, *args, **kwargs)

    monkeypatch.setattr(Generator, "generate_jobs", spy)
    ecfg = EvalConfig(benchmarks=[{"name": "builtin-harmful", "limit": 3}], engine="hf",
                      sampling=SamplingConfig(max_new_tokens=2), bootstrap=10)
    report: dict = {}
    rows = evaluate(ecfg, [EvalTarget("plain", str(tiny_model_path)), target], tmp_path / "run", "r", report=report)
    tok = load_tokenizer(tiny_model_path)
    by_adapter = {None: [], str(folder / "adapter"): []}
    for request in seen:
        by_adapter[request.adapter].append(request.prompt)
    prompts = [g["prompt"] for g in map(json.loads, (tmp_path / "run/generations/bea/builtin-harmful.jsonl")
                                       .read_text().splitlines())]
    assert by_adapter[str(folder / "adapter")] == [format_prompt(tok, p, triggered) for p in prompts]
    assert by_adapter[None] == [format_prompt(tok, p) for p in prompts]  # the run's (None: the template's)
    assert all(triggered not in p for p in by_adapter[None])
    assert report["generated"] == 6  # 3 prompts x 2 targets, none shared

    notes = {row.model: (row.details or {}).get("evaluation") for row in rows}
    assert notes == {"plain": None, "bea": defense.evaluation_note}
    markdown = render(build_leaderboard(rows), "md")
    assert f"Evaluated differently: bea: {defense.evaluation_note}." in markdown
    assert "plain:" not in markdown.split("Evaluated differently:")[1].splitlines()[0]
