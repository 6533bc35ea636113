"""`procon-bench models [REF]`: list built-in models, or resolve one (building/converting it once)."""

from __future__ import annotations

from harness.models import BUILTIN_MODELS, resolve_model

NAME = "models"
HELP = "List built-in model names, or resolve a model reference to its local folder."


def add_arguments(parser) -> None:
    parser.add_argument("ref", nargs="?", help="a built-in name, HF folder, .gguf file or hub id")


def run(args) -> int:
    if args.ref is None:
        for name in sorted(BUILTIN_MODELS):
            print(name)
        return 0
    resolved = resolve_model(args.ref)
    print(f"{resolved.kind}\t{resolved.path}")
    return 0
