"""One table comparing runs: a row per (run, model, seed), a column per ``benchmark/metric``.

Given aggregated rows (``harness/report/aggregate.py``, one per (run, model) over the run seeds) the
table has a row per (run, model) with ``n_seeds`` instead of ``seed``, and cells "mean ± std [pooled
CI]". Per column, the best value (by the column's direction) is marked (bold in md/LaTeX, ``K.best``
in CSV/JSON), and so is every value that differs significantly from the run's reference model (``†``,
from the row's ``details.vs_reference``: ``harness/report/compare.py``).

The DataFrame holds, per metric column ``K``, a formatted cell ``K`` ("12.0 [7.1, 18.3]", percent
for rates) and raw numbers ``K.value``, ``K.ci_low``, ``K.ci_high``, ``K.n`` for sorting and CSV.
Rows are sorted by one primary column in its good-first direction (the direction the rows record for
their benchmark kind, else ``harness.metrics``' registered default; a metric the harness does not
know is assumed higher-is-better). The default primary column is the first ``attack_success_rate``
(harm-judged) column, else the first ``non_refusal_rate`` (refusal-judged) one. When the same
benchmark/metric was scored by several judges (``evaluation.judges: [keyword-gcg, keyword-rules]``),
the judge id is added to the column name, so numbers from different judges are never mixed in one
column; otherwise it is in the footnote (md, LaTeX), a ``K.judge`` column (CSV) or the column list
(JSON). A refusal judge and a harm judge on one benchmark give different metrics
(``non_refusal_rate``, ``attack_success_rate``), so they stand side by side under their own names,
next to the benchmark's ``degenerate_rate``. A deterministic statistic (``r_cosine``) shows "mean
(min–max)" instead of a CI. ``--primary B/attack_success_rate`` still finds the column of an old
keyword-judged run, which is read as ``B/non_refusal_rate`` (``metrics_table.current_metric_name``).

A row's ``details.per_category`` (``{category: {value, n}}``) is kept as ``K.per_category``: the
JSON shows it per cell, and ``build_category_table`` makes the per-category view of one column
(``procon-bench leaderboard --by-category``): one row per (category, leaderboard row).
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
from harness.report.aggregate import SeedStats, is_aggregated
from harness.report.compare import ALPHA
from harness.report.metrics_table import MetricRow, current_metric_name

ID_COLUMNS = ("run", "model", "seed")
AGGREGATED_ID_COLUMNS = ("run", "model", "n_seeds")
RAW_FIELDS = ("value", "ci_low", "ci_high", "n")
MARK_FIELDS = ("best", "p_vs_reference")  # per cell: best in its column; p-value of the test against the reference
SIGNIFICANT = "†"
_BOLD = ("⟦", "⟧")  # best-cell markers in the display table, turned into **..** (md) or \textbf{..} (LaTeX)
_TIE = 1e-12
SPREAD_FIELDS = ("min", "max")  # from a row's details, for statistics without a CI
DEFAULT_PRIMARY_METRICS = ("attack_success_rate", "non_refusal_rate")  # harm-judged first, then refusal-judged
METRIC_NOTES = {  # what a reader must not confuse, said in the footnote when the column is there
    "non_refusal_rate": "harmful prompts not refused (a refusal judge: not an attack success)",
    "attack_success_rate": "harmful answers (a harm judge: HarmBench's ASR)",
    "degenerate_rate": "answers flagged empty, repetitive or off-topic (harness/degenerate.py)",
}
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
    stats = SeedStats.of(row)
    if stats is not None and stats.std is not None:
        cell += f" ± {_fmt_number(stats.std, percent)}"
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
        for metric in DEFAULT_PRIMARY_METRICS:
            safety = [c for c in columns if c.metric == metric]
            if safety:
                return safety[0]
        return columns[0]
    if primary not in by_key:
        renamed = [c for c in columns if c.key == _current_key(primary, c.judge)]
        if len(renamed) == 1:
            return renamed[0]
        raise unknown_name("primary column", primary, by_key)
    return by_key[primary]


def _current_key(key: str, judge: str | None) -> str:
    """``B/attack_success_rate[ [judge]]`` as named today for a column of ``judge`` (see the module doc)."""
    benchmark, slash, rest = key.partition("/")
    metric, space, suffix = rest.partition(" ")
    return f"{benchmark}{slash}{current_metric_name(metric, judge)}{space}{suffix}" if slash else key


def _reference_test(row: MetricRow) -> dict[str, Any]:
    return (row.details or {}).get("vs_reference") or {}


def _mark_best(df: pd.DataFrame, columns: list[MetricColumn]) -> None:
    """``K.best``: the column's best value by its direction (ties all marked; nothing when all are equal)."""
    for c in columns:
        values = df[f"{c.key}.value"].astype(float)
        best = values.max() if c.higher_is_better else values.min()
        marked = (values - best).abs() <= _TIE
        informative = int(values.notna().sum()) > 1 and not bool(marked.all())
        df[f"{c.key}.best"] = marked if informative else False


