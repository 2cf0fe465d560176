"""Reading a YAML config file: ``method``, ``defaults`` and per-dataset overrides.

A file looks like::

    method: gal                 # or a list, for a file several methods share
    defaults: {model: preact_resnet18, epochs: 200, batch_size: 128, lr: 0.06}
    datasets:
      digits: {model: digits_cnn, epochs: 30, batch_size: 64}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .declare import ConfigError

__all__ = ["ConfigFile", "load_config_file"]

_TOP_KEYS = ("method", "defaults", "datasets")


@dataclass(frozen=True)
class ConfigFile:
    """A parsed config file: the methods it is for, its defaults and its dataset sections."""

    path: Path
    methods: tuple[str, ...] = ()
    defaults: dict = field(default_factory=dict)
    datasets: dict = field(default_factory=dict)

    def sections(self):
        """``(where, mapping)`` of every section, for messages that name the place."""
        yield f"{self.path}, defaults", self.defaults
        for name, section in self.datasets.items():
            yield f"{self.path}, datasets.{name}", section


def load_config_file(path: str | Path) -> ConfigFile:
    """Read and check the shape of a config file.

    Raises:
        FileNotFoundError: the file does not exist.
        ConfigError: YAML syntax errors (with the file and line), a top level other than a
            mapping of ``method``, ``defaults`` and ``datasets``, or sections that are not
            mappings.

    Examples:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "c.yaml"
        >>> _ = p.write_text("method: ce\\ndefaults: {lr: 0.1}\\n")
        >>> load_config_file(p).defaults
        {'lr': 0.1}
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path} is not valid YAML: {err}") from None
    raw = {} if raw is None else raw
    if not isinstance(raw, dict) or not set(raw) <= set(_TOP_KEYS):
        got = sorted(map(str, raw)) if isinstance(raw, dict) else type(raw).__name__
        raise ConfigError(f"config file {path} must be a mapping with keys among "
                          f"{', '.join(_TOP_KEYS)}; got {got}")
    methods = raw.get("method") or ()
    methods = (methods,) if isinstance(methods, str) else methods
    if not isinstance(methods, (list, tuple)) or not all(isinstance(m, str) for m in methods):
        raise ConfigError(f"config file {path}: method must be a name or a list of names, "
                          f"got {raw.get('method')!r}")
    defaults = _mapping(raw.get("defaults"), f"{path}, defaults")
    datasets = _mapping(raw.get("datasets"), f"{path}, datasets")
    datasets = {str(k): _mapping(v, f"{path}, datasets.{k}") for k, v in datasets.items()}
    return ConfigFile(path, tuple(methods), defaults, datasets)


def _mapping(value, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a mapping, got {value!r}")
    return dict(value)
