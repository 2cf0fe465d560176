"""The GAL paper's ablations as three sweeps: Table 4 (components), Table 5 (sampling, mean +-
std over seeds) and Figure 4 (the agreement threshold tau), the specs
``recipes/tables/gal_table4.yaml``, ``gal_table5.yaml`` and ``gal_figure4.yaml``. Each sweep
goes to ``<output-dir>/<table>`` with its table (``table.md``, ``curves.png``: Figure 4 itself).
Finished runs are skipped, so an interrupted grid continues. Options this script does not know
go to every sweep (``--seeds``, ``--epochs``, ``--set KEY=VALUE``, ``--workers``, ``--dry-run``,
``--launcher``, ...: see ``python -m ignoise sweep --help``).

    python recipes/gal_ablations.py --workers 2              # the digits, on a CPU
    python recipes/gal_ablations.py --only table5 --seeds 0 1 2 --workers 2
    python recipes/gal_ablations.py --scale paper --set data_root=data   # CIFAR-10

One table by hand is the same as

    python -m ignoise sweep gal_table4 --scale digits --output-dir runs/gal_ablations/table4
    python -m ignoise table runs/gal_ablations/table4
"""

import argparse
from pathlib import Path

from ignoise.commands import sweep, table

SPECS = {"table4": "gal_table4", "table5": "gal_table5", "figure4": "gal_figure4"}


def main(argv=None) -> dict:
    """Sweep and tabulate each chosen spec; returns the table results by name."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n".join(__doc__.splitlines()[1:]))
    p.add_argument("--scale", default="digits",
                   help="a scale the specs define (digits), or paper for the paper's settings")
    p.add_argument("--only", nargs="+", choices=tuple(SPECS), default=list(SPECS))
    p.add_argument("--output-dir", type=Path, default=Path("runs/gal_ablations"))
    args, rest = p.parse_known_args(argv)
    if args.scale != "paper":
        rest = ["--scale", args.scale, *rest]
    sweep_parser, table_parser = argparse.ArgumentParser(), argparse.ArgumentParser()
    sweep.add_arguments(sweep_parser)
    table.add_arguments(table_parser)

    tables = {}
    for name in args.only:
        out = args.output_dir / name
        options = sweep_parser.parse_args([SPECS[name], "--output-dir", str(out), *rest])
        swept = sweep.main(options)
        if any(not o.ok for o in swept["outcomes"]):
            raise SystemExit(f"{name}: some runs failed; their logs are listed above")
        if not options.dry_run:
            tables[name] = table.main(table_parser.parse_args([str(out)]))
    return tables


if __name__ == "__main__":
    from ignoise.config import ConfigError

    try:
        main()
    except (ConfigError, FileNotFoundError) as err:
        raise SystemExit(f"error: {err}") from None
