"""Sweep specs: a paper table (or figure) as a YAML file of rows x datasets x noise x seeds.

A spec names its rows (a method with its flags, or a baseline that only has the paper's
numbers), the datasets, noise settings (``"sym:0.5"``, ``"none"``) and seeds, overrides for
every cell, the published numbers and scaled-down versions (``scales``, e.g. ``digits``). The
format is documented in ``docs/sweeps.rst``. Everything here is torch-free.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..config import ConfigError
from ..config.flags import flag_name
from ..config.resolve import closest
from ..config.training import DATASET_NAMES, NOISE_NAMES

__all__ = ["Row", "Cell", "SweepSpec", "load_spec", "find_spec", "parse_setting",
           "setting_name", "cell_argv", "SPEC_KEYS", "TABLES_DIR"]

TABLES_DIR = Path(__file__).resolve().parents[2] / "recipes" / "tables"
SPEC_KEYS = ("name", "title", "source", "metric", "curve", "report", "rows", "datasets", "noise",
             "seeds", "overrides", "published", "published_best", "published_from",
             "published_settings", "processes", "scales", "notes")
ROW_KEYS = ("name", "method", "flags", "config", "noise", "datasets", "notes")
SCALE_KEYS = ("datasets", "noise", "seeds", "overrides", "published_from", "published_settings",
              "rows", "notes")
METRICS = ("last", "best", "val")


@dataclass(frozen=True)
class Row:
    """One row of the table: ``method`` with ``flags`` (config keys), or ``method=None`` for a
    baseline shown with the paper's numbers only. ``noise``/``datasets`` replace the spec's."""

    name: str
    method: str | None
    flags: dict = field(default_factory=dict)
    config: str | None = None
    noise: tuple[str, ...] | None = None
    datasets: tuple[str, ...] | None = None

    @property
    def slug(self) -> str:
        """The row's folder name: ``"GAL (C), 40% sym"`` -> ``"gal-c-40-sym"``."""
        name = self.name.lower().replace("+", " plus ")  # Co-teaching+ is not Co-teaching
        return re.sub(r"[^a-z0-9.]+", "-", name).strip("-") or "row"


@dataclass(frozen=True)
class Cell:
    """One run of the sweep: a row on one dataset, noise setting and seed."""

    row: Row
    dataset: str
    noise: str
    rate: float
    seed: int

    @property
    def setting(self) -> str:
        return setting_name(self.noise, self.rate)

    @property
    def folder(self) -> str:
        """Relative to the sweep's output folder."""
        return f"{self.row.slug}/{self.dataset}-{self.noise}-{self.rate:g}-seed{self.seed}"

    def describe(self) -> str:
        return f"{self.row.name} | {self.dataset} {self.setting} seed {self.seed}"


@dataclass(frozen=True)
class SweepSpec:
    """A loaded spec (see the module docstring). ``scale`` is the scale it was read at."""

    name: str
    title: str
    rows: tuple[Row, ...]
    datasets: tuple[str, ...]
    noise: tuple[str, ...] | dict
    seeds: tuple[int, ...]
    overrides: dict = field(default_factory=dict)
    published: dict = field(default_factory=dict)
    published_best: dict = field(default_factory=dict)
    published_from: dict = field(default_factory=dict)
    published_settings: dict = field(default_factory=dict)
    metric: str = "last"
    curve: str = "test_accuracy"
    report: tuple[str, ...] = ()
    source: str = ""
    processes: int = 1
    scale: str | None = None
    scales: tuple[str, ...] = ()
    path: Path | None = None

    def cells(self, only: list[str] | None = None) -> list[Cell]:
        """Every run, row by row; ``only`` keeps the named rows (an unknown name is an error
        that lists the rows). Rows without a method have no cells."""
        rows = self.select(only)
        out = []
        for row in rows:
            if row.method is None:
                continue
            for dataset in row.datasets or self.datasets:
                for setting in row.noise or self.settings(dataset):
                    noise, rate = parse_setting(setting, f"{self.name}: row {row.name!r}")
                    out += [Cell(row, dataset, noise, rate, seed) for seed in self.seeds]
        return out

    def settings(self, dataset: str) -> tuple[str, ...]:
        """The noise settings of ``dataset``: ``noise`` is one list for every dataset, or a
        mapping dataset -> list (e.g. CIFAR-100 without the asymmetric column)."""
        if isinstance(self.noise, dict):
            if dataset not in self.noise:
                raise ConfigError(f"{self.name}: noise has no settings for dataset {dataset!r} "
                                  f"(it has {', '.join(self.noise)})")
            return tuple(self.noise[dataset])
        return self.noise

    def select(self, only: list[str] | None) -> list[Row]:
        if not only:
            return list(self.rows)
        names = [r.name for r in self.rows]
        unknown = [n for n in only if n not in names]
        if unknown:
            raise ConfigError(f"{self.name}: no row named {', '.join(map(repr, unknown))}; the "
                              f"rows are: {', '.join(map(repr, names))}")
        return [r for r in self.rows if r.name in only]

    def published_value(self, row: str, dataset: str, setting: str,
                        metric: str | None = None) -> float | None:
        """The paper's number for a cell (``published_from`` maps a scaled-down dataset to the
        paper's, e.g. digits -> cifar10), or ``None``: of ``metric`` (the spec's by default;
        ``"best"`` reads ``published_best`` when the spec's metric is another)."""
        source = self.published_from.get(dataset, dataset)
        setting = self.published_settings.get(setting, setting)
        table = self.published_best if metric == "best" and self.metric != "best" else \
            self.published
        value = table.get(source, {}).get(row, {}).get(setting)
        return None if value is None else float(value)

    def with_overrides(self, overrides: dict, seeds: list[int] | None = None) -> SweepSpec:
        return dataclasses.replace(self, overrides={**self.overrides, **overrides},
                                   seeds=tuple(seeds) if seeds else self.seeds)


