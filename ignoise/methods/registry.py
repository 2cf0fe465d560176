"""The method registry: every method by name, with its config class and a one-line description.

Registering imports nothing heavy: a method module declares its config at import time and
imports torch, the steps and the handlers only inside ``build``, so that listing methods,
``--help`` and config errors answer without importing torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..config import ConfigError
from ..config.resolve import closest

__all__ = ["MethodSpec", "METHODS", "register", "get_method"]


@dataclass(frozen=True)
class MethodSpec:
    """A registered method.

    Attributes:
        name: the name ``--method`` takes.
        config: its hyper-parameters, a :class:`ignoise.config.TrainingConfig` subclass.
        build: ``build(run, data, cfg, model=None) -> MethodParts``.
        description: one line for ``--list``.
        default_config: the file in ``recipes/configs/`` that ``train --method NAME`` reads
            when no ``--config`` is given (a source checkout's; else the declared defaults).
    """

    name: str
    config: type
    build: Callable
    description: str
    default_config: str | None = None


#: name -> :class:`MethodSpec`, filled by :func:`register`.
METHODS: dict[str, MethodSpec] = {}


def register(name: str, config: type, *, description: str,
             default_config: str | None = None) -> Callable:
    """Register the decorated ``build`` function as method ``name``.

    Examples:
        >>> from dataclasses import dataclass
        >>> from ignoise.config import TrainingConfig
        >>> @dataclass
        ... class MyConfig(TrainingConfig):
        ...     pass
        >>> @register("my_method", MyConfig, description="an example")
        ... def build(run, data, cfg, model=None):
        ...     ...
        >>> get_method("my_method").config is MyConfig
        True
        >>> del METHODS["my_method"]
    """
    if name in METHODS:
        raise ValueError(f"method {name!r} is already registered")

    def decorator(build: Callable) -> Callable:
        METHODS[name] = MethodSpec(name, config, build, description, default_config)
        return build

    return decorator


def get_method(name: str) -> MethodSpec:
    """The method registered as ``name``.

    Raises:
        ConfigError: an unknown name, with the closest registered one and the list.
    """
    if name not in METHODS:
        hint = closest(name, METHODS)
        raise ConfigError(f"unknown method {name!r}" + (f" (did you mean {hint!r}?)" if hint
                                                       else "")
                         + f": expected one of {', '.join(sorted(METHODS))}")
    return METHODS[name]
