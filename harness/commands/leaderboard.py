"""`procon-bench leaderboard RESULTS...`: merge the metrics of one or more runs into one sorted table."""

from __future__ import annotations

import argparse
import sys

from harness.io import write_text_atomic
from harness.report.leaderboard import FORMATS, build_leaderboard, render
from harness.report.metrics_table import read_metrics

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
        help="'benchmark/metric' column to sort by (default: the first attack_success_rate column, lower first)",
    )
    parser.add_argument("--output", default=None, metavar="FILE", help="write here instead of stdout")


def run(args: argparse.Namespace) -> int:
    rows = [row for path in args.results for row in read_metrics(path)]
    text = render(build_leaderboard(rows, args.primary), args.format)
    if args.output:
        write_text_atomic(args.output, text)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
