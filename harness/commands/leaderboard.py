"""`procon-bench leaderboard RESULTS...`: merge the metrics of one or more runs into one sorted table.

A run with several seeds is shown aggregated (mean ± std over seeds, pooled CI; its stored
``metrics_aggregated.json``, else aggregated here), and single-seed runs beside it as one-seed rows;
``--per-seed`` shows every seed's row instead. ``--reference MODEL`` retests every row against that
model from the run's per-item judgments (the pipeline stores a test against its start model).
``--by-category`` shows one column (``--primary``, default the leaderboard's primary) broken
down by the records' categories instead: a row per (category, leaderboard row).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from harness.errors import expect
from harness.io import write_text_atomic
from harness.report.aggregate import AGGREGATE_FILE, aggregate_rows, is_aggregated
from harness.report.compare import annotate_significance
from harness.report.leaderboard import (
    FORMATS,
    build_category_table,
    build_leaderboard,
    render,
    render_category_table,
)
from harness.report.metrics_table import MetricRow, read_metrics

NAME = "leaderboard"
HELP = "Tabulate one or more runs' metrics (md, csv, latex or json), sorted by a primary metric."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "results", nargs="+", metavar="RESULTS", help="run folder(s) with metrics.json, or metrics files"
    )
    parser.add_argument(
        "--format", default="md", metavar="FMT", help=f"one of: {', '.join(FORMATS)} (default: md)"
    )
    parser.add_argument(
        "--primary",
        default=None,
        metavar="COL",
        help="'benchmark/metric' column to sort by (default: the first attack_success_rate column, else the "
             "first non_refusal_rate one, lower first)",
    )
    parser.add_argument("--output", default=None, metavar="FILE", help="write here instead of stdout")
    parser.add_argument("--per-seed", action="store_true",
                        help="one row per (run, model, seed) instead of the aggregate over seeds")
    parser.add_argument("--reference", default=None, metavar="MODEL",
                        help="mark differences from this model's rows (paired test on the run's judgments/)")
    parser.add_argument("--resamples", type=int, default=1000, metavar="N",
                        help="bootstrap/permutation resamples of --reference's test (default: 1000)")
    parser.add_argument("--by-category", action="store_true",
                        help="the --primary column per record category (details.per_category): a row per "
                             "(category, model)")


@dataclass
class Source:
    """One RESULTS argument: its per-seed rows and, for a multi-seed run folder, its stored aggregate."""

    run_dir: Path
    rows: list[MetricRow]
    stored: list[MetricRow] | None

    @property
    def multi_seed(self) -> bool:
        if self.stored is not None or any(is_aggregated(r) for r in self.rows):
            return True
        seen: set[tuple] = set()
        for r in self.rows:
            column = (r.run, r.model, r.benchmark, r.metric, r.judge)
            if column in seen:
                return True
            seen.add(column)
        return False


def _source(path: str) -> Source:
    p = Path(path)
    stored = p / AGGREGATE_FILE if p.is_dir() else None
    return Source(p if p.is_dir() else p.parent, read_metrics(p),
                  read_metrics(stored) if stored is not None and stored.is_file() else None)


def run(args: argparse.Namespace) -> int:
    sources = [_source(path) for path in args.results]
    aggregate = not args.per_seed and any(s.multi_seed for s in sources)
    for s in sources:
        given_aggregated = all(is_aggregated(r) for r in s.rows)  # a metrics_aggregated.json passed as a file
        expect(not (args.reference and given_aggregated),
               f"--reference: {s.run_dir} holds aggregated rows only; expected the run folder (per-seed rows "
               "and judgments/)")
        if aggregate and s.stored is None and not given_aggregated:
            # pooled CIs need the per-item judgments; without them the CI is left out
            s.stored = aggregate_rows(s.rows, s.run_dir if (s.run_dir / "judgments").is_dir() else None)
        if args.reference:
            per_seed = s.rows
            s.rows = annotate_significance(per_seed, args.reference, s.run_dir, n_resamples=args.resamples)
            if s.stored is not None:
                s.stored = annotate_significance(s.stored, args.reference, s.run_dir, per_seed_rows=per_seed,
                                                 n_resamples=args.resamples)
    rows = [r for s in sources for r in (s.stored if aggregate and s.stored is not None else s.rows)]
    if args.by_category:
        text = render_category_table(build_category_table(rows, args.primary), args.format)
    else:
        text = render(build_leaderboard(rows, args.primary), args.format)
    if args.output:
        write_text_atomic(args.output, text)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
