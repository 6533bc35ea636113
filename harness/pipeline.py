"""The whole job for one config: align -> refusal direction -> train each defense -> drift -> evaluate -> tables.

Every stage is keyed by its inputs (``harness/stages.py``): its folder holds ``stage.json`` with the
key, and it is reused only on an exact match. A changed input recomputes exactly the stages it
affects (the user is told which inputs changed), a half-finished training resumes only into a
checkpoint made with the same key, and the manifest lists per stage its key and whether it was
computed, resumed or reused. The aligned model and generations are content-addressed caches outside
the run folder.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from defenses import build_defense
from defenses.base import Defense
from defenses.procon import middle_band
from harness.config import RunConfig, TrainConfig
from harness.data import load_records
from harness.directions import RefusalDirection, compute_direction, write_direction_report
from harness.drift import CSV_COLUMNS, DRIFT_VERSION, DriftPrompts, checkpoint_stats, csv_rows
from harness.errors import UserError
from harness.evaluation import EvalTarget, evaluate
from harness.io import (
    fingerprint_dir,
    read_json,
    safe_name,
    sha256_json,
    write_json_atomic,
    write_text_atomic,
)
from harness.manifest import write_manifest
from harness.metrics import compute_metric
from harness.models import load_model, load_tokenizer, model_layer_count, resolve_model
from harness.records import Record
from harness.report.leaderboard import build_leaderboard, render
from harness.report.metrics_table import MetricRow, write_metrics
from harness.seeds import run_seeds
from harness.stages import StageRecord, keyed_stage, numerics_versions, stage_key
from harness.training.precision import training_precision

DIRECTION_BENCHMARK = "refusal-direction"
DIRECTION_MAX_PROMPT_LENGTH = 256


@dataclass
class TrainedModel:
    """A finished training stage: its output (LoRA adapter or full model folder), its key and run seed.

    ``tag`` names it in stage names, drift files and messages: the defense's row name, plus
    ``/seed-<s>`` in a multi-seed run (``per_seed``), where every defense is trained once per seed."""

    name: str
    path: Path
    is_adapter: bool
    key: str
    seed: int | None = None
    per_seed: bool = False
    start_model: Path | None = None  # the row's own start (an alignment-stage defense); None: the run's
    system_prompt: str | None = None  # evaluated with this system prompt (Defense.evaluation_system_prompt)
    evaluation_note: str | None = None

    @property
    def tag(self) -> str:
        return seed_tag(self.name, self.seed if self.per_seed else None)

    @property
    def folder(self) -> Path:
        return self.path.parent

    def checkpoints(self) -> list[tuple[int, Path]]:
        """Saved checkpoints that hold weights (adapter or full model), by step."""
        marker = "adapter_config.json" if self.is_adapter else "config.json"
        found = [(int(p.name.split("-")[-1]), p) for p in (self.folder / "checkpoints").glob("checkpoint-*")
                 if (p / marker).exists()]
        return sorted(found)

    def eval_target(self, start_model: Path) -> EvalTarget:
        """Adapters ride on their start model's engine; a full model is its own base (its own engine)."""
        seeds = run_seeds(self.seed) if self.seed is not None else {}
        where = {"seed": self.seed, "folder": f"{safe_name(self.name)}/seed-{self.seed}" if self.per_seed else None,
                 "sampling_seed": seeds.get("sampling"), "bootstrap_seed": seeds.get("bootstrap"),
                 "system_prompt": self.system_prompt, "note": self.evaluation_note}
        if self.is_adapter:
            return EvalTarget(self.name, str(self.start_model or start_model), str(self.path), **where)
        return EvalTarget(self.name, str(self.path), **where)


def seed_tag(name: str, seed: int | None) -> str:
    """``vanilla`` (single seed) or ``vanilla/seed-1``: stage names, drift rows and the model folder."""
    return name if seed is None else f"{name}/seed-{seed}"


