"""Typed run configuration loaded from YAML.

``from_dict`` builds any (nested) dataclass from plain data and names the exact field on error:
``training.lora.r: expected int, got 'sixteen'``. Defenses use the same function for their params.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, Union

import yaml

from harness.data import DataSpec
from harness.errors import UserError
from harness.generation.base import SamplingConfig
from harness.selection_config import InterventionConfig, SelectionConfig
from harness.training.lengths import validate_lengths

T = TypeVar("T")
DTYPES = ("float32", "bfloat16", "float16")


# ---------------------------------------------------------------- generic dataclass loading
def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp).replace("typing.", ""))


def _coerce(value: Any, tp: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, arg, where)
            except UserError as exc:
                errors.append(str(exc))
        raise UserError(errors[0] if len(errors) == 1 else f"{where}: expected {_type_name(tp)}, got {value!r}")
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, where)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            value = [value] if origin is list else value
            if not isinstance(value, (list, tuple)):
                raise UserError(f"{where}: expected a list, got {value!r}")
        (item_tp, *_) = typing.get_args(tp) or (Any,)
        items = [_coerce(v, item_tp, f"{where}[{i}]") for i, v in enumerate(value)]
        return items if origin is list else tuple(items)
    if origin is dict:
        if not isinstance(value, dict):
            raise UserError(f"{where}: expected a mapping, got {value!r}")
        _, val_tp = typing.get_args(tp) or (Any, Any)
        return {k: _coerce(v, val_tp, f"{where}.{k}") for k, v in value.items()}
    if origin is typing.Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            raise UserError(f"{where}: expected one of {', '.join(map(str, allowed))}, got {value!r}")
        return value
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, str):  # YAML reads 3e-4 as a string
        try:
            return float(value)
        except ValueError:
            pass
    if isinstance(tp, type) and isinstance(value, tp) and not (tp is int and isinstance(value, bool)):
        return value
    raise UserError(f"{where}: expected {_type_name(tp)}, got {value!r}")


def from_dict(cls: type[T], data: Any, where: str = "config") -> T:
    """Build dataclass ``cls`` from a mapping; unknown keys and wrong types name the field."""
    if data is None:
        data = {}
    if isinstance(data, cls):
        return data
    if not isinstance(data, dict):
        raise UserError(f"{where}: expected a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = set(data) - set(fields)
    if unknown:
        raise UserError(f"{where}: unknown field(s) {', '.join(sorted(map(str, unknown)))}; accepted: {', '.join(fields)}")
    kwargs = {}
    for name, f in fields.items():
        if name in data:
            kwargs[name] = _coerce(data[name], hints[name], f"{where}.{name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise UserError(f"{where}.{name}: required field is missing")
    try:
        return cls(**kwargs)
    except UserError as exc:
        msg = str(exc)
        raise UserError(msg if msg.startswith(where) else f"{where}: {msg}") from exc


def load_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"config {path}: file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise UserError(f"config {path}: not a UTF-8 text file (byte {exc.start}); expected a YAML config") from None
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise UserError(f"config {path}: invalid YAML{f' at line {line + 1}' if line is not None else ''}") from exc
    if not isinstance(data, dict):
        raise UserError(f"config {path}: expected a mapping at the top level")
    return data


# ---------------------------------------------------------------- the run config
@dataclass
class LoraConfig:
    r: int = 16
    alpha: int = 32
    dropout: float = 0.0
    target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )

    def __post_init__(self) -> None:
        if self.r < 1:
            raise UserError(f"r: expected a LoRA rank >= 1, got {self.r!r}")
        if self.alpha <= 0:
            raise UserError(f"alpha: expected > 0, got {self.alpha!r}")
        if not 0 <= self.dropout < 1:
            raise UserError(f"dropout: expected in [0, 1), got {self.dropout!r}")
        if not self.target_modules:
            raise UserError("target_modules: expected at least one module name, e.g. [q_proj, v_proj]")


@dataclass
class TrainConfig:
    """One fine-tuning job (shared by every defense of a run, so they differ only in the defense)."""

    data: DataSpec | None = None
    harmful_mix: HarmfulMix | None = None
    steps: int = 60
    learning_rate: float = 2e-4
    batch_size: int = 8
    grad_accum: int = 1
    max_length: int = 128
    max_prompt_length: int = 100
    lora: LoraConfig | None = field(default_factory=LoraConfig)  # null = full fine-tuning
    lr_scheduler: str = "constant"
    weight_decay: float = 0.0
    warmup_steps: int = 0
    save_steps: int = 20
    logging_steps: int = 1
    # Set by the pipeline from the run's top-level `seed` (harness/seeds.py); settable only for
    # `alignment.train`, whose model is shared across run seeds.
    seed: int = 0
    dtype: str = "float32"
    max_truncated_fraction: float = 0.05  # share of responses max_length may cut (lose their EOS) before failing

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "grad_accum", "max_length", "max_prompt_length", "save_steps",
                     "logging_steps"):
            if getattr(self, name) <= 0:
                raise UserError(f"{name}: expected a positive integer, got {getattr(self, name)!r}")
        if self.learning_rate <= 0:
            raise UserError(f"learning_rate: expected > 0, got {self.learning_rate!r}")
        validate_lengths(self)
        if self.dtype not in DTYPES:
            raise UserError(f"dtype: expected one of {', '.join(DTYPES)}, got {self.dtype!r}")


@dataclass
class HarmfulMix:
    """Harmful-fine-tuning scenario: a fraction of harmful instructions paired with compliant answers."""

    data: DataSpec
    ratio: float = 0.1
    # dataset: the records' own responses (e.g. AdvBench's target); builtin: a built-in compliant
    # lead-in per prompt (harness/canned.py), e.g. for the built-in harmful prompts
    responses: str = "dataset"

    def __post_init__(self) -> None:
        from harness.canned import check_response_source

        check_response_source(self.responses, "responses")
        if not 0 < self.ratio < 1:
            raise UserError(f"ratio: expected a fraction in (0, 1), got {self.ratio!r}")


@dataclass
class AlignmentConfig:
    """Safety-align the base model first (short LoRA SFT, merged, cached by content hash)."""

    harmful: DataSpec = field(default_factory=lambda: DataSpec(builtin="harmful", split="train"))
    harmless: DataSpec = field(default_factory=lambda: DataSpec(builtin="harmless", split="train"))
    refusals: str = "builtin"  # where refusal answers come from: the built-in refusals list
    harmless_responses: str = "self"  # self = the base model's own greedy answers; dataset = data's responses
    train: TrainConfig = field(default_factory=lambda: TrainConfig(steps=50, learning_rate=3e-4))
    max_new_tokens: int = 64  # for self-distilled harmless answers

    def __post_init__(self) -> None:
        if self.harmless_responses not in ("self", "dataset"):
            raise UserError(f"harmless_responses: expected self or dataset, got {self.harmless_responses!r}")


@dataclass
class DirectionConfig:
    """Data for the refusal direction (difference in means at the last prompt token)."""

    harmful: DataSpec = field(default_factory=lambda: DataSpec(builtin="harmful", split="train"))
    harmless: DataSpec = field(default_factory=lambda: DataSpec(builtin="harmless", split="train"))
    # held-out prompts whose projections on r_0 the drift analysis tracks (not used to extract r)
    heldout_harmful: DataSpec = field(default_factory=lambda: DataSpec(builtin="harmful", split="val"))
    heldout_harmless: DataSpec = field(default_factory=lambda: DataSpec(builtin="harmless", split="val"))
    batch_size: int = 16
    # Layers whose mean r-cosine the tables report; null = the middle third of the layers (ProCon's
    # default band), so the table shows drift where the default constraint acts.
    drift_layers: list[int] | None = None
    # Arditi et al. candidate search (``layers: auto`` reads it; `procon-bench directions --select`)
    select: SelectionConfig = field(default_factory=SelectionConfig)
    # ablation / activation-addition check of the chosen r (`procon-bench directions --intervene`)
    intervene: InterventionConfig = field(default_factory=InterventionConfig)

    def __post_init__(self) -> None:
        if self.batch_size <= 0:
            raise UserError(f"batch_size: expected a positive integer, got {self.batch_size!r}")
        if self.drift_layers is not None and not self.drift_layers:
            raise UserError("drift_layers: expected at least one layer index, or null for the middle third")


@dataclass
class DefenseEntry:
    name: str
    label: str | None = None  # row name in tables (defaults to name)
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def row_name(self) -> str:
        return self.label or self.name


@dataclass
class ModelEntry:
    """A model to evaluate: base model + optional LoRA adapter."""

    name: str
    model: str | None = None  # defaults to the run's model
    adapter: str | None = None


DEFAULT_JUDGE = "keyword-gcg"


@dataclass
class EvalConfig:
    """``judge`` (one judge) or ``judges`` (a list, each with its own judgments and metric rows), not
    both; neither: ``DEFAULT_JUDGE``. A benchmark's own ``judge``/``judges`` replace them for it."""

    benchmarks: list[Any] = field(default_factory=lambda: ["builtin-harmful", "builtin-harmless"])
    judge: str | None = None  # set to DEFAULT_JUDGE when neither judge nor judges is given
    judges: list[str] | None = None
    engine: str = "auto"
    adapter_serving: str = "auto"  # lora | merged | auto (harness/generation/serving.py)
    sampling: SamplingConfig = field(default_factory=lambda: SamplingConfig(max_new_tokens=48))
    limit: int | None = None  # cap prompts per benchmark (smoke runs)
    bootstrap: int = 1000
    max_model_len: int = 1024

    def __post_init__(self) -> None:
        from harness.generation import ENGINES

        if self.engine not in (*ENGINES, "auto"):
            raise UserError(f"engine: unknown engine {self.engine!r}; accepted: auto, {', '.join(ENGINES)}")
        from harness.generation.serving import SERVING

        if self.adapter_serving not in SERVING:
            raise UserError(f"adapter_serving: unknown value {self.adapter_serving!r}; accepted: {', '.join(SERVING)}")
        if self.limit is not None and self.limit <= 0:
            raise UserError(f"limit: expected a positive integer (or null for all prompts), got {self.limit!r}")
        for name in ("bootstrap", "max_model_len"):
            if getattr(self, name) <= 0:
                raise UserError(f"{name}: expected a positive integer, got {getattr(self, name)!r}")
        if not self.benchmarks:
            raise UserError("benchmarks: expected at least one benchmark")
        from benchmarks.registry import check_judge_names

        check_judge_names("", self.judge, self.judges)
        if self.judge is None and self.judges is None:
            self.judge = DEFAULT_JUDGE

    @property
    def judge_names(self) -> list[str]:
        """The run's judges, in order (``judge`` as a one-element list)."""
        return list(self.judges) if self.judges is not None else [self.judge or DEFAULT_JUDGE]


