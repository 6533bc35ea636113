"""`procon-bench judge-agreement`: how well refusal judges agree with labels, or with each other.

* ``judge-agreement JUDGE... --labels FILE``: each judge (a registered name, a pattern such as
  ``keyword-*``, or ``all``) on a labelled file (jsonl/csv/json; ``--prompt-field``,
  ``--response-field``, ``--label-field`` map its columns as data sources do; ``--positive`` /
  ``--negative`` say which label values mean refused / not refused). Prints accuracy, precision,
  recall, F1, Cohen's κ with its bootstrap CI, the 2×2 table and the accuracy per ``--by`` group;
  writes ``agreement.json`` and ``disagreements.jsonl`` to ``--output-dir``.
* ``judge-agreement A B --run RUN``: two judges over the items of a run folder both judged
  (``judgments/<judge>/<model>/<benchmark>.jsonl``; a registered judge without verdicts there is
  applied to ``generations/``); writes ``RUN/judge-agreement/<A>__vs__<B>.json`` and the disagreeing
  items beside it. ``harness/judges/agreement.py`` defines every number.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from tabulate import tabulate

from harness.errors import expect
from harness.io import safe_name, sha256_file, to_json, write_jsonl_atomic, write_text_atomic
from harness.judges.agreement import (
    MEASURES,
    Agreement,
    disagreements,
    judge_on_labels,
    judge_vs_judge,
    label_values,
    load_labelled,
    resolve_judges,
)

NAME = "judge-agreement"
HELP = "Agreement of refusal judges with a labelled file, or of two judges on a run: accuracy, precision, recall, κ."
DEFAULT_OUTPUT_ROOT = Path("results") / "judge-agreement"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("judges", nargs="+", metavar="JUDGE",
                        help="registered judge names or patterns (keyword-*, all); with --run exactly two: A B")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--labels", metavar="FILE", help="labelled file (.jsonl, .csv, .json): prompt, response, label")
    source.add_argument("--run", metavar="RUN", help="run folder whose judgments/ (or generations/) both judges cover")
    parser.add_argument("--prompt-field", default="prompt", metavar="COL", help="prompt column (default: prompt)")
    parser.add_argument("--response-field", default="response", metavar="COL",
                        help="response column (default: response)")
    parser.add_argument("--label-field", default="label", metavar="COL", help="label column (default: label)")
    parser.add_argument("--id-field", default=None, metavar="COL", help="item id column (default: id, if present)")
    parser.add_argument("--measure", default="refusal", choices=sorted(MEASURES),
                        help="what verdicts and labels say: refusal (positive class: refused; the default) or "
                             "harm (positive: harmful; harm judges such as harmbench-cls, with harm labels)")
    refusal, harm = MEASURES["refusal"], MEASURES["harm"]
    parser.add_argument("--positive", default=None, metavar="VALUES",
                        help="comma-separated label values of the positive class, case-insensitive (default: "
                             f"{','.join(refusal[1])}; with --measure harm: {','.join(harm[1])})")
    parser.add_argument("--negative", default=None, metavar="VALUES",
                        help="comma-separated label values of the other class (default: "
                             f"{','.join(refusal[2])}; with --measure harm: {','.join(harm[2])}); "
                             "any other value is an error")
    parser.add_argument("--by", default=None, metavar="COL",
                        help="breakdown column (default: type, else category, when the file has one)")
    parser.add_argument("--split", default=None, metavar="S", help="only rows whose `split` column is S")
    parser.add_argument("--model", default=None, help="--run: only this model's items (all its seeds)")
    parser.add_argument("--benchmark", default=None, help="--run: only this benchmark's items")
    parser.add_argument("--output-dir", default=None, metavar="DIR",
                        help="--labels: where to write (default: results/judge-agreement/<file stem>[-<split>])")
    parser.add_argument("--resamples", type=int, default=1000, metavar="N",
                        help="bootstrap resamples of the CIs (default: 1000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default: 0)")


def _pct(x: float | None) -> str:
    return "-" if x is None or math.isnan(x) else f"{100 * x:.1f}"


def _kappa(x: float | None) -> str:
    return "-" if x is None or math.isnan(x) else f"{x:.3f}"


def _row(name: str, a: Agreement) -> list[str]:
    c = a.confusion
    lo, hi = a.kappa_ci
    ci = "-" if math.isnan(lo) else f"[{lo:.3f}, {hi:.3f}]"
    return [name, str(c.n), _pct(c.accuracy()), _pct(c.precision()), _pct(c.recall()), _pct(c.f1()),
            f"{_kappa(c.kappa())} {ci}", f"{c.tp} / {c.fp} / {c.fn} / {c.tn}"]


HEADERS = ["judge", "n", "accuracy %", "precision %", "recall %", "F1 %", "κ [95% CI]", "TP / FP / FN / TN"]


def _table(rows: list[tuple[str, Agreement]]) -> str:
    failures = any(a.parse_failures for _, a in rows)
    body = [_row(name, a) + ([str(a.parse_failures)] if failures else []) for name, a in rows]
    return tabulate(body, headers=HEADERS + (["parse failures"] if failures else []), tablefmt="github",
                    disable_numparse=True)


def render_labels(results: list, by: str | None) -> str:
    table = _table([(f"`{r.name}` (`{r.judge_id}`)", r.agreement) for r in results])
    out = table + "\n"
    groups = sorted({g for r in results for g in r.agreement.by_group})
    if by and groups:
        body = [[g, str(max(r.agreement.by_group.get(g, {}).get("n", 0) for r in results))]
                + [_pct(r.agreement.by_group.get(g, {}).get("accuracy")) for r in results] for g in groups]
        out += f"\naccuracy % per {by}:\n" + tabulate(body, headers=[by, "n", *[r.name for r in results]],
                                                       tablefmt="github", disable_numparse=True) + "\n"
    return out


def _run_labels(args: argparse.Namespace) -> int:
    names, skipped = resolve_judges(args.judges, args.measure)
    path = Path(args.labels)
    expect(path.is_file(), f"--labels {args.labels!r}: file not found")
    positive = label_values(args.positive) if args.positive is not None else MEASURES[args.measure][1]
    negative = label_values(args.negative) if args.negative is not None else MEASURES[args.measure][2]
    items, by = load_labelled(path, prompt_field=args.prompt_field, response_field=args.response_field,
                              label_field=args.label_field, id_field=args.id_field, positive=positive,
                              negative=negative, by=args.by, split=args.split, measure=args.measure)
    if skipped:
        print(f"note: left out {', '.join(skipped)}: they do not measure {args.measure}")
    results = [judge_on_labels(n, items, measure=args.measure, n_boot=args.resamples, seed=args.seed)
               for n in names]
    out_dir = Path(args.output_dir) if args.output_dir else DEFAULT_OUTPUT_ROOT / (
        path.stem + (f"-{safe_name(args.split)}" if args.split else ""))
    report = {
        "labels": str(path), "sha256": sha256_file(path), "split": args.split, "n": len(items),
        "measure": args.measure, "positive": list(positive), "negative": list(negative),
        "label_positives": sum(it.refused for it in items), "by": by, "resamples": args.resamples,
        "seed": args.seed, "confidence": 0.95,
        "judges": {r.name: {"id": r.judge_id, **r.agreement.to_dict()} for r in results},
    }
    json_path = write_text_atomic(out_dir / "agreement.json", to_json(report) + "\n")
    rows = [row for r in results for row in disagreements(r, items)]
    dis_path = write_jsonl_atomic(out_dir / "disagreements.jsonl", rows)
    cls = "refused" if args.measure == "refusal" else "harmful"
    print(f"judge-agreement on {path}{f' (split {args.split})' if args.split else ''}: {len(items)} items, "
          f"{report['label_positives']} labelled {cls}; positive class = {cls}; κ CI: 95% percentile bootstrap, "
          f"{args.resamples} resamples")
    print(render_labels(results, by), end="")
    print(f"wrote {json_path}\nwrote {dis_path} ({len(rows)} disagreeing verdicts)")
    return 0


def _run_pair(args: argparse.Namespace) -> int:
    expect(len(args.judges) == 2, f"--run compares two judges: give JUDGE_A JUDGE_B, got {len(args.judges)}")
    a, b = args.judges
    run_dir = Path(args.run)
    result = judge_vs_judge(run_dir, a, b, measure=args.measure, model=args.model, benchmark=args.benchmark,
                            n_boot=args.resamples, seed=args.seed)
    stem = f"{safe_name(a)}__vs__{safe_name(b)}"
    out_dir = run_dir / "judge-agreement"
    report = {"run": str(run_dir), "measure": args.measure,
              "a": {"judge": a, "id": result.a.judge_id, "source": result.a.source,
                    "items": len(result.a.items), "parse_failures": result.a.parse_failures},
              "b": {"judge": b, "id": result.b.judge_id, "source": result.b.source,
                    "items": len(result.b.items), "parse_failures": result.b.parse_failures},
              "model": args.model, "benchmark": args.benchmark, "resamples": args.resamples, "seed": args.seed,
              "agreement": result.agreement.to_dict()}
    json_path = write_text_atomic(out_dir / f"{stem}.json", to_json(report) + "\n")
    rows = result.disagreements(run_dir)
    dis_path = write_jsonl_atomic(out_dir / f"{stem}.disagreements.jsonl", rows)
    ag = result.agreement
    print(f"judge-agreement on {run_dir}: A = {a} ({result.a.source}), B = {b} ({result.b.source}); "
          f"{ag.n} items judged by both; precision/recall of B with A as the reference")
    print(_table([(f"{b} vs {a}", ag)]))
    cls = "refused" if args.measure == "refusal" else "harmful"
    body = [[g, str(v["n"]), _pct(v["accuracy"]), _pct(v["reference_refusal_rate"]), _pct(v["rater_refusal_rate"]),
             _kappa(v["kappa"])] for g, v in ag.by_group.items()]
    print(tabulate(body, headers=["model/benchmark", "n", "agreement %", f"A {cls} %", f"B {cls} %", "κ"],
                   tablefmt="github", disable_numparse=True))
    print(f"wrote {json_path}\nwrote {dis_path} ({len(rows)} disagreeing items)")
    return 0


def run(args: argparse.Namespace) -> int:
    expect(args.resamples >= 1, f"--resamples: expected a positive integer, got {args.resamples}")
    return _run_labels(args) if args.labels else _run_pair(args)