@dataclass
class RunState:
    cfg: RunConfig
    force: bool = False
    # A command that runs some stages on an existing run folder (drift, directions) keeps the
    # manifest's records of the others; `run` writes them whole (a stage of an earlier config never lingers).
    partial: bool = False
    seeds: dict[str, int] = field(init=False)
    base_model: Path | None = None  # the resolved `model:` (before the alignment stage)
    start_model: Path | None = None
    start_name: str = "base"
    start_fingerprint: str | None = None
    # start models of alignment-stage defenses (Defense.alignment_defense), by the defense's description
    row_starts: dict[str, tuple[Path, str]] = field(default_factory=dict)
    direction: RefusalDirection | None = None
    direction_key: str | None = None
    selection: object = None  # harness.selection.Selection, computed when a defense needs it (layers: auto)
    selection_key: str | None = None
    trained: dict[str, TrainedModel] = field(default_factory=dict)
    stages: dict[str, StageRecord] = field(default_factory=dict)
    drift_report: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.seeds = run_seeds(self.cfg.seed)

    @property
    def stage_seconds(self) -> dict[str, float]:
        return {name: rec.seconds for name, rec in self.stages.items()}

    @property
    def manifest_seeds(self) -> dict:
        """The run seed and its sub-seeds; in a multi-seed run, those of every seed by seed."""
        if not self.cfg.multi_seed:
            return self.seeds
        return {"seeds": self.cfg.all_seeds, **{str(s): run_seeds(s) for s in self.cfg.all_seeds}}

    def write_manifest(self) -> None:
        stages = {name: rec.to_dict() for name, rec in self.stages.items()}
        path = self.cfg.run_dir / "manifest.json"
        if self.partial and path.is_file():
            stages = {**read_json(path).get("stages", {}), **stages}
        write_manifest(self.cfg.run_dir, _config_dict(self.cfg), self.manifest_seeds, {"stages": stages})


def _config_dict(cfg: RunConfig) -> dict:
    """The config as the manifest records it, with the training seed that training really used: the
    first run seed's derived ``training`` sub-seed (every seed's is in the manifest's ``seeds``)."""
    data = asdict(cfg)
    data["training"]["seed"] = run_seeds(cfg.seed)["training"]
    return data


def _hash_records(records: list[Record]) -> str:
    return sha256_json([(r.prompt, r.response, r.meta.get("kind")) for r in records])


@contextmanager
def stage(state: RunState, name: str, folder: Path, inputs: dict, outputs: tuple[str, ...] = (),
          keep: tuple[str, ...] = ()) -> Iterator[StageRecord]:
    """A keyed stage in ``folder``: skip the body when ``record.reused``; timed and listed in the manifest.
    ``keep``: entries of ``folder`` that a recompute leaves alone (``harness.stages.keyed_stage``)."""
    t0 = time.perf_counter()
    with keyed_stage(name, folder, inputs, force=state.force, outputs=outputs, keep=keep) as record:
        print(f"==> {name}" + (f" (reused, key {record.key})" if record.reused else
                               f" (resuming, key {record.key})" if record.status == "resumed" else ""), flush=True)
        yield record
    record.seconds = round(time.perf_counter() - t0, 2)
    state.stages[name] = record
    state.write_manifest()


@contextmanager
def unkeyed_stage(state: RunState, name: str) -> Iterator[StageRecord]:
    """A stage whose output lives in a content-addressed cache; the body sets key and status."""
    print(f"==> {name}", flush=True)
    record = StageRecord(name, key="")
    t0 = time.perf_counter()
    yield record
    record.seconds = round(time.perf_counter() - t0, 2)
    state.stages[name] = record
    state.write_manifest()


# ---------------------------------------------------------------- validation (before any model loads)
def build_defenses(cfg: RunConfig) -> list:
    return [(d, build_defense(d.name, d.params, f"defenses[{d.row_name}].params")) for d in cfg.defenses]


def check_defense(cfg: RunConfig, entry, defense) -> None:
    """What a defense points at (its data) and needs from the config (an alignment stage)."""
    defense.check()
    if defense.alignment_defense() is not None and cfg.alignment is None:
        raise UserError(f"defenses[{entry.row_name}]: {defense.name} is an alignment-stage defense (it trains "
                        "its own aligned start model); the config needs an `alignment:` block")


def validate(cfg: RunConfig) -> None:
    """Fail on bad defenses, benchmarks, judges or data before any model is loaded or trained."""
    from harness.evaluation import load_benchmarks
    from harness.training.engine import training_records

    for entry, defense in build_defenses(cfg):
        check_defense(cfg, entry, defense)
    load_benchmarks(cfg.evaluation)
    if cfg.direction.intervene.judge is not None:
        from harness.judges import get_judge

        try:
            get_judge(cfg.direction.intervene.judge)
        except UserError as exc:
            raise UserError(f"direction.intervene.judge: {exc}") from None
    # the drift stage reads them only after every training: a bad path must fail here
    for where in ("heldout_harmful", "heldout_harmless"):
        try:
            load_records(getattr(cfg.direction, where))
        except UserError as exc:
            raise UserError(f"direction.{where}: {exc}") from None
    if cfg.defenses:
        training_records(cfg.training)


