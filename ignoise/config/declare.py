"""Declaring a hyper-parameter: type, default, range and one line of help, in one place.

A method's hyper-parameters are a dataclass whose fields are made with :func:`param`. Config
files, command-line flags, validation and ``--help`` are all derived from that declaration.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, Union

#: ``Optional[X]`` and ``X | None`` alike.
_UNIONS = (Union, types.UnionType)

__all__ = ["ConfigError", "param", "ParamSpec", "spec_of", "coerce", "check_range"]


class ConfigError(ValueError):
    """A config file, flag or value that does not fit its declaration."""


def param(default: Any, help: str, *, low: float | None = None, high: float | None = None,
          low_open: bool = False, high_open: bool = False) -> Any:
    """A dataclass field that is a hyper-parameter.

    Args:
        default: the paper's value (lists and dicts are copied per instance).
        help: one line: what it is, with the equation or section it belongs to.
        low, high: the allowed range of a number (``None``: unbounded).
        low_open, high_open: exclude the bound itself.

    Examples:
        >>> from dataclasses import dataclass
        >>> @dataclass
        ... class C:
        ...     tau: float = param(0.4, "tau of eq. 5", low=-1, high=1)
        >>> spec_of(C)["tau"].range_text()
        '[-1, 1]'
    """
    metadata = {"help": help, "low": low, "high": high, "low_open": low_open,
                "high_open": high_open}
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: copy.deepcopy(default),
                                 metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


@dataclass(frozen=True)
class ParamSpec:
    """One declared hyper-parameter, as read back from its dataclass field."""

    name: str
    type: Any
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def range_text(self) -> str:
        if self.low is None and self.high is None:
            return ""
        left = "(" if self.low_open or self.low is None else "["
        right = ")" if self.high_open or self.high is None else "]"
        low = "-inf" if self.low is None else f"{self.low:g}"
        high = "inf" if self.high is None else f"{self.high:g}"
        return f"{left}{low}, {high}{right}"


def spec_of(config_cls: type) -> dict[str, ParamSpec]:
    """The declared hyper-parameters of a config dataclass (class or instance), by name."""
    hints = typing.get_type_hints(config_cls)
    specs = {}
    for f in dataclasses.fields(config_cls):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        meta = f.metadata
        specs[f.name] = ParamSpec(f.name, hints[f.name], default, meta.get("help", ""),
                                  meta.get("low"), meta.get("high"), meta.get("low_open", False),
                                  meta.get("high_open", False))
    return specs


def coerce(spec: ParamSpec, value: Any, where: str) -> Any:
    """``value`` converted to ``spec``'s type, or a :class:`ConfigError` naming ``where``
    (the file and section, or the flag), the key, the value and what was expected.

    Numbers written as strings (YAML reads ``5e-4`` as a string) are converted where they
    parse exactly as the declared number type, and rejected otherwise.
    """
    try:
        out = _coerce(spec.type, value)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{where}: {spec.name} = {value!r}: expected {err}") from None
    check_range(spec, out, where)
    return out


def check_range(spec: ParamSpec, value: Any, where: str) -> None:
    """Raise a :class:`ConfigError` if the number ``value`` is NaN or infinite, or lies outside
    ``spec``'s range."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return
    if not math.isfinite(value):  # NaN compares false with every bound
        raise ConfigError(f"{where}: {spec.name} = {value!r}: expected a finite number")
    low_bad = spec.low is not None and (value <= spec.low if spec.low_open else value < spec.low)
    high_bad = spec.high is not None and (value >= spec.high if spec.high_open
                                          else value > spec.high)
    if low_bad or high_bad:
        raise ConfigError(f"{where}: {spec.name} = {value!r} is outside {spec.range_text()}")


def describe(tp: Any) -> str:
    """A type in words, for messages and ``--help``."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in _UNIONS:
        return " or ".join("null" if a is type(None) else describe(a) for a in args)
    if origin in (list, tuple):
        return f"a list of {describe(args[0])}" if args else "a list"
    if origin is dict or tp is dict:
        return "a mapping"
    return {int: "an integer", float: "a number", bool: "true or false",
            str: "a string"}.get(tp, getattr(tp, "__name__", str(tp)))


def _coerce(tp: Any, value: Any) -> Any:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in _UNIONS:
        if value is None:
            if type(None) in args:
                return None
            raise ValueError(describe(tp))
        for option in args:
            if option is type(None):
                continue
            try:
                return _coerce(option, value)
            except (TypeError, ValueError):
                pass
        raise ValueError(describe(tp))
    if origin is Literal:
        if any(value == a and type(value) is type(a) for a in args):
            return value
        raise ValueError(describe(tp))
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ValueError(describe(tp))
        return [_coerce(args[0], v) for v in value] if args else list(value)
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ValueError(describe(tp))
        return copy.deepcopy(value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ValueError(describe(tp))
    if tp is int:
        if isinstance(value, bool):
            raise ValueError(describe(tp))
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            return int(value.strip())
        raise ValueError(describe(tp))
    if tp is float:
        if isinstance(value, bool):
            raise ValueError(describe(tp))
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                raise ValueError(describe(tp)) from None
        raise ValueError(describe(tp))
    if tp is str:
        if isinstance(value, str):
            return value
        raise ValueError(describe(tp))
    raise TypeError(f"a declared type ignoise can read, not {tp!r}")
