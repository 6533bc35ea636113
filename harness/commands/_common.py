"""Argument helpers shared by the config-driven commands."""

from __future__ import annotations

import argparse

from harness.config import RunConfig, load_config


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG", help="run config (YAML); see README 'Config format'")
    parser.add_argument("--output-dir", default=None, help="results root (default: the config's output_dir)")
    parser.add_argument("--run", default=None, help="run name (default: the config's run)")


def config_from_args(args: argparse.Namespace) -> RunConfig:
    overrides = {k: v for k, v in (("output_dir", args.output_dir), ("run", args.run)) if v is not None}
    return load_config(args.config, overrides)
