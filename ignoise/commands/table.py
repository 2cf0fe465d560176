"""``python -m ignoise table RUN_DIR...``: finished runs as the paper's table.

    python -m ignoise table runs/sweeps/gal_table1-digits
    python -m ignoise table runs/ce runs/gal --output-dir tables/mine

Mean +- std over seeds of the best, last and noisy-validation-selected test accuracy, the
paper's numbers beside them (from the sweep's spec), the training time per method; written as
``table.md``, ``table.csv``, ``table.tex`` and ``curves.png``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["add_arguments", "run", "main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dirs", nargs="+", type=Path,
                        help="a sweep's folder, or folders holding run folders")
    parser.add_argument("--output-dir", type=Path, default=None,
                        help="where the files go (default: the first RUN_DIR)")
    parser.add_argument("--formats", nargs="+", choices=("md", "csv", "tex", "png"),
                        default=["md", "csv", "tex", "png"])


def main(args) -> dict:
    """Collect, summarize, print the Markdown and write the files; returns
    ``{"summary": DataFrame, "written": {format: path}}``."""
    from ..experiments.aggregate import collect_runs, summarize
    from ..experiments.table_output import markdown_report, write_outputs

    collected = collect_runs(args.run_dirs)
    summary = summarize(collected)
    print(markdown_report(summary, collected))
    written = write_outputs(summary, collected, args.output_dir or args.run_dirs[0],
                            tuple(args.formats))
    for kind, path in written.items():
        print(f"{kind}: {path}")
    return {"summary": summary, "written": written}


def run(args) -> None:
    try:
        main(args)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