def validate_layers(cfg: RunConfig, n_layers: int) -> None:
    """Layer indices in the config must exist in the model (read from its config.json, no weights)."""
    checks = [("direction.drift_layers", cfg.direction.drift_layers)]
    checks += [(f"defenses[{entry.row_name}].params.layers", getattr(defense.params, "layers", None))
               for entry, defense in build_defenses(cfg)]
    for where, layers in checks:
        bad = [i for i in (layers if isinstance(layers, list) else []) if not 0 <= i < n_layers]
        if bad:
            raise UserError(f"{where}: layer(s) {bad} out of range; the model has {n_layers} decoder layers "
                            f"(0..{n_layers - 1})")


# ---------------------------------------------------------------- stages
def prepare_start_model(state: RunState) -> None:
    cfg = state.cfg
    with unkeyed_stage(state, "resolve model") as record:
        base = resolve_model(cfg.model, cfg.revision).path
        record.key = fingerprint_dir(base)[:16]
        record.status = "reused"
    state.base_model = base
    validate_layers(cfg, model_layer_count(base))
    if cfg.alignment is None:
        state.start_model, state.start_name = base, "base"
    else:
        from harness.alignment import align

        with unkeyed_stage(state, "align") as record:
            t0 = time.time()
            state.start_model = align(base, cfg.alignment, cfg.system_prompt, cfg.evaluation.engine)
            state.start_name = "aligned"
            record.key = state.start_model.name
            record.status = "reused" if (state.start_model / "config.json").stat().st_mtime < t0 else "computed"
            record.extra = {"path": str(state.start_model)}
    state.start_fingerprint = fingerprint_dir(state.start_model)


def _direction_prompts(cfg: RunConfig) -> tuple[list[str], list[str]]:
    return ([r.prompt for r in load_records(cfg.direction.harmful)],
            [r.prompt for r in load_records(cfg.direction.harmless)])


def direction_inputs(state: RunState, harmful: list[str], harmless: list[str]) -> dict:
    cfg = state.cfg
    return {"model": state.start_fingerprint, "harmful": sha256_json(harmful), "harmless": sha256_json(harmless),
            "n_harmful": len(harmful), "n_harmless": len(harmless), "system_prompt": cfg.system_prompt,
            "batch_size": cfg.direction.batch_size, "max_prompt_length": DIRECTION_MAX_PROMPT_LENGTH,
            "versions": numerics_versions()}


def compute_start_direction(state: RunState) -> RefusalDirection:
    cfg = state.cfg
    harmful, harmless = _direction_prompts(cfg)
    folder = cfg.run_dir / "direction"
    inputs = direction_inputs(state, harmful, harmless)
    with stage(state, "direction", folder, inputs, outputs=("direction.pt",)) as record:
        if not record.reused:
            model = load_model(state.start_model)
            tokenizer = load_tokenizer(state.start_model)
            direction = compute_direction(model, tokenizer, harmful, harmless, cfg.system_prompt,
                                          cfg.direction.batch_size)
            write_direction_report(direction, folder, {"model": str(state.start_model), "key": record.key,
                                                       "n_harmful": len(harmful), "n_harmless": len(harmless)})
    state.direction = RefusalDirection.load(folder / "direction.pt")
    state.direction_key = record.key
    return state.direction


@dataclass
class TrainingPlan:
    """One (defense, run seed) training: its folder, its training config and records, and its key inputs."""

    entry: object  # harness.config.DefenseEntry
    defense: object  # defenses.base.Defense
    folder: Path
    inputs: dict
    seed: int = 0
    per_seed: bool = False
    train_cfg: TrainConfig | None = None  # with this seed's derived training sub-seed
    records: list[Record] = field(default_factory=list)
    start_model: Path | None = None  # what this defense fine-tunes: the run's start, or its own aligned model
    own_start: bool = False  # start_model comes from the defense's alignment stage

    @property
    def output(self) -> str:
        return "adapter" if self.inputs["train"]["lora"] else "model"

    @property
    def tag(self) -> str:
        return seed_tag(self.entry.row_name, self.seed if self.per_seed else None)

    def trained(self, key: str, system_prompt: str | None = None) -> TrainedModel:
        eval_prompt = system_prompt
        if type(self.defense).evaluation_system_prompt is not Defense.evaluation_system_prompt:
            # a defense-specific prompt may depend on the start model's tokenizer (BEA's trigger)
            eval_prompt = self.defense.evaluation_system_prompt(system_prompt, load_tokenizer(self.start_model))
        return TrainedModel(self.entry.row_name, self.folder / self.output, self.output == "adapter", key,
                            self.seed, self.per_seed, self.start_model if self.own_start else None,
                            eval_prompt if eval_prompt != system_prompt else None, self.defense.evaluation_note)


