"""Command-line flags derived from a config dataclass: ``--warmup-epochs`` for
``warmup_epochs``, with its type, choices, range and help."""

from __future__ import annotations

import argparse
import types
import typing
from typing import Any, Literal, Union

import yaml

from .declare import ParamSpec, describe, spec_of

#: ``Optional[X]`` and ``X | None`` alike.
_UNIONS = (Union, types.UnionType)

__all__ = ["add_config_flags", "flag_name", "NULL"]


class _Null:
    def __repr__(self) -> str:
        return "NULL"


#: The value of a flag given as ``null`` (``--lambda-u null``): ``None`` is a flag not given.
NULL = _Null()


def flag_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_config_flags(parser: argparse.ArgumentParser, config_cls: type, *,
                     title: str | None = None, skip: tuple[str, ...] = ()) -> None:
    """Add one flag per hyper-parameter of ``config_cls`` (default ``None``: an unset flag
    does not override the config file; a flag given as ``null`` is :data:`NULL`). Values are
    converted by argparse and checked again by :func:`ignoise.config.resolve_config`.

    Examples:
        >>> from ignoise.config import TrainingConfig
        >>> p = argparse.ArgumentParser()
        >>> add_config_flags(p, TrainingConfig)
        >>> vars(p.parse_args(["--lr", "0.1", "--no-progress"]))["lr"]
        0.1
    """
    group = parser.add_argument_group(title) if title else parser
    for name, spec in spec_of(config_cls).items():
        if name in skip:
            continue
        group.add_argument(flag_name(name), dest=name, default=None, help=_help(spec),
                           **_kind(spec.type))


def _help(spec: ParamSpec) -> str:
    text = spec.help
    if spec.range_text():
        text += f"; in {spec.range_text()}"
    return (text + f" (default: {spec.default!r})").replace("%", "%%")  # argparse formats it


def _kind(tp: Any) -> dict:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is bool:
        return {"action": argparse.BooleanOptionalAction}
    if origin is Literal:
        return {"choices": args, "type": type(args[0])}
    if origin in (list, tuple):
        inner = _kind(args[0]) if args else {}
        return {"nargs": "+", **{k: v for k, v in inner.items() if k in ("type", "choices")}}
    if tp is dict or origin is dict:
        return {"type": _yaml_value, "metavar": "YAML"}
    if tp in (int, float, str):
        return {"type": tp}
    if origin in _UNIONS and str in args:
        # a folder named 2024 or yes stays a string; only null is None
        return {"type": _text_or_null, "metavar": describe(tp).upper().replace(" ", "_")[:24]}
    if origin in _UNIONS:
        # Optional numbers, "auto" or a bool, ...: read as YAML, checked against the type later.
        return {"type": _yaml_value, "metavar": describe(tp).upper().replace(" ", "_")[:24]}
    return {"type": str}


def _text_or_null(text: str):
    return NULL if text == "null" else text


def _yaml_value(text: str):
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise argparse.ArgumentTypeError(f"not valid YAML: {text!r} ({err})") from None
    return NULL if value is None else value
