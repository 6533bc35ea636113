"""`procon-bench check RESULTS --baseline FILE`: the regression gate (exit 1 on any regression).

``--write-baseline FILE`` pins the results as a new baseline. With ``--baseline`` too, the baseline
is rewritten only if the check passes, keeping every setting of the old one and each pinned value
unless it improved beyond its tolerance (``rebaseline``): re-pinning never loosens the gate.
"""

from __future__ import annotations

import argparse
import sys

from harness.errors import expect
from harness.report.check import check, load_baseline, rebaseline, save_baseline, write_baseline
from harness.report.metrics_table import read_metrics

NAME = "check"
HELP = "Compare results with a baseline file; exit 1 if a metric regressed beyond tolerance or is missing."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "results", nargs="+", metavar="RESULTS", help="run folder(s) with metrics.json, or metrics files"
    )
    parser.add_argument(
        "--baseline", default=None, metavar="FILE", help="baseline YAML/JSON to compare against"
    )
    parser.add_argument(
        "--write-baseline",
        default=None,
        metavar="FILE",
        help="write the results as a baseline (YAML, or JSON for .json)",
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=None,
        help="default absolute tolerance recorded by --write-baseline, in the metric's units: rates are "
        "fractions, 0.05 = 5 points (default: 0.05, or the old baseline's when rewriting one)",
    )
    parser.add_argument(
        "--allow-n-change",
        action="store_true",
        help="compare results whose n differs from the baseline's (else a MISMATCH, which fails)",
    )


def run(args: argparse.Namespace) -> int:
    expect(
        args.baseline or args.write_baseline,
        "nothing to do: give --baseline FILE to check, and/or --write-baseline FILE to create one",
    )
    rows = [row for path in args.results for row in read_metrics(path)]
    code = 0
    if args.baseline:
        old = load_baseline(args.baseline)
        report = check(rows, old, allow_n_change=args.allow_n_change)
        sys.stdout.write(report.render())
        code = report.exit_code
    if args.write_baseline:
        if code:
            print(f"baseline {args.write_baseline} not written: the check failed", file=sys.stderr)
        elif args.baseline:
            new = save_baseline(rebaseline(old, report, rows, args.tolerance, "--tolerance"), args.write_baseline)
            repinned = sum(a != b for a, b in zip(old.entries, new.entries, strict=False))
            print(f"wrote baseline {args.write_baseline}: {len(new.entries)} metrics, settings kept; {repinned} "
                  f"re-pinned (improved beyond tolerance), {len(new.entries) - len(old.entries)} added")
        else:
            tolerance = 0.05 if args.tolerance is None else args.tolerance
            baseline = write_baseline(rows, args.write_baseline, tolerance=tolerance, where="--tolerance")
            skipped = len(rows) - len(baseline.entries)
            note = f" (skipped {skipped} without a value)" if skipped else ""
            print(f"wrote baseline {args.write_baseline}: {len(baseline.entries)} metrics{note}")
    return code