def seed_training_config(cfg: RunConfig, seed: int) -> TrainConfig:
    """The training config of one run seed: its derived ``training`` sub-seed (README "Seeds")."""
    return replace(cfg.training, seed=run_seeds(seed)["training"])


def row_start_model(state: RunState, entry, defense) -> tuple[Path, str, bool]:
    """The model a defense fine-tunes, its fingerprint, and whether it is the defense's own: an
    alignment-stage defense aligns the run's base model itself (cached like the shared aligned model,
    keyed on the defense); every other defense starts from the run's start model."""
    aligner = defense.alignment_defense()
    if aligner is None:
        return state.start_model, state.start_fingerprint, False
    key = sha256_json(aligner.describe())
    if key not in state.row_starts:
        from harness.alignment import align

        cfg = state.cfg
        with unkeyed_stage(state, f"align {entry.row_name}") as record:
            t0 = time.time()
            path = align(state.base_model, cfg.alignment, cfg.system_prompt, cfg.evaluation.engine, defense=aligner)
            record.key = path.name
            record.status = "reused" if (path / "config.json").stat().st_mtime < t0 else "computed"
            record.extra = {"path": str(path), "defense": aligner.describe()}
        state.row_starts[key] = (path, fingerprint_dir(path))
    path, fingerprint = state.row_starts[key]
    return path, fingerprint, True


def _unaligned_fingerprint(state: RunState, defense) -> str | None:
    """The unaligned weights a post-hoc defense reads: the run's model before its alignment stage, or,
    in a run without one, the model its ``unaligned`` param names (a Params convention, like ``layers``)."""
    if state.cfg.alignment is not None:
        return fingerprint_dir(state.base_model)
    ref = getattr(defense.params, "unaligned", None)
    return fingerprint_dir(resolve_model(ref).path) if ref else None


def plan_training(state: RunState, records: list[Record], seed: int | None = None) -> list[TrainingPlan]:
    """Each defense's training stage for one run seed (default: the run's first) and the inputs that key it.

    A single-seed run trains in ``models/<defense>/``; a multi-seed run in ``models/<defense>/seed-<s>/``.
    The inputs are the same either way: the seed enters through the training config's derived sub-seed,
    so a single-seed run keeps its keys. The direction must exist if a defense needs it."""
    cfg = state.cfg
    seed = cfg.seed if seed is None else seed
    train_cfg = seed_training_config(cfg, seed)
    plans = []
    for entry, defense in build_defenses(cfg):
        start, start_fingerprint, own = row_start_model(state, entry, defense)
        inputs = {"start_model": start_fingerprint, "records": _hash_records(records), "n_records": len(records),
                  "train": asdict(train_cfg), "defense": defense.describe(),
                  "direction": state.direction_key if defense.needs_direction else None,
                  "system_prompt": cfg.system_prompt, "versions": numerics_versions(),
                  "precision": training_precision(train_cfg).to_dict()}
        if defense.needs_selection:  # only then: keeps the keys of runs that never select unchanged
            inputs["selection"] = state.selection_key
        if defense.needs_unaligned_model:
            inputs["unaligned"] = _unaligned_fingerprint(state, defense)
        folder = cfg.run_dir / "models" / entry.row_name
        if cfg.multi_seed:
            folder = folder / f"seed-{seed}"
        plans.append(TrainingPlan(entry, defense, folder, inputs, seed, cfg.multi_seed, train_cfg, records,
                                  start, own))
    return plans


