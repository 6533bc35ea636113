"""Argument helpers shared by the config-driven commands."""

from __future__ import annotations

import argparse

from harness.config import RunConfig, load_config


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG", help="run config (YAML); see README 'Config format'")
    parser.add_argument("--output-dir", default=None, help="results root (default: the config's output_dir)")
    parser.add_argument("--run", default=None, help="run name (default: the config's run)")


def add_force_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force", action="store_true",
                        help="recompute every keyed stage even when its inputs are unchanged (caches of the "
                             "aligned model and of generations are content-addressed and still reused)")


def add_dry_run_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true",
                        help="validate the config and resolve every model, data set, defense and benchmark "
                             "without loading weights; hub ids are not contacted when the hub is unreachable")


def config_from_args(args: argparse.Namespace) -> RunConfig:
    overrides = {k: v for k, v in (("output_dir", args.output_dir), ("run", args.run)) if v is not None}
    return load_config(args.config, overrides)
