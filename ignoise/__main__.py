"""The ``ignoise`` command: ``train``, ``sweep``, ``table``, ``demo``, ``convert`` and
``label-issues``.

    python -m ignoise train --list
    python -m ignoise train --method gal --dataset digits --noise sym --noise-rate 0.5
    python -m ignoise sweep recipes/tables/demo.yaml --output-dir runs/demo --workers 2
    python -m ignoise table runs/demo
    python -m ignoise demo
    python -m ignoise convert --dataset cifar10 --split train --output cifar10_train.beton
    python -m ignoise label-issues runs/dividemix/digits-sym-0.4-seed0

``--help`` of every command answers without importing torch.
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["train"]:  # train builds its flags from the method it is given
        from .commands import train

        train.cli(argv[1:], prog="ignoise train")
        return
    parser = argparse.ArgumentParser(prog="ignoise", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    from .commands import convert, demo, label_issues, sweep, table

    commands.add_parser("train", help="train a registered method (train --help)",
                        add_help=False)
    sweep.add_arguments(commands.add_parser(
        "sweep", help="run every cell of a table spec (methods x noise x seeds)",
        description=sweep.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter))
    table.add_arguments(commands.add_parser(
        "table", help="finished runs as a paper table (mean +- std, published numbers)",
        description=table.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter))
    demo.add_arguments(commands.add_parser("demo", help="every method on the embedded digits"))
    convert.add_arguments(commands.add_parser("convert", help="write a dataset to .beton"))
    label_issues.add_arguments(commands.add_parser(
        "label-issues", help="rank a finished run's suspected mislabeled training samples"))
    args = parser.parse_args(argv)
    if args.command == "sweep":
        sweep.run(args)
    elif args.command == "table":
        table.run(args)
    elif args.command == "demo":
        demo.run(args)
    elif args.command == "label-issues":
        label_issues.run(args)
    else:
        convert.run(args)


if __name__ == "__main__":
    main()