def training_inputs(state: RunState) -> list[TrainingPlan]:
    """Every (run seed, defense) training of the config, seed by seed; computes the direction and the
    selection first when a defense reads them (shared by every seed)."""
    from harness.training.engine import training_records

    cfg = state.cfg
    defenses = [defense for _, defense in build_defenses(cfg)]
    if any(defense.needs_direction for defense in defenses) and state.direction is None:
        compute_start_direction(state)
    if any(defense.needs_selection for defense in defenses) and state.selection is None:
        from harness.selection_stage import compute_start_selection

        state.selection, state.selection_key = compute_start_selection(state)
    plans = []
    for seed in cfg.all_seeds:
        records = training_records(seed_training_config(cfg, seed))  # the harmful mix is drawn per seed
        plans += plan_training(state, records, seed)
    return plans


def train_defenses(state: RunState) -> None:
    from harness.training.engine import train

    cfg = state.cfg
    for plan in training_inputs(state):
        with stage(state, f"train {plan.tag}", plan.folder, plan.inputs, outputs=(plan.output,)) as record:
            if not record.reused:
                result = train(plan.start_model, plan.train_cfg, plan.defense, plan.records, plan.folder,
                               system_prompt=cfg.system_prompt, direction=state.direction,
                               selection=state.selection,
                               direction_prompts=_direction_prompts(cfg) if plan.defense.needs_direction_prompts
                               else None,
                               unaligned_path=state.base_model if plan.defense.needs_unaligned_model and cfg.alignment
                               else None)
                record.extra = {"truncation": result.truncation.to_dict() if result.truncation else None}
        state.trained[plan.tag] = plan.trained(record.key, cfg.system_prompt)


def finished_trainings(state: RunState) -> tuple[dict[str, TrainedModel], list[str]]:
    """Trainings in the run folder made with the current config (same key, done); and the tags of the others."""
    from harness.stages import read_stage

    if not state.cfg.defenses:
        return {}, []
    found, stale = {}, []
    for plan in training_inputs(state):
        record = read_stage(plan.folder)
        key = stage_key(plan.inputs)
        if record and record.get("key") == key and record.get("status") == "done":
            found[plan.tag] = plan.trained(key, state.cfg.system_prompt)
        else:
            stale.append(plan.tag)
    return found, stale


def _load_for_drift(state: RunState, trained: TrainedModel, path: Path, model):
    """The model at one checkpoint: adapters are swapped on one base; a full model is loaded whole."""
    if not trained.is_adapter:
        return load_model(path)
    from peft import PeftModel

    name = f"s{path.name}"
    if model is None:
        model = PeftModel.from_pretrained(load_model(trained.start_model or state.start_model), str(path),
                                          adapter_name=name)
    else:
        model.load_adapter(str(path), adapter_name=name)
    model.set_adapter(name)
    return model


def drift_prompts(cfg: RunConfig) -> DriftPrompts:
    harmful, harmless = _direction_prompts(cfg)
    return DriftPrompts(harmful, harmless, [r.prompt for r in load_records(cfg.direction.heldout_harmful)],
                        [r.prompt for r in load_records(cfg.direction.heldout_harmless)], cfg.system_prompt,
                        cfg.direction.batch_size, tuple(cfg.direction.select.tokens_for(cfg.model)))


def measure_drift(state: RunState) -> dict[str, list[float]]:
    """Drift statistics (harness/drift.py) at step 0, every saved checkpoint and the final weights.

    Returns each trained model's final per-layer cosine to r_0 (the table's r_cosine), by its tag."""
    cfg = state.cfg
    start = state.direction or compute_start_direction(state)
    prompts = drift_prompts(cfg)
    tokenizer = load_tokenizer(state.start_model)
    start_stats: dict[Path, dict] = {}  # step 0 per start model, computed once, only if a stage needs it
    final: dict[str, list[float]] = {}
    for tag, trained in state.trained.items():
        points = dict(trained.checkpoints())
        points[cfg.training.steps] = trained.path  # the final weights (same as the last checkpoint)
        folder = trained.folder / "drift"
        inputs = {"training": trained.key, "weights": fingerprint_dir(trained.path), "steps": sorted(points),
                  "direction": state.direction_key, "prompts": sha256_json(asdict(prompts)),
                  "drift_version": DRIFT_VERSION}
        with stage(state, f"drift {trained.tag}", folder, inputs, outputs=("drift.json",)) as record:
            if not record.reused:
                origin = trained.start_model or state.start_model  # r_0 stays the run's start direction
                if origin not in start_stats:
                    start_stats[origin] = checkpoint_stats(load_model(origin), tokenizer, start, prompts,
                                                           keep_projections=True)
                model, curve = None, {"0": start_stats[origin]}
                for step, path in sorted(points.items()):
                    model = _load_for_drift(state, trained, path, model if trained.is_adapter else None)
                    curve[str(step)] = checkpoint_stats(model, tokenizer, start, prompts,
                                                        keep_projections=step == cfg.training.steps)
                write_json_atomic(folder / "drift.json", {"steps": curve, "final": curve[str(cfg.training.steps)]["cosine"]})
        final[tag] = read_json(folder / "drift.json")["final"]
    return final