def parse_setting(setting: str, where: str) -> tuple[str, float]:
    """``"sym:0.5"`` -> ``("sym", 0.5)``; ``"none"`` -> ``("none", 0.0)``.

    Examples:
        >>> parse_setting("pairflip:0.45", "spec")
        ('pairflip', 0.45)
    """
    noise, _, rate = str(setting).partition(":")
    if noise not in NOISE_NAMES:
        raise ConfigError(f"{where}: noise setting {setting!r}: expected KIND:RATE with KIND one "
                          f"of {', '.join(NOISE_NAMES)} (e.g. sym:0.5, or none)")
    try:
        value = float(rate) if rate else 0.0
    except ValueError:
        raise ConfigError(f"{where}: noise setting {setting!r}: the rate {rate!r} is not a "
                          "number") from None
    if not 0.0 <= value < 1.0 or (noise == "none") != (value == 0.0):
        raise ConfigError(f"{where}: noise setting {setting!r}: expected a rate in (0, 1) for "
                          "synthetic noise and none without a rate")
    return noise, value


def setting_name(noise: str, rate: float) -> str:
    """The inverse of :func:`parse_setting`: ``("sym", 0.5)`` -> ``"sym:0.5"``."""
    return "none" if noise == "none" else f"{noise}:{rate:g}"


def cell_argv(cell: Cell, overrides: dict) -> list[str]:
    """The ``python -m ignoise train`` arguments of a cell (without ``--output-dir``): the
    row's method, config and flags, the cell's data, noise and seed, then ``overrides``."""
    argv = ["--method", cell.row.method]
    if cell.row.config:
        argv += ["--config", cell.row.config]
    values = {**cell.row.flags, "dataset": cell.dataset, "noise": cell.noise,
              "noise_rate": cell.rate, "seed": cell.seed, **overrides}
    from ..config import spec_of
    from ..methods import get_method

    types = {name: p.type for name, p in spec_of(get_method(cell.row.method).config).items()}
    for key, value in values.items():
        argv += _flag(key, value, cell, types.get(key))
    return argv


def _flag(key: str, value, cell: Cell, tp) -> list[str]:
    flag = flag_name(key)
    if isinstance(value, bool):
        if tp is bool:  # --flag / --no-flag
            return [flag if value else "--no-" + flag[2:]]
        return [flag, str(value).lower()]  # a bool among other values: read as YAML
    if value is None:
        return [flag, "null"]
    if isinstance(value, (list, tuple)):
        if not value:
            raise ConfigError(f"row {cell.row.name!r}: {key} = []: an empty list cannot be "
                              "passed as a flag; set it in the row's config file instead")
        return [flag, *map(str, value)]
    if isinstance(value, dict):
        return [flag, yaml.safe_dump(value, default_flow_style=True).strip()]
    return [flag, str(value)]


