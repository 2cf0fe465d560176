"""The ``ignoise`` command: ``python -m ignoise demo`` and ``python -m ignoise convert``."""

from __future__ import annotations

import argparse

__all__ = ["main"]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="ignoise", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    from .commands import demo

    demo.add_arguments(commands.add_parser("demo", help="every method on the embedded digits"))
    try:
        from .commands import convert
    except ImportError:  # pragma: no cover - the convert command is optional
        convert = None
    if convert is not None:
        convert.add_arguments(commands.add_parser("convert", help="write a dataset to .beton"))
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo.run(args)
    else:
        convert.run(args)


if __name__ == "__main__":
    main()