@dataclass
class RunConfig:
    run: str
    model: str = "smollm2-135m-instruct"
    revision: str | None = None
    system_prompt: str | None = None  # None keeps the chat template's default
    output_dir: str = "results"
    seed: int = 0
    # Several run seeds: every training defense is trained once per seed (README "Seeds"). Exclusive
    # with `seed:` in a config file; when set, `seed` is its first element (the seed-independent stages
    # and rows: the start model's evaluation, `eval`).
    seeds: list[int] | None = None
    models: list[ModelEntry] = field(default_factory=list)  # for `eval`: models to score
    alignment: AlignmentConfig | None = None
    direction: DirectionConfig = field(default_factory=DirectionConfig)
    training: TrainConfig = field(default_factory=TrainConfig)
    defenses: list[DefenseEntry] = field(default_factory=list)
    evaluation: EvalConfig = field(default_factory=EvalConfig)
    primary_metric: str | None = None

    def __post_init__(self) -> None:
        if not self.run or "/" in self.run:
            raise UserError(f"run: expected a folder name without '/', got {self.run!r}")
        if self.seeds is not None:
            if not self.seeds or len(set(self.seeds)) != len(self.seeds) or min(self.seeds) < 0:
                raise UserError(f"seeds: expected a non-empty list of distinct non-negative integers, got {self.seeds!r}")
            self.seed = self.seeds[0]
        names = [d.row_name for d in self.defenses]
        if len(set(names)) != len(names):
            raise UserError(f"defenses: row names must be unique (use label:), got {names}")
        for where, path in (("output_dir", Path(self.output_dir)), ("run", self.run_dir)):
            if path.exists() and not path.is_dir():
                raise UserError(f"{where}: {str(path)!r} is an existing file; expected a folder for results")

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.run

    @property
    def all_seeds(self) -> list[int]:
        """The run seeds, in order: ``seeds`` when given, else ``[seed]``."""
        return list(self.seeds) if self.seeds is not None else [self.seed]

    @property
    def multi_seed(self) -> bool:
        """More than one run seed: trainings live in ``models/<defense>/seed-<s>/`` and are aggregated."""
        return len(self.all_seeds) > 1


