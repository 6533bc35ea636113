"""One table comparing runs: a row per (run, model, seed), a column per ``benchmark/metric``.

The DataFrame holds, per metric column ``K``, a formatted cell ``K`` ("12.0 [7.1, 18.3]", percent
for rates) and raw numbers ``K.value``, ``K.ci_low``, ``K.ci_high``, ``K.n`` for sorting and CSV.
Rows are sorted by one primary column in its good-first direction (the direction the rows record for
their benchmark kind, else ``harness.metrics``' registered default; a metric the harness does not
know is assumed higher-is-better). When the same benchmark/metric was scored by several judges, the
judge id is added to the column name, so numbers from different judges are never mixed in one
column; otherwise it is in the footnote (md, LaTeX), a ``K.judge`` column (CSV) or the column list
(JSON). A deterministic statistic (``r_cosine``) shows "mean (min–max)" instead of a CI.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from tabulate import tabulate

from harness.errors import UserError, expect, unknown_name
from harness.io import to_json
from harness.metrics import is_rate
from harness.report.metrics_table import MetricRow

ID_COLUMNS = ("run", "model", "seed")
RAW_FIELDS = ("value", "ci_low", "ci_high", "n")
SPREAD_FIELDS = ("min", "max")  # from a row's details, for statistics without a CI
DEFAULT_PRIMARY_METRICS = ("asr", "attack_success_rate")  # lower harm first, when present
MISSING_CELL = "n/a"


@dataclass(frozen=True)
class MetricColumn:
    key: str
    benchmark: str
    metric: str
    judge: str | None
    higher_is_better: bool
    is_rate: bool
    n: int | None  # the n shared by every cell of the column, else None (then each cell shows its n)
    spread: bool = False  # cells show mean (min–max) over a fixed set, not a CI

    def header(self) -> str:
        parts = (["%"] if self.is_rate else []) + ([f"n={self.n}"] if self.n is not None else [])
        return f"{self.key} ({', '.join(parts)})" if parts else self.key


def _fmt_number(x: float, percent: bool) -> str:
    return f"{100 * x:.1f}" if percent else f"{x:.3g}"


def _spread(row: MetricRow) -> tuple[float, float] | None:
    details = row.details or {}
    return (details["min"], details["max"]) if {"min", "max"} <= set(details) else None


def format_cell(row: MetricRow, percent: bool, show_n: bool) -> str:
    if math.isnan(row.value):
        return MISSING_CELL
    cell = _fmt_number(row.value, percent)
    if not (math.isnan(row.ci_low) or math.isnan(row.ci_high)):
        cell += f" [{_fmt_number(row.ci_low, percent)}, {_fmt_number(row.ci_high, percent)}]"
    elif (spread := _spread(row)) is not None:
        cell += f" ({_fmt_number(spread[0], percent)}–{_fmt_number(spread[1], percent)})"
    return cell + (f" (n={row.n})" if show_n else "")


def _column_keys(rows: Sequence[MetricRow]) -> dict[tuple[str, str, str | None], str]:
    judges: dict[tuple[str, str], set[str | None]] = {}
    for r in rows:
        judges.setdefault((r.benchmark, r.metric), set()).add(r.judge)
    keys = {}
    for r in rows:
        key = f"{r.benchmark}/{r.metric}"
        keys[(r.benchmark, r.metric, r.judge)] = (
            key if len(judges[(r.benchmark, r.metric)]) == 1 else f"{key} [{r.judge}]"
        )
    return keys


def _resolve_primary(primary: str | None, columns: list[MetricColumn]) -> MetricColumn:
    by_key = {c.key: c for c in columns}
    if primary is None:
        safety = [c for c in columns if c.metric in DEFAULT_PRIMARY_METRICS]
        return (safety or columns)[0]
    if primary not in by_key:
        raise unknown_name("primary column", primary, by_key)
    return by_key[primary]


def build_leaderboard(rows: Sequence[MetricRow], primary: str | None = None) -> pd.DataFrame:
    """Merge rows (from one or several runs) into one sorted table; see the module docstring."""
    expect(len(rows) > 0, "no metric rows to tabulate; expected at least one results file with rows")
    keys = _column_keys(rows)
    cells: dict[tuple[str, str, int | None], dict[str, MetricRow]] = {}
    for r in rows:
        key = keys[(r.benchmark, r.metric, r.judge)]
        slot = cells.setdefault((r.run, r.model, r.seed), {})
        if key in slot:
            raise UserError(
                f"duplicate result for run {r.run!r}, model {r.model!r}, seed {r.seed!r}, column {key!r}; "
                "expected each run folder to be listed once"
            )
        slot[key] = r

    columns = []
    for (benchmark, metric, judge), key in keys.items():
        if any(c.key == key for c in columns):
            continue
        members = [slot[key] for slot in cells.values() if key in slot]
        ns = {r.n for r in members}
        hib = next((r.direction() for r in members if r.direction() is not None), None)
        columns.append(
            MetricColumn(
                key,
                benchmark,
                metric,
                judge,
                True if hib is None else hib,
                is_rate(metric),
                ns.pop() if len(ns) == 1 else None,
                any(_spread(r) is not None for r in members),
            )
        )

    records = []
    for (run, model, seed), slot in cells.items():
        record: dict[str, Any] = {"run": run, "model": model, "seed": seed}
        for c in columns:
            r = slot.get(c.key)
            record[c.key] = MISSING_CELL if r is None else format_cell(r, c.is_rate, show_n=c.n is None)
            for name in RAW_FIELDS:
                record[f"{c.key}.{name}"] = math.nan if r is None else getattr(r, name)
            record[f"{c.key}.judge"] = None if r is None else r.judge
            record[f"{c.key}.truncated"] = ((r.details or {}).get("truncated") or 0) if r is not None else 0
            spread = None if r is None else _spread(r)
            for name, value in zip(SPREAD_FIELDS, spread or (math.nan, math.nan), strict=True):
                record[f"{c.key}.{name}"] = value
        records.append(record)
    df = pd.DataFrame.from_records(records)
    df["seed"] = df["seed"].astype("Int64")
    for c in columns:
        df[f"{c.key}.n"] = df[f"{c.key}.n"].astype("Int64")

    sort_by = _resolve_primary(primary, columns)
    ascending = not sort_by.higher_is_better
    df = df.sort_values(
        [f"{sort_by.key}.value", *ID_COLUMNS],
        ascending=[ascending, True, True, True],
        na_position="last",
        kind="mergesort",
    ).reset_index(drop=True)
    df.attrs["columns"] = columns
    df.attrs["primary"] = sort_by.key
    df.attrs["ascending"] = ascending
    return df


# -------------------------------------------------------------------------------------- renderers


def _columns(df: pd.DataFrame) -> list[MetricColumn]:
    expect("columns" in df.attrs, "render() expects a DataFrame made by build_leaderboard()")
    return df.attrs["columns"]


def _id_cells(row: pd.Series) -> list[Any]:
    return [row["run"], row["model"], "" if pd.isna(row["seed"]) else int(row["seed"])]


def _display_table(df: pd.DataFrame) -> tuple[list[str], list[list[Any]]]:
    columns = _columns(df)
    headers = [*ID_COLUMNS, *(c.header() for c in columns)]
    body = [_id_cells(row) + [row[c.key] for c in columns] for _, row in df.iterrows()]
    return headers, body


def _footnote(df: pd.DataFrame) -> list[str]:
    columns = _columns(df)
    direction = "lower" if df.attrs["ascending"] else "higher"
    spread = [c.key for c in columns if c.spread]
    lines = [
        f"Cells: value [CI low, CI high]; % = rate in percent. Sorted by {df.attrs['primary']} ({direction} is better).",
    ]
    if spread:
        lines.append(f"{', '.join(spread)}: mean (min–max) over a fixed set (no sampling CI).")
    judged = [f"{c.key}: {c.judge}" for c in columns if c.judge]
    if judged:
        lines.append("Judges: " + "; ".join(judged) + ".")
    cut = [f"{row['model']} {c.key} {int(row[f'{c.key}.truncated'])}/{int(row[f'{c.key}.n'])}"
           for c in columns for _, row in df.iterrows() if row[f"{c.key}.truncated"]]
    if cut:
        lines.append("Answers cut by max_model_len: " + "; ".join(cut) + ".")
    return lines


def _render_md(df: pd.DataFrame) -> str:
    headers, body = _display_table(df)
    table = tabulate(body, headers=headers, tablefmt="github", disable_numparse=True)
    return table + "\n\n" + "\n".join(_footnote(df)) + "\n"


_LATEX_SPECIAL = {c: "\\" + c for c in "&%$#_{}"} | {"~": r"\textasciitilde{}", "^": r"\^{}", "\\": r"\textbackslash{}"}


def _latex_text(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def _render_latex(df: pd.DataFrame) -> str:
    r"""booktabs table; the footnote (judges, cell format) as full-width rows before ``\bottomrule``."""
    headers, body = _display_table(df)
    table = tabulate(body, headers=headers, tablefmt="latex_booktabs", disable_numparse=True)
    notes = "".join(rf"\multicolumn{{{len(headers)}}}{{l}}{{\footnotesize {_latex_text(line)}}} \\" + "\n"
                    for line in _footnote(df))
    head, _, tail = table.rpartition(r"\bottomrule")
    return head + r"\midrule" + "\n" + notes + r"\bottomrule" + tail + "\n"


def _render_csv(df: pd.DataFrame) -> str:
    columns = _columns(df)
    raw = [f"{c.key}.{name}" for c in columns
           for name in (*RAW_FIELDS, *(SPREAD_FIELDS if c.spread else ()), "judge")]
    return df[[*ID_COLUMNS, *raw]].to_csv(index=False)


def _render_json(df: pd.DataFrame) -> str:
    columns = _columns(df)

    def number(x: Any) -> Any:
        return None if pd.isna(x) else x.item() if hasattr(x, "item") else x

    rows = []
    for _, row in df.iterrows():
        run, model, seed = _id_cells(row)
        metrics = {c.key: {name: number(row[f"{c.key}.{name}"])
                           for name in (*RAW_FIELDS, *(SPREAD_FIELDS if c.spread else ()))} for c in columns}
        rows.append({"run": run, "model": model, "seed": seed if seed != "" else None, "metrics": metrics})
    doc = {
        "schema": 1,
        "primary": df.attrs["primary"],
        "ascending": df.attrs["ascending"],
        "columns": [
            {k: getattr(c, k) for k in ("key", "benchmark", "metric", "judge", "higher_is_better", "is_rate", "spread")}
            for c in columns
        ],
        "rows": rows,
    }
    return to_json(doc) + "\n"


_RENDERERS: dict[str, Callable[[pd.DataFrame], str]] = {
    "md": _render_md,
    "csv": _render_csv,
    "latex": _render_latex,
    "json": _render_json,
}
FORMATS = tuple(_RENDERERS)


def render(df: pd.DataFrame, fmt: str) -> str:
    """The leaderboard as text in one of ``FORMATS``."""
    if fmt not in _RENDERERS:
        raise unknown_name("format", fmt, _RENDERERS)
    return _RENDERERS[fmt](df)
