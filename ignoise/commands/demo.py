"""``python -m ignoise demo``: every method on the embedded digits, a table and a plot.

The demo is a sweep of ``recipes/tables/demo.yaml`` (clean CE, then CE, GAL, DivideMix and
GSS-SSL at 40% symmetric noise), its runs spread over the cores (one thread each), then
``python -m ignoise table`` of the result. A rerun skips the finished runs.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import sweep, table

__all__ = ["DEMO_SPEC", "add_arguments", "run", "main"]

DEMO_SPEC = "demo"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output-dir", default="demo_output", type=Path)
    parser.add_argument("--epochs", type=int, default=None,
                        help="override every row's epochs (each must exceed its warm-up)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="+", default=None, metavar="ROW",
                        help="names of rows to run")
    parser.add_argument("--workers", type=int, default=None,
                        help="runs at a time (default: the number of cores, at most 5)")
    parser.add_argument("--rerun-changed", action="store_true",
                        help="replace runs made with other settings")


def main(args) -> dict:
    """Run the demo sweep, then print and write its table; returns the table's results."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    sweep_args = argparse.Namespace(
        spec=DEMO_SPEC, output_dir=args.output_dir, scale=None, only=args.only,
        seeds=[args.seed], epochs=args.epochs, set=[], workers=args.workers or min(cores, 5),
        processes=None, gpus=None, launcher="local", slurm=[], dry_run=False,
        rerun_changed=args.rerun_changed)
    swept = sweep.main(sweep_args)
    if any(not o.ok for o in swept["outcomes"]):
        raise RuntimeError("some demo runs failed; their logs are listed above")
    return table.main(argparse.Namespace(run_dirs=[args.output_dir], output_dir=None,
                                         formats=["md", "csv", "tex", "png"]))


def run(args) -> None:
    from ..config import ConfigError

    try:
        main(args)
    except (ConfigError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
