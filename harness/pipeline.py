"""The whole job for one config: align -> refusal direction -> train each defense -> drift -> evaluate -> tables.

Each stage is cached or resumable (aligned model by content hash, finished adapters and direction
files in the run folder, generations in the content-addressed cache), so rerunning a finished
config redoes nothing and rerunning an interrupted one continues where it stopped.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from defenses import build_defense
from harness.config import RunConfig
from harness.data import load_records
from harness.directions import RefusalDirection, compute_direction, drift, write_direction_report
from harness.evaluation import EvalTarget, evaluate
from harness.io import read_json, write_json_atomic, write_text_atomic
from harness.manifest import write_manifest
from harness.metrics import compute_metric
from harness.models import load_model, load_tokenizer, resolve_model
from harness.report.leaderboard import build_leaderboard, render
from harness.report.metrics_table import MetricRow, write_metrics

DIRECTION_BENCHMARK = "refusal-direction"


@dataclass
class RunState:
    cfg: RunConfig
    start_model: Path | None = None
    start_name: str = "base"
    direction: RefusalDirection | None = None
    trained: dict[str, Path] = field(default_factory=dict)
    stage_seconds: dict[str, float] = field(default_factory=dict)


@contextmanager
def stage(state: RunState, name: str):
    print(f"==> {name}", flush=True)
    t0 = time.perf_counter()
    yield
    state.stage_seconds[name] = round(time.perf_counter() - t0, 2)
    write_manifest(state.cfg.run_dir, _config_dict(state.cfg), {"seed": state.cfg.seed},
                   {"stages": {name: state.stage_seconds[name]}})


def _config_dict(cfg: RunConfig) -> dict:
    return asdict(cfg)


# ---------------------------------------------------------------- stages
def prepare_start_model(state: RunState) -> None:
    cfg = state.cfg
    with stage(state, "resolve model"):
        base = resolve_model(cfg.model, cfg.revision).path
    if cfg.alignment is None:
        state.start_model, state.start_name = base, "base"
        return
    from harness.alignment import align

    with stage(state, "align"):
        state.start_model, state.start_name = align(base, cfg.alignment, cfg.system_prompt, cfg.evaluation.engine), "aligned"
    write_json_atomic(cfg.run_dir / "models" / "aligned.json", {"path": str(state.start_model)})


def _direction_prompts(cfg: RunConfig) -> tuple[list[str], list[str]]:
    return ([r.prompt for r in load_records(cfg.direction.harmful)],
            [r.prompt for r in load_records(cfg.direction.harmless)])


def compute_start_direction(state: RunState) -> RefusalDirection:
    cfg = state.cfg
    path = cfg.run_dir / "direction" / "direction.pt"
    if path.exists():
        state.direction = RefusalDirection.load(path)
        return state.direction
    with stage(state, "direction"):
        harmful, harmless = _direction_prompts(cfg)
        model = load_model(state.start_model)
        tokenizer = load_tokenizer(state.start_model)
        state.direction = compute_direction(model, tokenizer, harmful, harmless, cfg.system_prompt,
                                            cfg.direction.batch_size)
        write_direction_report(state.direction, path.parent, {"model": str(state.start_model),
                                                              "n_harmful": len(harmful), "n_harmless": len(harmless)})
    return state.direction


def build_defenses(cfg: RunConfig) -> list:
    return [(d, build_defense(d.name, d.params, f"defenses[{d.row_name}].params")) for d in cfg.defenses]


def validate(cfg: RunConfig) -> None:
    """Fail on bad defenses, benchmarks, judges or data before any model is loaded or trained."""
    from harness.evaluation import load_benchmarks
    from harness.training.engine import training_records

    build_defenses(cfg)
    load_benchmarks(cfg.evaluation)
    if cfg.defenses:
        training_records(cfg.training)


def train_defenses(state: RunState) -> None:
    from harness.training.engine import train, training_records

    cfg = state.cfg
    defenses = build_defenses(cfg)
    if any(defense.needs_direction for _, defense in defenses) and state.direction is None:
        compute_start_direction(state)
    records = training_records(cfg.training)
    for entry, defense in defenses:
        with stage(state, f"train {entry.row_name}"):
            result = train(state.start_model, cfg.training, defense, records, cfg.run_dir / "models" / entry.row_name,
                           system_prompt=cfg.system_prompt, direction=state.direction)
        state.trained[entry.row_name] = result.output


def _checkpoint_adapters(model_dir: Path) -> list[tuple[int, Path]]:
    found = [(int(p.name.split("-")[-1]), p) for p in (model_dir / "checkpoints").glob("checkpoint-*")
             if (p / "adapter_config.json").exists()]
    return sorted(found)


def measure_drift(state: RunState) -> dict[str, list[float]]:
    """Per-layer cosine(r at step t, r at step 0) at every saved checkpoint and the final adapter."""
    from peft import PeftModel

    cfg = state.cfg
    start = state.direction or compute_start_direction(state)
    harmful, harmless = _direction_prompts(cfg)
    tokenizer = load_tokenizer(state.start_model)
    final: dict[str, list[float]] = {}
    with stage(state, "drift"):
        for name, adapter in state.trained.items():
            out = cfg.run_dir / "models" / name / "drift.json"
            if out.exists():
                final[name] = read_json(out)["final"]
                continue
            points = dict(_checkpoint_adapters(cfg.run_dir / "models" / name))
            points[cfg.training.steps] = adapter  # the final adapter (same weights as the last checkpoint)
            model = None
            curve = {}
            for step, path in sorted(points.items()):
                if model is None:
                    model = PeftModel.from_pretrained(load_model(state.start_model), str(path), adapter_name=f"s{step}")
                else:
                    model.load_adapter(str(path), adapter_name=f"s{step}")
                model.set_adapter(f"s{step}")
                r_t = compute_direction(model, tokenizer, harmful, harmless, cfg.system_prompt,
                                        cfg.direction.batch_size, progress=False)
                curve[step] = drift(r_t, start)
            final[name] = curve[cfg.training.steps]
            write_json_atomic(out, {"steps": {str(k): v for k, v in curve.items()}, "final": final[name]})
    return final


def drift_rows(state: RunState, final: dict[str, list[float]]) -> list[MetricRow]:
    from defenses.procon import middle_band

    cfg = state.cfg
    n_layers = len(state.direction.directions)
    layers = cfg.direction.drift_layers or middle_band(n_layers)
    label = f"layers:{layers[0]}-{layers[-1]}"  # stands where a judge id stands for the other metrics
    per_model = {state.start_name: [1.0] * n_layers, **final}  # the start model has not drifted by definition
    return [MetricRow.from_value(run=cfg.run, model=name, benchmark=DIRECTION_BENCHMARK, metric="r_cosine",
                                 mv=compute_metric("r_cosine", [cosines[i] for i in layers],
                                                   n_boot=cfg.evaluation.bootstrap, seed=cfg.seed),
                                 judge=label, seed=cfg.seed)
            for name, cosines in per_model.items()]


def evaluate_models(state: RunState, extra_rows: list[MetricRow]) -> list[MetricRow]:
    cfg = state.cfg
    targets = [EvalTarget(state.start_name, str(state.start_model))]
    targets += [EvalTarget(name, str(state.start_model), str(path)) for name, path in state.trained.items()]
    with stage(state, "evaluate"):
        rows = evaluate(cfg.evaluation, targets, cfg.run_dir, cfg.run, cfg.system_prompt, cfg.seed)
    return write_tables(state, rows + extra_rows)


def write_tables(state: RunState, rows: list[MetricRow]) -> list[MetricRow]:
    cfg = state.cfg
    write_metrics(cfg.run_dir / "metrics.json", rows)
    table = build_leaderboard(rows, cfg.primary_metric)
    for fmt, suffix in (("md", "md"), ("csv", "csv"), ("json", "json"), ("latex", "tex")):
        write_text_atomic(cfg.run_dir / f"leaderboard.{suffix}", render(table, fmt))
    print(render(table, "md"))
    return rows


# ---------------------------------------------------------------- entry points
def run_pipeline(cfg: RunConfig, do_eval: bool = True) -> RunState:
    validate(cfg)
    state = RunState(cfg)
    write_manifest(cfg.run_dir, _config_dict(cfg), {"seed": cfg.seed, "training": cfg.training.seed})
    t0 = time.perf_counter()
    prepare_start_model(state)
    compute_start_direction(state)
    train_defenses(state)
    if do_eval:
        final = measure_drift(state) if state.trained else {}
        evaluate_models(state, drift_rows(state, final) if final else [])
    state.stage_seconds["total"] = round(time.perf_counter() - t0, 2)
    write_manifest(cfg.run_dir, _config_dict(cfg), {"seed": cfg.seed}, {"stages": state.stage_seconds})
    return state