def build_leaderboard(rows: Sequence[MetricRow], primary: str | None = None) -> pd.DataFrame:
    """Merge rows (from one or several runs) into one sorted table; see the module docstring."""
    expect(len(rows) > 0, "no metric rows to tabulate; expected at least one results file with rows")
    aggregated = [is_aggregated(r) for r in rows]
    expect(all(aggregated) or not any(aggregated),
           "cannot tabulate aggregated (over seeds) and per-seed rows together; expected one kind "
           "(`leaderboard` aggregates single-seed runs itself unless --per-seed)")
    ids = AGGREGATED_ID_COLUMNS if all(aggregated) else ID_COLUMNS
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
        if ids is AGGREGATED_ID_COLUMNS:
            record["n_seeds"] = max(SeedStats.of(r).n_seeds for r in slot.values())
        for c in columns:
            r = slot.get(c.key)
            record[c.key] = MISSING_CELL if r is None else format_cell(r, c.is_rate, show_n=c.n is None)
            for name in RAW_FIELDS:
                record[f"{c.key}.{name}"] = math.nan if r is None else getattr(r, name)
            stats = None if r is None else SeedStats.of(r)
            record[f"{c.key}.std"] = math.nan if stats is None or stats.std is None else stats.std
            test = {} if r is None else _reference_test(r)
            record[f"{c.key}.p_vs_reference"] = math.nan if test.get("p_value") is None else test["p_value"]
            record[f"{c.key}.reference"] = test.get("model")
            record[f"{c.key}.judge"] = None if r is None else r.judge
            record[f"{c.key}.truncated"] = ((r.details or {}).get("truncated") or 0) if r is not None else 0
            record[f"{c.key}.per_category"] = None if r is None else (r.details or {}).get("per_category")
            if r is not None and (r.details or {}).get("evaluation"):
                record["evaluation"] = r.details["evaluation"]
            spread = None if r is None else _spread(r)
            for name, value in zip(SPREAD_FIELDS, spread or (math.nan, math.nan), strict=True):
                record[f"{c.key}.{name}"] = value
        records.append(record)
    df = pd.DataFrame.from_records(records)
    df["seed"] = df["seed"].astype("Int64")
    for c in columns:
        df[f"{c.key}.n"] = df[f"{c.key}.n"].astype("Int64")
    _mark_best(df, columns)

    sort_by = _resolve_primary(primary, columns)
    ascending = not sort_by.higher_is_better
    df = df.sort_values(
        [f"{sort_by.key}.value", *ids],
        ascending=[ascending, True, True, True],
        na_position="last",
        kind="mergesort",
    ).reset_index(drop=True)
    df.attrs["columns"] = columns
    df.attrs["primary"] = sort_by.key
    df.attrs["ascending"] = ascending
    df.attrs["ids"] = ids
    return df


# -------------------------------------------------------------------------------------- renderers


def _columns(df: pd.DataFrame) -> list[MetricColumn]:
    expect("columns" in df.attrs, "render() expects a DataFrame made by build_leaderboard()")
    return df.attrs["columns"]


def _ids(df: pd.DataFrame) -> tuple[str, ...]:
    return df.attrs.get("ids", ID_COLUMNS)


def _id_cells(df: pd.DataFrame, row: pd.Series) -> list[Any]:
    last = _ids(df)[-1]
    return [row["run"], row["model"], "" if pd.isna(row[last]) else int(row[last])]


def _significant(row: pd.Series, c: MetricColumn) -> bool:
    p = row[f"{c.key}.p_vs_reference"]
    return not pd.isna(p) and p < ALPHA


def _display_cell(row: pd.Series, c: MetricColumn, bold: tuple[str, str]) -> str:
    cell = row[c.key] + (f" {SIGNIFICANT}" if _significant(row, c) else "")
    return f"{bold[0]}{cell}{bold[1]}" if row[f"{c.key}.best"] else cell


