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

T = TypeVar("T")


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
    seed: int = 0
    dtype: str = "float32"

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "grad_accum", "max_length", "save_steps"):
            if getattr(self, name) <= 0:
                raise UserError(f"{name}: expected a positive integer, got {getattr(self, name)!r}")
        if self.learning_rate <= 0:
            raise UserError(f"learning_rate: expected > 0, got {self.learning_rate!r}")


@dataclass
class HarmfulMix:
    """Harmful-fine-tuning scenario: a fraction of harmful instructions paired with compliant answers."""

    data: DataSpec
    ratio: float = 0.1

    def __post_init__(self) -> None:
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
    batch_size: int = 16
    drift_layers: list[int] | None = None  # layers to report drift for in tables (None = all)


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


@dataclass
class EvalConfig:
    benchmarks: list[Any] = field(default_factory=lambda: ["builtin-harmful", "builtin-harmless"])
    judge: str = "keyword-gcg"
    engine: str = "auto"
    sampling: SamplingConfig = field(default_factory=lambda: SamplingConfig(max_new_tokens=48))
    limit: int | None = None  # cap prompts per benchmark (smoke runs)
    bootstrap: int = 1000
    max_model_len: int = 1024


@dataclass
class RunConfig:
    run: str
    model: str = "smollm2-135m-instruct"
    revision: str | None = None
    system_prompt: str | None = None  # None keeps the chat template's default
    output_dir: str = "results"
    seed: int = 0
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
        names = [d.row_name for d in self.defenses]
        if len(set(names)) != len(names):
            raise UserError(f"defenses: row names must be unique (use label:), got {names}")

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.run


def load_config(path: str | Path, overrides: dict | None = None) -> RunConfig:
    data = load_yaml(path)
    data.update(overrides or {})
    try:
        return from_dict(RunConfig, data, "config")
    except UserError as exc:
        raise UserError(f"{path}: {exc}") from exc
