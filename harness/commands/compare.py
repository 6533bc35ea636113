"""`procon-bench compare RUN A B`: per metric, B - A with a paired-bootstrap CI and a sign-flip p-value.

Reads the run's per-seed rows (``metrics.json``) and the per-item verdicts under ``judgments/``
(``harness/report/compare.py`` says how items and seeds are paired), prints one line per metric and
writes the result to ``RUN/compare/<A>__vs__<B>.json``.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from tabulate import tabulate

from harness.errors import expect
from harness.io import safe_name, to_json, write_text_atomic
from harness.metrics import is_rate
from harness.report.compare import ALPHA, COMPARE_DIR, Comparison, compare_models
from harness.report.metrics_table import METRICS_FILE, read_metrics

NAME = "compare"
HELP = "Paired comparison of two models of a run: B - A per metric with a bootstrap CI and a permutation p-value."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN", help="a run folder (results/<run>) with metrics.json and judgments/")
    parser.add_argument("a", metavar="A", help="model name (a leaderboard row), the baseline of the difference")
    parser.add_argument("b", metavar="B", help="model name compared with A: differences are B - A")
    parser.add_argument("--resamples", type=int, default=10_000, metavar="N",
                        help="bootstrap and sign-flip resamples (default: 10000; the smallest p-value is 1/(N+1))")
    parser.add_argument("--seed", type=int, default=0, help="seed of the resampling (default: 0)")


def _number(x: float | None, percent: bool, signed: bool = False) -> str:
    if x is None or math.isnan(x):
        return "-"
    value = 100 * x if percent else x
    return f"{value:+.1f}" if signed and percent else f"{value:.1f}" if percent else (
        f"{value:+.3g}" if signed else f"{value:.3g}")


def render(result: Comparison) -> str:
    body = []
    for m in result.metrics:
        pct = is_rate(m.metric)
        ci = "-" if m.ci_low is None else f"[{_number(m.ci_low, pct, True)}, {_number(m.ci_high, pct, True)}]"
        p = "-" if m.p_value is None else f"{m.p_value:.4f}" + (" *" if m.significant() else "")
        better = {"A": result.a, "B": result.b}.get(m.better(), "")
        body.append([m.key + (" (%)" if pct else ""), _number(m.a_value, pct), _number(m.b_value, pct),
                     _number(m.diff, pct, True), ci, p, m.n_items or "-", better])
    pairs = {len(m.seed_pairs) for m in result.metrics}
    head = (f"compare {result.run_dir}: A = {result.a}, B = {result.b}; B - A per metric, paired over items "
            f"({'/'.join(map(str, sorted(pairs)))} seed pair(s)); 95% paired-bootstrap CI, two-sided sign-flip "
            f"p-value ({result.n_resamples} resamples); * p < {ALPHA:g}")
    table = tabulate(body, headers=["metric", "A", "B", "B - A", "95% CI", "p", "items", "better"],
                     tablefmt="github", disable_numparse=True)
    return f"{head}\n{table}\n"


def run(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir)
    expect(run_dir.is_dir(), f"run folder {str(run_dir)!r} not found; expected a folder written by `procon-bench run`")
    expect((run_dir / METRICS_FILE).is_file(), f"run folder {str(run_dir)!r}: no {METRICS_FILE}; expected a folder "
                                              "written by `procon-bench run` or `eval`")
    expect(args.resamples >= 1, f"--resamples: expected a positive integer, got {args.resamples}")
    result = compare_models(run_dir, read_metrics(run_dir), args.a, args.b, n_resamples=args.resamples,
                            seed=args.seed)
    out = write_text_atomic(run_dir / COMPARE_DIR / f"{safe_name(args.a)}__vs__{safe_name(args.b)}.json",
                            to_json(result.to_dict()) + "\n")
    print(render(result), end="")
    print(f"wrote {out}")
    return 0
