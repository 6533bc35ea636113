"""`procon-bench` command line: one module per subcommand under ``harness/commands``.

Each command module exposes ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``.
A ``UserError`` anywhere becomes one line on stderr and exit code 2 (no traceback); a Ctrl-C exits
130 and keeps every file already written (all writes are atomic, all stages resume).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from harness.errors import UserError

COMMANDS = ("eval", "train", "run", "directions", "drift", "leaderboard", "compare", "check", "models",
            "judge_agreement", "lmeval")


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    parser = argparse.ArgumentParser(
        prog="procon-bench", description="Safety erosion under fine-tuning: train defenses, evaluate, compare."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = {}
    for name in COMMANDS:
        module = importlib.import_module(f"harness.commands.{name}")
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        modules[module.NAME] = module
    return parser, modules



def main(argv: list[str] | None = None) -> int:
    # vLLM pins torch to one thread in-process unless OMP_NUM_THREADS is set; training after an
    # evaluation would then run at half speed on a 2-core machine.
    os.environ.setdefault("OMP_NUM_THREADS", str(os.cpu_count() or 1))
    parser, modules = build_parser()
    args = parser.parse_args(argv)  # argparse already exits 2 with a one-line usage error
    try:
        return int(modules[args.command].run(args) or 0)
    except UserError as exc:
        print(f"procon-bench {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"procon-bench {args.command}: interrupted; finished stages are kept, rerun to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