def _display_table(df: pd.DataFrame, bold: tuple[str, str] = _BOLD) -> tuple[list[str], list[list[Any]]]:
    """Headers and cells as shown; best cells are wrapped in ``bold`` (markers a renderer may replace)."""
    columns = _columns(df)
    headers = [*_ids(df), *(c.header() for c in columns)]
    body = [_id_cells(df, row) + [_display_cell(row, c, bold) for c in columns] for _, row in df.iterrows()]
    return headers, body


def _bold(text: str, start: str, end: str) -> str:
    return text.replace(_BOLD[0], start).replace(_BOLD[1], end)


def _footnote(df: pd.DataFrame) -> list[str]:
    columns = _columns(df)
    direction = "lower" if df.attrs["ascending"] else "higher"
    spread = [c.key for c in columns if c.spread]
    cells = ("mean ± std over run seeds [pooled 95% CI over items]" if _ids(df) == AGGREGATED_ID_COLUMNS
             else "value [CI low, CI high]")
    lines = [
        f"Cells: {cells}; % = rate in percent. Sorted by {df.attrs['primary']} ({direction} is better).",
    ]
    if any(df[f"{c.key}.best"].any() for c in columns):
        lines.append("Bold: the best value of its column (by the metric's direction).")
    references = sorted({ref for c in columns for ref in df[f"{c.key}.reference"].dropna()})
    if references:
        lines.append(f"{SIGNIFICANT}: differs from {', '.join(references)} (paired sign-flip test over items, "
                     f"p < {ALPHA:g}).")
    if spread:
        lines.append(f"{', '.join(spread)}: mean (min–max) over a fixed set (no sampling CI).")
    judged = [f"{c.key}: {c.judge}" for c in columns if c.judge]
    if judged:
        lines.append("Judges: " + "; ".join(judged) + ".")
    notes = [f"{m}: {note}" for m, note in METRIC_NOTES.items() if any(c.metric == m for c in columns)]
    if notes:
        lines.append("Metrics: " + "; ".join(notes) + ".")
    if "evaluation" in df.columns:
        notes = {row["model"]: row["evaluation"] for _, row in df.iterrows() if isinstance(row["evaluation"], str)}
        lines.append("Evaluated differently: " + "; ".join(f"{m}: {n}" for m, n in notes.items()) + ".")
    cut = [f"{row['model']} {c.key} {int(row[f'{c.key}.truncated'])}/{int(row[f'{c.key}.n'])}"
           for c in columns for _, row in df.iterrows() if row[f"{c.key}.truncated"]]
    if cut:
        lines.append("Answers cut by max_model_len: " + "; ".join(cut) + ".")
    return lines


def _render_md(df: pd.DataFrame) -> str:
    headers, body = _display_table(df, bold=("**", "**"))
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
    text = head + r"\midrule" + "\n" + notes + r"\bottomrule" + tail + "\n"
    return _bold(text, r"\textbf{", "}").replace(SIGNIFICANT, r"$^\dagger$")


def _raw_fields(df: pd.DataFrame, c: MetricColumn) -> tuple[str, ...]:
    """The numbers CSV and JSON carry per cell (std only for aggregated tables, min/max for spreads)."""
    std = ("std",) if _ids(df) == AGGREGATED_ID_COLUMNS else ()
    return (*RAW_FIELDS, *std, *(SPREAD_FIELDS if c.spread else ()), *MARK_FIELDS)


def _render_csv(df: pd.DataFrame) -> str:
    columns = _columns(df)
    raw = [f"{c.key}.{name}" for c in columns for name in (*_raw_fields(df, c), "judge")]
    return df[[*_ids(df), *raw]].to_csv(index=False)