def write_drift_report(state: RunState) -> list[Path]:
    """CSV of every model's drift curve and the drift plots, in ``<run>/drift/`` (derived, not keyed).

    The CSV has every trained model (``vanilla/seed-1`` in a multi-seed run); the plots show the first
    seed's models under their defense names, so a figure stays readable with many seeds."""
    from harness.report.drift_plots import plot_drift

    cfg = state.cfg
    curves = {tag: read_json(t.folder / "drift" / "drift.json")["steps"] for tag, t in state.trained.items()}
    if not curves:
        return []
    out = cfg.run_dir / "drift"
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS)
    writer.writeheader()
    for tag, curve in curves.items():
        writer.writerows(csv_rows(tag, curve))
    write_text_atomic(out / "drift.csv", buf.getvalue())
    n_layers = len(state.direction.directions)
    band = cfg.direction.drift_layers or middle_band(n_layers)
    plotted = {t.name: curves[tag] for tag, t in state.trained.items() if t.seed in (None, cfg.seed)}
    return [out / "drift.csv", *plot_drift(plotted, band[len(band) // 2], out)]


def drift_rows(state: RunState, final: dict[str, list[float]]) -> list[MetricRow]:
    cfg = state.cfg
    n_layers = len(state.direction.directions)
    layers = cfg.direction.drift_layers or middle_band(n_layers)
    label = f"layers:{layers[0]}-{layers[-1]}"  # stands where a judge id stands for the other metrics
    # the start model has not drifted by definition; it is one model, whatever the run seeds
    per_model = [(state.start_name, cfg.seed, [1.0] * n_layers)]
    per_model += [(state.trained[tag].name, state.trained[tag].seed, cosines) for tag, cosines in final.items()]
    # Deterministic over a fixed band: mean with min/max and every layer's value, no sampling CI.
    return [MetricRow.from_value(run=cfg.run, model=name, benchmark=DIRECTION_BENCHMARK, metric="r_cosine",
                                 mv=compute_metric("r_cosine", [cosines[i] for i in layers]),
                                 judge=label, seed=seed,
                                 details={"per_layer": {str(i): cosines[i] for i in layers}})
            for name, seed, cosines in per_model]


def evaluate_models(state: RunState, extra_rows: list[MetricRow]) -> list[MetricRow]:
    cfg = state.cfg
    targets = [EvalTarget(state.start_name, str(state.start_model))]
    # the own start of an alignment-stage defense is a row too: what its alignment stage achieved
    own_starts = {t.start_model: t.name for t in state.trained.values() if t.start_model is not None}
    targets += [EvalTarget(f"{state.start_name}+{name}", str(path)) for path, name in own_starts.items()]
    targets += [trained.eval_target(state.start_model) for trained in state.trained.values()]
    sampling = replace(cfg.evaluation.sampling, seed=state.seeds["sampling"])
    report: dict = {}
    with unkeyed_stage(state, "evaluate") as record:
        rows = evaluate(replace(cfg.evaluation, sampling=sampling), targets, cfg.run_dir, cfg.run,
                        cfg.system_prompt, cfg.seed, report=report, bootstrap_seed=state.seeds["bootstrap"])
        record.key = stage_key({"generations": report.get("generation_keys"), "judges": report.get("judges")})
        record.status = "computed" if report.get("generated") else "reused"
        record.extra = {"generated": report.get("generated"), "cached": report.get("cached"),
                        "judges": report.get("judges")}
    # every row is tested against the start model (the leaderboard's significance mark)
    return write_tables(state, rows + extra_rows, reference=state.start_name)


def task_suite_rows_kept(run_dir: Path, rows: list[MetricRow]) -> list[MetricRow]:
    """Rows of ``procon-bench lm-eval`` already in the run's metrics.json that ``rows`` do not replace:
    a later ``run``/``eval`` rewrites the table from its own rows and must not drop them."""
    from harness.report.metrics_table import read_metrics
    from harness.tasks.lm_eval_run import BENCHMARK_PREFIX, merge_rows

    path = Path(run_dir) / "metrics.json"
    if not path.is_file():
        return []
    try:
        existing = [r for r in read_metrics(path) if r.benchmark.startswith(BENCHMARK_PREFIX)]
    except UserError:  # an unreadable old file is rewritten whole, as before
        return []
    merged = merge_rows(existing, [r for r in rows if r.benchmark.startswith(BENCHMARK_PREFIX)])
    present = {(r.run, r.model, r.benchmark, r.metric, r.seed) for r in rows}
    return [r for r in merged if (r.run, r.model, r.benchmark, r.metric, r.seed) not in present]


def write_tables(state: RunState, rows: list[MetricRow], reference: str | None = None) -> list[MetricRow]:
    """``metrics.json`` (per-seed rows) and the leaderboard files; with several run seeds also
    ``metrics_aggregated.json`` (mean, std and pooled CI over seeds) and ``leaderboard_seeds.*``
    (the per-seed table). ``reference``: the model every row is tested against (its significance mark)."""
    from harness.report.aggregate import AGGREGATE_FILE, aggregate_rows
    from harness.report.compare import annotate_significance

    cfg = state.cfg
    run_dir = cfg.run_dir
    rows = list(rows) + task_suite_rows_kept(run_dir, rows)
    resampling = {"n_resamples": cfg.evaluation.bootstrap, "seed": state.seeds["bootstrap"]}
    if reference is not None:
        rows = annotate_significance(rows, reference, run_dir, **resampling)
    write_metrics(run_dir / "metrics.json", rows)
    tables = {"leaderboard": rows}
    if len({r.seed for r in rows}) > 1:  # a multi-seed run (`eval` scores one seed)
        aggregated = aggregate_rows(rows, run_dir, n_boot=cfg.evaluation.bootstrap, seed=state.seeds["bootstrap"])
        if reference is not None:
            aggregated = annotate_significance(aggregated, reference, run_dir, per_seed_rows=rows, **resampling)
        write_metrics(run_dir / AGGREGATE_FILE, aggregated)
        tables = {"leaderboard": aggregated, "leaderboard_seeds": rows}
    render_tables(state, tables)
    return rows


def render_tables(state: RunState, tables: dict[str, list[MetricRow]]) -> None:
    """Write each table (``stem -> rows``) as ``<run>/<stem>.{md,csv,json,tex}`` (the md links the drift
    plots) and print the ``leaderboard`` one."""
    from harness.report.training_cost import cost_markdown, write_training_costs

    run_dir = state.cfg.run_dir
    manifest = run_dir / "manifest.json"
    stages = {**(read_json(manifest).get("stages", {}) if manifest.is_file() else {}),
              **{name: rec.to_dict() for name, rec in state.stages.items()}}
    costs = cost_markdown(write_training_costs(state.cfg, stages))
    for stem, table_rows in tables.items():
        table = build_leaderboard(table_rows, state.cfg.primary_metric)
        for fmt, suffix in (("md", "md"), ("csv", "csv"), ("json", "json"), ("latex", "tex")):
            text = render(table, fmt)
            if fmt == "md" and state.drift_report:
                links = " · ".join(f"[{p.name}]({p.relative_to(run_dir).as_posix()})" for p in state.drift_report)
                text = text.rstrip("\n") + f"\n\nDrift (r vs r_0 per checkpoint): {links}\n"
            if fmt == "md" and costs and stem == "leaderboard":
                text = text.rstrip("\n") + "\n\n" + costs
            write_text_atomic(run_dir / f"{stem}.{suffix}", text)
        if stem == "leaderboard":
            print(render(table, "md"))


# ---------------------------------------------------------------- entry points
def run_pipeline(cfg: RunConfig, do_eval: bool = True, force: bool = False) -> RunState:
    validate(cfg)
    state = RunState(cfg, force=force)
    state.write_manifest()
    t0 = time.perf_counter()
    prepare_start_model(state)
    compute_start_direction(state)
    train_defenses(state)
    if do_eval:
        final = measure_drift(state) if state.trained else {}
        state.drift_report = write_drift_report(state)
        evaluate_models(state, drift_rows(state, final) if final else [])
    state.stages["total"] = StageRecord("total", key="", seconds=round(time.perf_counter() - t0, 2))
    state.write_manifest()
    return state
