"""Data sources: hub id, local file or built-in set, mapped through a field map into ``Record``s.

A field map says which source column fills each record field; a value containing ``{`` is a format
template over the row (``"{instruction}\\n\\n{input}"`` joins Alpaca's two columns).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import UserError
from harness.io import sha256_file
from harness.records import Record

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "benchmarks" / "data"
RECORD_FIELDS = ("id", "prompt", "response", "category")
LOCAL_SUFFIXES = (".csv", ".json", ".jsonl", ".parquet", ".txt")


@dataclass
class DataSpec:
    """Where records come from. Exactly one of ``builtin``, ``path``, ``hub``."""

    builtin: str | None = None
    path: str | None = None
    hub: str | None = None
    config: str | None = None  # hub config name
    # hub split (a list: several, concatenated, each row gets its split's name as column `split`);
    # for built-in/local files: the value(s) of the `split` column to keep
    split: str | list[str] | None = None
    revision: str | None = None
    data_files: dict[str, str] | None = None  # hub only: split name -> file in the repository (see below)
    column_names: list[str] | None = None  # hub only: column names of header-less CSV files
    fields: dict[str, str] = field(default_factory=dict)
    where: dict[str, Any] = field(default_factory=dict)  # keep rows whose column equals (one of) value(s)
    limit: int | None = None
    name: str | None = None  # prefix of generated ids

    def __post_init__(self) -> None:
        given = [k for k in ("builtin", "path", "hub") if getattr(self, k)]
        if len(given) != 1:
            raise UserError(f"give exactly one of builtin, path, hub (got {given or 'none'})")
        unknown = set(self.fields) - set(RECORD_FIELDS)
        if unknown:
            raise UserError(f"fields: unknown record field(s) {sorted(unknown)}; accepted: {', '.join(RECORD_FIELDS)}")
        if self.limit is not None and (not isinstance(self.limit, int) or self.limit <= 0):
            raise UserError(f"limit: expected a positive integer, got {self.limit!r}")
        for name in ("data_files", "column_names"):
            if getattr(self, name) is not None and not self.hub:
                raise UserError(f"{name}: only for `hub:` sources (a local file is read whole: give its `path:`)")
        if isinstance(self.split, list) and not self.split:
            raise UserError("split: expected a split name or a non-empty list of them")

    @property
    def splits(self) -> list[str] | None:
        """The split(s) asked for as a list; None when ``split`` is not set."""
        return None if self.split is None else [self.split] if isinstance(self.split, str) else list(self.split)

    @property
    def label(self) -> str:
        return self.name or self.builtin or Path(self.path or self.hub or "data").stem


def _generated_sets() -> dict:
    from benchmarks.tasks import GENERATED_SETS

    return GENERATED_SETS


def builtin_sets() -> list[str]:
    return sorted([p.stem for p in BUILTIN_DIR.glob("*.jsonl")] + list(_generated_sets()))


# ---------------------------------------------------------------- raw rows
def _read_local(path: Path) -> list[dict]:
    if not path.is_file():
        raise UserError(f"data file {path}: not found")
    if path.suffix not in LOCAL_SUFFIXES:
        raise UserError(f"data file {path}: unsupported type {path.suffix!r}; accepted: {', '.join(LOCAL_SUFFIXES)}")
    try:
        if path.suffix == ".txt":
            return [{"text": line.strip()} for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if path.suffix == ".jsonl":
            return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if path.suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict):  # {"data": [...]} or {"rows": [...]}
                lists = [v for v in data.values() if isinstance(v, list)]
                data = lists[0] if len(lists) == 1 else None
            if not isinstance(data, list):
                raise UserError(f"data file {path}: expected a JSON list of objects")
            return data
        import pandas as pd

        frame = pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
        return frame.where(frame.notna(), None).to_dict(orient="records")
    except UserError:
        raise
    except Exception as exc:
        raise UserError(f"data file {path}: could not parse ({type(exc).__name__}: {exc})") from exc


def _gated(exc: BaseException | None) -> int | None:
    """The HTTP status (401: not logged in, 403: no access granted; 0: unknown) when ``exc`` comes from
    a gated repository, else None. ``datasets`` turns the hub's ``GatedRepoError`` into a
    ``DatasetNotFoundError`` (a ``FileNotFoundError``) and drops the original, so its message is read too."""
    from huggingface_hub.errors import GatedRepoError

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, GatedRepoError):
            return getattr(getattr(exc, "response", None), "status_code", None) or 0
        text = str(exc)
        if type(exc).__name__ == "DatasetNotFoundError" and "gated" in text:
            return 401 if "authenticated" in text else 403 if "ask for access" in text else 0
        exc = exc.__cause__ or exc.__context__
    return None


def hub_dataset_failure(exc: Exception, repo_id: str) -> str:
    """One line for a failed ``datasets.load_dataset`` of a hub id: ``hub_failure``'s, plus the cases
    ``datasets`` hides behind its own exceptions (a gated repository, a missing one or revision)."""
    from harness.models import hub_failure

    hint = "point `path:` at a local copy"
    status = _gated(exc)
    if status is not None:
        page = f"https://huggingface.co/datasets/{repo_id}"
        state = {401: "not logged in", 403: "this account has not been granted access"}.get(status, "no access")
        return (f"the dataset is gated on the hub ({state}): request access on {page} (accept its terms; some "
                "gates are approved by hand), then log in with that account (huggingface-cli login, or set "
                f"HF_TOKEN), or {hint}")
    if type(exc).__name__ == "DatasetNotFoundError":
        if str(exc).startswith("Revision"):
            return "no such revision in the hub dataset; check `revision:`"
        return "no such dataset on the hub (or it is private); check the id"
    return hub_failure(exc, hint)


def _read_hub(spec: DataSpec) -> list[dict]:
    """Rows of ``spec.split`` (default ``train``) of a hub dataset; with a list of splits (or
    ``data_files`` and no split: all of its splits), their rows in order, each with its split's name
    in a ``split`` column. ``data_files`` (split -> file in the repository) and ``column_names``
    (for header-less CSV files, passed as ``names``) go to ``datasets.load_dataset``: HEx-PHI ships
    one header-less CSV per category."""
    try:
        import datasets
    except ImportError as exc:
        raise UserError("data.hub needs the `datasets` package: pip install datasets") from exc
    from harness.models import quiet_hub

    splits = spec.splits or (list(spec.data_files) if spec.data_files else ["train"])
    tag = isinstance(spec.split, list) or (spec.split is None and bool(spec.data_files))
    # `names` (pandas' own option): the csv builder's `column_names` is dropped when the builder is made
    # from a repository (datasets 5.2 kept the first line as the header)
    kwargs = {k: v for k, v in (("data_files", spec.data_files), ("names", spec.column_names)) if v}
    rows: list[dict] = []
    try:
        with quiet_hub():
            for split in splits:
                ds = datasets.load_dataset(spec.hub, spec.config, split=split, revision=spec.revision, **kwargs)
                rows += [{**dict(row), "split": split} if tag and "split" not in row else dict(row) for row in ds]
    except Exception as exc:
        raise UserError(f"data.hub {spec.hub!r}: {hub_dataset_failure(exc, spec.hub)}") from None
    return rows


def read_rows(spec: DataSpec) -> list[dict]:
    if spec.builtin in _generated_sets():
        rows = _generated_sets()[spec.builtin]()
    elif spec.builtin:
        path = BUILTIN_DIR / f"{spec.builtin}.jsonl"
        if not path.exists():
            raise UserError(f"data.builtin {spec.builtin!r} unknown; accepted: {', '.join(builtin_sets())}")
        rows = _read_local(path)
    elif spec.path:
        rows = _read_local(Path(spec.path).expanduser())
    else:
        rows = _read_hub(spec)
    if (spec.builtin or spec.path) and spec.splits is not None:
        rows = [r for r in rows if r.get("split") in spec.splits]
    for column, wanted in spec.where.items():
        allowed = wanted if isinstance(wanted, list) else [wanted]
        rows = [r for r in rows if r.get(column) in allowed]
    return rows


# ---------------------------------------------------------------- mapping
def _source_name(spec: DataSpec) -> str:
    return spec.builtin or spec.path or spec.hub or "data"


def _field(row: dict, column: str, spec: DataSpec, record_field: str) -> Any:
    if "{" in column:
        try:
            return column.format(**row).strip()
        except KeyError as exc:
            raise UserError(
                f"data {_source_name(spec)}: fields.{record_field} template needs column {exc}; "
                f"available: {', '.join(map(str, row))}"
            ) from exc
    if column not in row:
        raise UserError(
            f"data {_source_name(spec)}: fields.{record_field} names column {column!r}, which is missing; "
            f"available: {', '.join(map(str, row))}"
        )
    return row[column]


def _default_prompt_column(row: dict) -> str | None:
    for name in ("prompt", "instruction", "goal", "Goal", "Behavior", "forbidden_prompt", "question", "text"):
        if name in row:
            return name
    return None


def to_records(rows: list[dict], spec: DataSpec) -> list[Record]:
    if not rows:
        raise UserError(f"data {_source_name(spec)}: no rows (empty file, or split/where filtered everything out)")
    fields = dict(spec.fields)
    if "prompt" not in fields:
        guess = _default_prompt_column(rows[0])
        if guess is None:
            raise UserError(
                f"data {_source_name(spec)}: no prompt column; set fields.prompt to one of {', '.join(map(str, rows[0]))}"
            )
        fields["prompt"] = guess
    auto = set()  # optional fields mapped by name only: rows may lack them (e.g. `response` only in train rows)
    for name in ("id", "response", "category"):
        if name not in fields and any(name in row for row in rows):
            fields[name] = name
            auto.add(name)
    records = []
    mapped = set(fields.values())
    for i, row in enumerate(rows):
        prompt = _field(row, fields["prompt"], spec, "prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise UserError(f"data {_source_name(spec)}: row {i} has an empty prompt")
        values = {k: row.get(c) if k in auto else _field(row, c, spec, k) for k, c in fields.items() if k != "prompt"}
        rid = values.get("id")
        records.append(
            Record(
                id=str(rid) if rid is not None else f"{spec.label}-{i:05d}",
                prompt=prompt.strip(),
                response=None if values.get("response") is None else str(values["response"]),
                category=None if values.get("category") is None else str(values["category"]),
                meta={k: v for k, v in row.items() if k not in mapped and _jsonable(v)},
            )
        )
    if not spec.limit:
        return records
    from benchmarks.sampling import stratified_sample  # first-N of category-sorted data covers few categories

    return stratified_sample(records, spec.limit, seed=0)


def _jsonable(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def load_records(spec: DataSpec) -> list[Record]:
    return to_records(read_rows(spec), spec)


def describe(spec: DataSpec) -> dict[str, Any]:
    """Provenance for the run manifest: where the data came from and a content hash or revision."""
    info: dict[str, Any] = {k: v for k, v in vars(spec).items() if v not in (None, {}, [])}
    path = BUILTIN_DIR / f"{spec.builtin}.jsonl" if spec.builtin else Path(spec.path) if spec.path else None
    if path is not None and path.exists():
        info["sha256"] = sha256_file(path)
    return info