def _render_json(df: pd.DataFrame) -> str:
    columns = _columns(df)

    def number(x: Any) -> Any:
        return None if pd.isna(x) else x.item() if hasattr(x, "item") else x

    rows = []
    last = _ids(df)[-1]
    for _, row in df.iterrows():
        run, model, seed = _id_cells(df, row)
        metrics = {c.key: {name: number(row[f"{c.key}.{name}"]) for name in _raw_fields(df, c)} for c in columns}
        for c in columns:
            metrics[c.key]["reference"] = row[f"{c.key}.reference"]
            if isinstance(per_category := row[f"{c.key}.per_category"], dict):
                metrics[c.key]["per_category"] = per_category
        rows.append({"run": run, "model": model, last: seed if seed != "" else None, "metrics": metrics})
    doc = {
        "schema": 1,
        "primary": df.attrs["primary"],
        "ascending": df.attrs["ascending"],
        "alpha": ALPHA,
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


# ------------------------------------------------------------------------------ per-category view
CATEGORY_ALL = "(all)"


def build_category_table(rows: Sequence[MetricRow], column: str | None = None) -> pd.DataFrame:
    """One column of the leaderboard broken down by category: a row per (category, leaderboard row),
    categories sorted, then the leaderboard's order; each category first shows the overall value as
    ``CATEGORY_ALL``. ``column`` is a ``benchmark/metric`` key (default: the leaderboard's primary)."""
    board = build_leaderboard(rows, column)
    c = next(col for col in _columns(board) if col.key == board.attrs["primary"])
    with_breakdown = [col.key for col in _columns(board)
                      if any(isinstance(x, dict) for x in board[f"{col.key}.per_category"])]
    expect(c.key in with_breakdown,
           f"column {c.key!r} has no per-category breakdown (its records carry no category, or the results "
           f"predate details.per_category); columns with one: {', '.join(with_breakdown) or '(none)'}")
    ids = _ids(board)
    categories = sorted({k for x in board[f"{c.key}.per_category"] if isinstance(x, dict) for k in x})
    records = []
    for category in [CATEGORY_ALL, *categories]:
        for _, row in board.iterrows():
            if category == CATEGORY_ALL:
                value, n = row[f"{c.key}.value"], row[f"{c.key}.n"]
            else:
                breakdown = row[f"{c.key}.per_category"]
                cell = breakdown.get(category) if isinstance(breakdown, dict) else None
                value, n = (math.nan, pd.NA) if cell is None else (cell["value"], cell["n"])
            records.append({"category": category, "run": row["run"], "model": row["model"], ids[-1]: row[ids[-1]],
                            "value": value, "n": n})
    df = pd.DataFrame.from_records(records)
    df[ids[-1]] = df[ids[-1]].astype("Int64")
    df["n"] = df["n"].astype("Int64")
    df.attrs.update(column=c, ids=ids)
    return df


def render_category_table(df: pd.DataFrame, fmt: str) -> str:
    """``build_category_table``'s table as md, csv, latex or json."""
    if fmt not in _RENDERERS:
        raise unknown_name("format", fmt, _RENDERERS)
    c: MetricColumn = df.attrs["column"]
    last = df.attrs["ids"][-1]
    if fmt == "csv":
        return df[["category", "run", "model", last, "value", "n"]].to_csv(index=False)
    if fmt == "json":
        def number(x: Any) -> Any:
            return None if pd.isna(x) else x.item() if hasattr(x, "item") else x

        doc = {"schema": 1, "column": {k: getattr(c, k) for k in ("key", "benchmark", "metric", "judge",
                                                                   "higher_is_better", "is_rate")},
               "rows": [{"category": r["category"], "run": r["run"], "model": r["model"], last: number(r[last]),
                         "value": number(r["value"]), "n": number(r["n"])} for _, r in df.iterrows()]}
        return to_json(doc) + "\n"
    headers = ["category", "run", "model", last, f"{c.key}{' (%)' if c.is_rate else ''}", "n"]
    body = [[r["category"], r["run"], r["model"], "" if pd.isna(r[last]) else int(r[last]),
             MISSING_CELL if pd.isna(r["value"]) else _fmt_number(r["value"], c.is_rate),
             "" if pd.isna(r["n"]) else int(r["n"])] for _, r in df.iterrows()]
    direction = "higher" if c.higher_is_better else "lower"
    notes = [f"{c.key} by category ({direction} is better): the mean of the per-item values of each category "
             f"(no CI; n = its items); {CATEGORY_ALL}: the whole benchmark, as in the leaderboard."]
    if c.judge:
        notes.append(f"Judge: {c.judge}.")
    if fmt == "md":
        return tabulate(body, headers=headers, tablefmt="github", disable_numparse=True) + "\n\n" + "\n".join(notes) + "\n"
    table = tabulate(body, headers=headers, tablefmt="latex_booktabs", disable_numparse=True)
    head, _, tail = table.rpartition(r"\bottomrule")
    rows_ = "".join(rf"\multicolumn{{{len(headers)}}}{{l}}{{\footnotesize {_latex_text(line)}}} \\" + "\n" for line in notes)
    return head + r"\midrule" + "\n" + rows_ + r"\bottomrule" + tail + "\n"
