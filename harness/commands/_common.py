"""Argument helpers shared by the config-driven commands."""

from __future__ import annotations

import argparse

from harness.config import RunConfig, load_configs
from harness.errors import UserError


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG", help="run config (YAML); see README 'Config format'")
    parser.add_argument("--output-dir", default=None, help="results root (default: the config's output_dir)")
    parser.add_argument("--run", default=None, help="run name (default: the config's run)")
    parser.add_argument("--scenario", default=None,
                        help="only this entry of the config's `scenarios:` (default: every scenario, in order)")


def add_force_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force", action="store_true",
                        help="recompute every keyed stage even when its inputs are unchanged (caches of the "
                             "aligned model and of generations are content-addressed and still reused)")


def add_dry_run_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true",
                        help="validate the config and resolve every model, data set, defense and benchmark "
                             "without loading weights; hub ids are not contacted when the hub is unreachable")


def configs_from_args(args: argparse.Namespace) -> list[RunConfig]:
    """Every run of the config file (one per scenario when it has ``scenarios:``)."""
    overrides = {k: v for k, v in (("output_dir", args.output_dir), ("run", args.run)) if v is not None}
    return load_configs(args.config, overrides, getattr(args, "scenario", None))


def config_from_args(args: argparse.Namespace) -> RunConfig:
    """The one run a command works on; a config with several scenarios needs ``--scenario``."""
    configs = configs_from_args(args)
    if len(configs) != 1:
        raise UserError(f"{args.config}: the config has scenarios {', '.join(c.run for c in configs)}; "
                        "this command works on one: pass --scenario NAME")
    return configs[0]
