"""``python -m ignoise train``: train any registered method.

    python -m ignoise train --list
    python -m ignoise train --method gal --dataset digits --noise sym --noise-rate 0.5
    python -m ignoise train --method gal --help          # GAL's own flags too
    accelerate launch -m ignoise train --method dividemix --config recipes/configs/dividemix.yaml

The config is the method's declared defaults, then ``--config`` (by default the method's file
in a source checkout's ``recipes/configs/``): its ``defaults`` and its section for the
dataset, then the flags given. Everything is checked before torch is imported.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config import (
    ConfigError,
    TrainingConfig,
    add_config_flags,
    auto_output_dir,
    check_run_folder,
    load_config_file,
)
from ..config import resolve_config as resolve
from ..methods import METHODS, get_method

__all__ = ["main", "cli", "parse", "default_config_path", "format_method_list"]

_CHECKOUT_CONFIGS = Path(__file__).resolve().parents[2] / "recipes" / "configs"


def default_config_path(method: str) -> Path | None:
    """The method's config file in this source checkout's ``recipes/configs/``, if any."""
    name = get_method(method).default_config
    path = _CHECKOUT_CONFIGS / name if name else None
    return path if path is not None and path.is_file() else None


def format_method_list() -> str:
    width = max(map(len, METHODS))
    return "\n".join(f"  {name:<{width}}  {spec.description}"
                     for name, spec in sorted(METHODS.items()))


def parse(argv=None, *, config: str | Path | None = None, method: str | None = None,
          description: str | None = None, prog: str | None = None):
    """``(method name, resolved config, config path)`` from the command line; ``None`` for
    ``--list`` (printed). ``config`` and ``method`` are a recipe's own file and method.

    Raises:
        ConfigError: unknown methods, keys or flags, values of the wrong type or range, a file
            that is not valid YAML, with what was expected.
        FileNotFoundError: a config file that does not exist.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    pre = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    pre.add_argument("--method")
    pre.add_argument("--config", type=Path)
    pre.add_argument("--list", action="store_true")
    known, _ = pre.parse_known_args(argv)
    if known.list:
        print(format_method_list())
        return None
    path = known.config or (Path(config) if config else None)
    file = load_config_file(path) if path else None
    name = known.method or method or (file.methods[0] if file and file.methods else None)
    asks_help = "-h" in argv or "--help" in argv
    if name is None and not asks_help:
        raise ConfigError("no method: pass --method NAME (--list shows them) or a --config "
                          "whose 'method' names one")
    spec = get_method(name) if name else None
    if file is not None and file.methods and name not in file.methods:
        raise ConfigError(f"config file {path} is for {', '.join(file.methods)}, not {name!r}")
    if file is None and spec is not None and default_config_path(name):
        path = default_config_path(name)
        file = load_config_file(path)

    parser = argparse.ArgumentParser(
        prog=prog, description=description or __doc__, allow_abbrev=False,  # no silent prefixes
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="methods:\n" + format_method_list())
    parser.add_argument("--method", help="the method to train (--list shows them)")
    parser.add_argument("--config", type=Path, help="YAML config file" + (
        f" (default: {path})" if path else ""))
    parser.add_argument("--list", action="store_true", help="list the methods and exit")
    add_config_flags(parser, TrainingConfig, title="shared flags (every method)")
    added = set(TrainingConfig.__dataclass_fields__)
    if spec is not None:
        add_config_flags(parser, spec.config, title=f"{name}: {spec.description}",
                         skip=tuple(added))
        added |= set(spec.config.__dataclass_fields__)
    # A file several methods share takes their flags too (one command line for a grid of
    # them, as the gradient-bias table runs); those this method lacks are not used.
    siblings = [get_method(m) for m in (file.methods if file else ()) if m != name]
    for other in siblings:
        add_config_flags(parser, other.config, title=f"{other.name} (not used by {name})",
                         skip=tuple(added))
        added |= set(other.config.__dataclass_fields__)
    args = vars(parser.parse_args(argv))
    unused = sorted(k for k in added - set(spec.config.__dataclass_fields__)
                    if args.get(k) is not None)
    if unused:
        print(f"note: {name} has no {', '.join(unused)}: not used", file=sys.stderr)
    allowed = None
    if file is not None and file.methods:
        allowed = {key for m in file.methods
                   for key in get_method(m).config.__dataclass_fields__}
    flags = {k: args.get(k) for k in spec.config.__dataclass_fields__}
    return name, resolve(spec.config, file=file, flags=flags, allowed_keys=allowed), path


def main(argv=None, *, config: str | Path | None = None, method: str | None = None,
         description: str | None = None, prog: str | None = None) -> dict | None:
    """Parse the command line, then train (see :func:`ignoise.methods.train`); returns the
    results, or ``None`` for ``--list``. Errors are raised (see :func:`parse`)."""
    parsed = parse(argv, config=config, method=method, description=description, prog=prog)
    if parsed is None:
        return None
    name, cfg, path = parsed
    if cfg.output_dir == "auto":
        cfg = cfg.replace(output_dir=auto_output_dir(name, cfg))
    check_run_folder(name, cfg)  # a folder that would mix two runs fails before torch too
    from ..methods.training import train  # torch and the library, only now

    return train(name, cfg, record={"config_path": str(path) if path else None})


def cli(argv=None, **kwargs) -> dict | None:
    """:func:`main` for a terminal: config errors print one line and exit with status 2, a
    diverged run (``results.json`` says ``"status": "diverged"``) with status 1; a finished
    multi-process run ends its process group."""
    try:
        results = main(argv, **kwargs)
    except (ConfigError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    except RuntimeError as err:
        from ..engine import RunDiverged, end_process_group

        if not isinstance(err, RunDiverged):
            raise
        print(f"error: {err}", file=sys.stderr)
        end_process_group()
        raise SystemExit(1) from None
    if results is not None:
        from ..engine import end_process_group

        end_process_group()
    return results
