"""Merging a method's declared defaults, a config file and the flags into one checked config."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable

from .declare import ConfigError, coerce, spec_of
from .files import ConfigFile
from .flags import NULL, flag_name
from .training import DATASET_NAMES, MODEL_NAMES

__all__ = ["resolve_config", "to_dict", "closest"]


def closest(name: str, valid: Iterable[str]) -> str | None:
    """The valid name most like ``name``, if any is close (for "did you mean")."""
    valid = list(valid)
    # "learning_rate" -> "lr": a valid key made of the name's initials comes first
    initials = "".join(part[0] for part in name.split("_") if part)
    if len(initials) > 1 and initials in valid:
        return initials
    found = difflib.get_close_matches(name, valid, n=1, cutoff=0.5)
    return found[0] if found else None


def resolve_config(config_cls: type, *, file: ConfigFile | None = None,
                   flags: dict | None = None, allowed_keys: Iterable[str] | None = None):
    """The config of one run: ``config_cls``'s declared defaults, then ``file``'s
    ``defaults``, then its section for the run's dataset, then the flags that were given.

    Args:
        config_cls: the method's config dataclass (a :class:`TrainingConfig` subclass).
        file: a parsed config file, or ``None``.
        flags: flag values by field name; ``None`` values are flags not given,
            :data:`ignoise.config.flags.NULL` ones flags given as ``null``.
        allowed_keys: keys the file may hold (default: ``config_cls``'s fields). A file that
            several methods share allows the fields of all of them; keys that are not
            ``config_cls``'s are then not used, and not recorded, for this method.

    Raises:
        ConfigError: an unknown key or dataset section (naming the file, the key and the
            closest valid one), a value of the wrong type or out of range (naming the key, the
            value and what was expected), an unknown dataset or model name.

    Examples:
        >>> from ignoise.config import TrainingConfig
        >>> resolve_config(TrainingConfig, flags={"lr": "0.1", "epochs": None}).lr
        0.1
    """
    specs = spec_of(config_cls)
    allowed = set(allowed_keys) if allowed_keys is not None else set(specs)
    values: dict[str, tuple[object, str]] = {}
    flags = {k: None if v is NULL else v for k, v in (flags or {}).items() if v is not None}
    for key in flags:
        if key not in specs:
            raise ConfigError(f"unknown flag {flag_name(key)}")
    if file is not None:
        for name in file.datasets:  # a misspelt section would silently never apply
            if name not in DATASET_NAMES:
                hint = closest(name, DATASET_NAMES)
                raise ConfigError(f"{file.path}, datasets: unknown dataset {name!r}"
                                  + (f"; did you mean {hint!r}?" if hint else "")
                                  + f" (expected among {', '.join(DATASET_NAMES)})")
        for where, section in file.sections():
            for key in section:
                if key not in allowed:
                    hint = closest(str(key), sorted(allowed))
                    raise ConfigError(f"{where}: unknown key {key!r}"
                                      + (f"; did you mean {hint!r}?" if hint else ""))
        dataset = flags.get("dataset", file.defaults.get("dataset", specs["dataset"].default))
        for where, section in ((f"{file.path}, defaults", file.defaults),
                               (f"{file.path}, datasets.{dataset}",
                                file.datasets.get(dataset, {}))):
            values.update({k: (v, where) for k, v in section.items() if k in specs})
    values.update({k: (v, f"flag {flag_name(k)}") for k, v in flags.items()})
    checked = {key: coerce(specs[key], value, where) for key, (value, where) in values.items()}
    for key, names in (("dataset", DATASET_NAMES), ("model", MODEL_NAMES)):
        if key in checked and checked[key] not in names:
            hint = closest(checked[key], names)
            raise ConfigError(f"{values[key][1]}: {key} = {checked[key]!r}: expected one of "
                              f"{', '.join(names)}" + (f" (did you mean {hint!r}?)" if hint
                                                       else ""))
    return config_cls(**checked)


def to_dict(config) -> dict:
    """The config as plain values (for ``results.json`` and checkpoints)."""
    return dataclasses.asdict(config)