def deep_merge(base: dict, overrides: dict) -> dict:
    """``overrides`` merged into a copy of ``base``: mappings merge key by key, anything else replaces."""
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_configs(path: str | Path, overrides: dict | None = None, scenario: str | None = None) -> list[RunConfig]:
    """The runs of one config file: itself, or one per entry of its top-level ``scenarios:``.

    ``scenarios: {benign: {}, harmful: {training: {harmful_mix: {...}}}}`` runs the config once per
    scenario, each with its overrides deep-merged in (``deep_merge``), as run ``<scenario>`` in the
    folder ``<output_dir>/<run>/<scenario>/``, so every scenario gets its own leaderboard and the
    scenarios share every cache (aligned model, generations). ``scenario`` picks one."""
    data = load_yaml(path)
    scenarios = data.pop("scenarios", None)
    if scenarios is None:
        if scenario is not None:
            raise UserError(f"{path}: --scenario {scenario}: the config has no `scenarios:`")
        return [_config_from_data(path, data, overrides)]
    if not isinstance(scenarios, dict) or not scenarios or not all(
            isinstance(v, dict | type(None)) for v in scenarios.values()):
        raise UserError(f"{path}: config.scenarios: expected a mapping of scenario name -> config overrides, "
                        f"got {scenarios!r}")
    if scenario is not None and scenario not in scenarios:
        raise UserError(f"{path}: --scenario {scenario!r}: unknown; the config has {', '.join(scenarios)}")
    root = {**data, **(overrides or {})}
    output_dir = Path(root.get("output_dir", "results")) / str(root.get("run", ""))
    configs = []
    for name, changes in scenarios.items():
        if scenario is not None and name != scenario:
            continue
        merged = deep_merge(data, {k: v for k, v in (changes or {}).items() if k not in ("run", "output_dir")})
        configs.append(_config_from_data(path, merged, {**(overrides or {}), "run": str(name),
                                                        "output_dir": str(output_dir)}, f"config.scenarios.{name}"))
    return configs


def load_config(path: str | Path, overrides: dict | None = None) -> RunConfig:
    """One run config; a file with ``scenarios:`` must go through ``load_configs``."""
    data = load_yaml(path)
    if "scenarios" in data:
        raise UserError(f"{path}: config has scenarios ({', '.join(map(str, data['scenarios'] or {}))}); "
                        "load it with load_configs (the commands run each scenario, or one with --scenario)")
    return _config_from_data(path, data, overrides)


def _config_from_data(path: str | Path, data: dict, overrides: dict | None, where: str = "config") -> RunConfig:
    data = {**data, **(overrides or {})}
    if isinstance(data.get("training"), dict) and "seed" in data["training"]:
        raise UserError(f"{path}: config.training.seed: set the top-level `seed:` instead; it drives training "
                        "through a derived sub-seed (README: Seeds)")
    if "seed" in data and data.get("seeds") is not None:
        raise UserError(f"{path}: config: give either `seed:` (one run seed) or `seeds:` (a list), not both")
    try:
        return from_dict(RunConfig, data, where)
    except UserError as exc:
        raise UserError(f"{path}: {exc}") from exc
