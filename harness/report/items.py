"""Per-item values behind a metrics row, read back from the verdicts the evaluation wrote.

Seed aggregation (pooled CI) and paired comparisons resample items, so they need the per-prompt
values, not the rows' means. A row records its verdict file as ``details.judgments`` (relative to
the run folder); rows written before that field point to the one layout that existed then,
``judgments/<judge>/<model>/<benchmark>.jsonl``. The value of an item is the metric's own per-item
value (``harness.metrics``' registry) of the verdict field that metric reads (``ITEM_FIELDS``: a harm
judge's ``harmful`` for ``attack_success_rate``, ``degenerate`` for ``degenerate_rate``, ...), so a
mean over items reproduces the row's value exactly (a metric the harness does not define, e.g. an
lm-eval ``acc``, is read from ``correct``: lm-eval's per-document value); an item without a verdict (a classifier's parse
failure: ``parse_error``, or a null field) is left out, as it was from the row; not for
``degenerate_rate``, whose flag is the heuristic's and is set on every item.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness.errors import UserError, expect
from harness.io import safe_name
from harness.metrics import has_sampling_ci, known_metric
from harness.report.metrics_table import MetricRow

VERDICT_FIELDS = ("refused", "correct")  # a refusal judge's verdict, a task scorer's result
# The field(s) a metric's per-item value is read from (first present); other metrics: VERDICT_FIELDS
ITEM_FIELDS = {
    "attack_success_rate": ("harmful",),  # harm judges; rows of refusal judges are read as non_refusal_rate
    "refusal_rate": ("refused", "response_refusal"),  # a classifier writes its refusal label as response_refusal
    "non_refusal_rate": ("refused", "response_refusal"),
    "degenerate_rate": ("degenerate",),
}


def judgments_file(judge_id: str, model_folder: str, benchmark: str) -> str:
    """Where the evaluation writes a model's verdicts on a benchmark, relative to the run folder."""
    return f"judgments/{safe_name(judge_id)}/{model_folder}/{safe_name(benchmark)}.jsonl"


def judgments_path(run_dir: Path, row: MetricRow) -> Path:
    """The verdict file behind ``row`` (see the module docstring for rows without ``details.judgments``)."""
    recorded = (row.details or {}).get("judgments")
    return Path(run_dir) / (recorded or judgments_file(row.judge or "", safe_name(row.model), row.benchmark))


def has_items(row: MetricRow) -> bool:
    """Rows whose metric is a mean over sampled items (not ``r_cosine`` over a fixed set of layers); a
    metric the harness does not define (lm-eval's) only where its row wrote per-item values."""
    if not (has_sampling_ci(row.metric) and row.n > 0):
        return False
    return known_metric(row.metric) is not None or bool((row.details or {}).get("judgments"))


def item_values(run_dir: Path, row: MetricRow) -> dict[str, float]:
    """``{item id: per-item value}`` of ``row``'s metric; a one-line UserError when the verdicts are missing."""
    path = judgments_path(run_dir, row)
    expect(path.is_file(), f"{row.model} {row.benchmark}/{row.metric} (seed {row.seed}): per-item verdicts "
                           f"{str(path)!r} not found; expected the run folder that wrote metrics.json, with its "
                           "judgments/ (they are not committed with results)")
    spec = known_metric(row.metric)  # None: a metric this harness does not define (lm-eval's acc, f1, ...)
    wanted = ITEM_FIELDS.get(spec.name, VERDICT_FIELDS) if spec else VERDICT_FIELDS
    judged = spec is None or spec.name != "degenerate_rate"  # the heuristic flags every item, parsed or not
    ids, items = [], []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            raise UserError(f"{path}: line {i + 1} is not JSON") from None
        if record.get("parse_error") and "id" in record and judged:  # a classifier's unread output: no verdict
            continue
        field = next((f for f in wanted if f in record), None)
        expect(field is not None and "id" in record,
               f"{path}: line {i + 1} has no id and {' or '.join(wanted)} (for {row.metric}); expected a judgments "
               "file written by the judge of that row")
        if record[field] is None:  # no verdict on this item: left out of the row's metric too
            continue
        ids.append(str(record["id"]))
        items.append(record[field])
    values = spec.item_values(items) if spec else [float(x) for x in items]  # lm-eval: the per-document value
    expect(len(set(ids)) == len(ids), f"{path}: item ids repeat; expected one verdict per item")
    return dict(zip(ids, values, strict=True))