def find_spec(name_or_path: str | Path) -> Path:
    """A spec file: a path, or the name of one in this checkout's ``recipes/tables/``."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    named = TABLES_DIR / f"{path.stem}.yaml"
    if path.suffix in ("", ".yaml") and len(path.parts) == 1 and named.is_file():
        return named
    known = sorted(p.stem for p in TABLES_DIR.glob("*.yaml")) if TABLES_DIR.is_dir() else []
    raise FileNotFoundError(f"no spec file {str(name_or_path)!r}: expected a YAML file or one "
                            f"of {', '.join(known) or '(no recipes/tables/ here)'}")


def load_spec(name_or_path: str | Path, scale: str | None = None) -> SweepSpec:
    """Read and check a spec, at its full (paper) scale or at ``scale``.

    Raises:
        ConfigError: unknown keys (with the closest valid one), wrong types, unknown datasets,
            noise settings or scales, duplicate rows.
        FileNotFoundError: no such file.
    """
    path = find_spec(name_or_path)
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    where = str(path)
    raw = _mapping(raw, where, SPEC_KEYS)
    scales = _mapping(raw.get("scales", {}), f"{where}: scales", None)
    if scale is not None:
        if scale not in scales:
            raise ConfigError(f"{where}: no scale {scale!r}; expected one of "
                              f"{', '.join(scales) or '(none defined)'}")
        scaled = _mapping(scales[scale], f"{where}: scales.{scale}", SCALE_KEYS)
        raw = {**raw, **{k: scaled[k] for k in ("datasets", "noise", "seeds") if k in scaled},
               "overrides": {**raw.get("overrides", {}), **scaled.get("overrides", {})},
               **{key: scaled.get(key, raw.get(key, {}))
                  for key in ("published_from", "published_settings")}}
        row_flags = _mapping(scaled.get("rows", {}), f"{where}: scales.{scale}.rows", None)
    else:
        row_flags = {}
    rows = tuple(_row(r, f"{where}: rows[{i}]", row_flags)
                 for i, r in enumerate(_list(raw.get("rows"), f"{where}: rows")))
    for extra in set(row_flags) - {r.name for r in rows}:
        raise ConfigError(f"{where}: scales.{scale}.rows names {extra!r}, which is not a row")
    _unique([r.name for r in rows], f"{where}: row names")
    _unique([r.slug for r in rows], f"{where}: row folder names")
    for dataset in [*raw.get("datasets", []), *(d for r in rows for d in r.datasets or ())]:
        if dataset not in DATASET_NAMES:
            raise ConfigError(f"{where}: dataset {dataset!r}: expected one of "
                              f"{', '.join(DATASET_NAMES)}")
    metric = raw.get("metric", "last")
    if metric not in METRICS:
        raise ConfigError(f"{where}: metric {metric!r}: expected one of {', '.join(METRICS)}")
    spec = SweepSpec(
        name=str(raw.get("name", path.stem)), title=str(raw.get("title", path.stem)),
        rows=rows, datasets=tuple(_list(raw.get("datasets"), f"{where}: datasets")),
        noise=_noise(raw.get("noise"), f"{where}: noise"),
        seeds=tuple(int(s) for s in _list(raw.get("seeds", [0]), f"{where}: seeds")),
        overrides=_mapping(raw.get("overrides", {}), f"{where}: overrides", None),
        published=_mapping(raw.get("published", {}), f"{where}: published", None),
        published_best=_mapping(raw.get("published_best", {}), f"{where}: published_best",
                                None),
        published_from=_mapping(raw.get("published_from", {}), f"{where}: published_from",
                                None),
        published_settings={str(k): str(v) for k, v in _mapping(
            raw.get("published_settings", {}), f"{where}: published_settings", None).items()},
        metric=metric, curve=str(raw.get("curve", "test_accuracy")),
        report=tuple(map(str, raw.get("report", []) or [])),
        source=str(raw.get("source", "")), processes=int(raw.get("processes", 1)),
        scale=scale, scales=tuple(scales), path=path)
    spec.cells()  # checks every noise setting
    return spec


def _row(raw, where: str, scale_flags: dict) -> Row:
    raw = _mapping(raw, where, ROW_KEYS)
    if "name" not in raw or "method" not in raw:
        raise ConfigError(f"{where}: a row needs a name and a method (null for a baseline shown "
                          "with the paper's numbers only)")
    flags = {**_mapping(raw.get("flags", {}), f"{where}: flags", None),
             **_mapping(scale_flags.get(raw["name"], {}), f"{where}: scale flags", None)}
    listed = {k: tuple(map(str, _list(raw[k], f"{where}: {k}"))) if k in raw else None
              for k in ("noise", "datasets")}
    return Row(name=str(raw["name"]), method=raw["method"], flags=flags,
               config=_config_path(raw.get("config")), **listed)


def _noise(value, where: str) -> tuple[str, ...] | dict:
    if isinstance(value, dict):
        return {str(d): tuple(map(str, _list(v, f"{where}.{d}"))) for d, v in value.items()}
    return tuple(map(str, _list(value, where)))


def _config_path(value) -> str | None:
    if value is None:
        return None
    path = Path(value)
    checkout = TABLES_DIR.parent / "configs" / path
    return str(checkout) if not path.is_absolute() and checkout.is_file() else str(path)


def _mapping(value, where: str, keys) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
    for key in value if keys is not None else ():
        if key not in keys:
            hint = closest(str(key), keys)
            raise ConfigError(f"{where}: unknown key {key!r}" + (
                f" (did you mean {hint!r}?)" if hint else f"; expected {', '.join(keys)}"))
    return dict(value)


def _list(value, where: str) -> list:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}: expected a non-empty list, got {value!r}")
    return value


def _unique(names: list[str], where: str) -> None:
    seen = {n for n in names if names.count(n) > 1}
    if seen:
        raise ConfigError(f"{where}: {', '.join(sorted(seen))} appear more than once")
