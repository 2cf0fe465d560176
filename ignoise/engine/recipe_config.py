"""The shared recipe flags and the YAML configs they override.

A config file (``recipes/configs/<method>.yaml``) has a ``defaults`` mapping and a ``datasets``
mapping of per-dataset overrides::

    defaults: {model: preact_resnet18, epochs: 200, batch_size: 128, lr: 0.02}
    datasets:
      digits: {model: digits_cnn, epochs: 30, batch_size: 64}

The resolved config is ``defaults``, then the dataset's section, then every flag given on the
command line (flags default to ``None`` so that unset ones do not override the file).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from types import SimpleNamespace

import yaml

__all__ = ["recipe_parser", "resolve_config", "SHARED_DEFAULTS"]

#: Values every recipe has even when its config file does not set them.
SHARED_DEFAULTS = {
    "dataset": "digits",
    "data_root": "data",
    "noise": "none",
    "noise_rate": 0.0,
    "seed": 0,
    "output_dir": "runs/latest",
    "resume": False,
    "loader": "torch",
    "num_workers": 0,
    "mixed_precision": "no",
    "cpu": False,
    "download": False,
    "progress": True,
    "log_every": 20,
    "eval_batch_size": None,
    "noise_options": {},
    "cache_dir": None,
}


def recipe_parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the shared recipe flags of DESIGN.md ("Run outputs").

    A recipe adds its own flags (default ``None``) before parsing.
    """
    p = argparse.ArgumentParser(description=description)
    add = p.add_argument
    add("--config", type=Path, help="YAML config (default: the recipe's own)")
    add("--dataset", help="digits, cifar10, cifar100, cifar10n, cifar100n, ...")
    add("--data-root", help="folder that holds the dataset's files")
    add("--noise", help="none, sym, asym, pairflip, instance (synthetic label noise)")
    add("--noise-rate", type=float, help="noise rate in [0, 1)")
    add("--epochs", type=int)
    add("--batch-size", type=int)
    add("--lr", type=float)
    add("--seed", type=int)
    add("--output-dir", help="where results.json, checkpoints and TensorBoard events go")
    add("--resume", action="store_true", default=None,
        help="continue the run in --output-dir from its last checkpoint")
    add("--loader", help="torch, gpu or ffcv")
    add("--num-workers", type=int)
    add("--cache-dir", help="folder of the ffcv loader's .beton files")
    add("--mixed-precision", help="no, fp16 or bf16 (accelerate launch may set it)")
    add("--cpu", action="store_true", default=None, help="run on the CPU even if a GPU is there")
    add("--download", action="store_true", default=None, help="download CIFAR if missing")
    add("--no-progress", dest="progress", action="store_false", default=None)
    add("--log-every", type=int)
    return p


def resolve_config(args: argparse.Namespace, default_config: str | Path) -> SimpleNamespace:
    """Merge the shared defaults, the config file and the command line.

    Raises:
        FileNotFoundError: the config file does not exist.
        ValueError: the file is not a mapping with ``defaults``/``datasets``, or has no section
            for a dataset other than the defaults can serve.
    """
    path = Path(args.config or default_config)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} does not exist")
    raw = yaml.safe_load(path.read_text()) or {}
    if not isinstance(raw, dict) or not set(raw) <= {"method", "defaults", "datasets"}:
        raise ValueError(
            f"config {path} must be a mapping with keys among method, defaults, datasets; "
            f"got {sorted(raw) if isinstance(raw, dict) else type(raw).__name__}"
        )
    values = {**SHARED_DEFAULTS, **(raw.get("defaults") or {})}
    cli = {k: v for k, v in vars(args).items() if v is not None and k != "config"}
    dataset = cli.get("dataset", values["dataset"])
    sections = raw.get("datasets") or {}
    if dataset in sections:
        values.update(sections[dataset] or {})
    values.update(cli)
    values["config_path"] = str(path)
    _check_ranges(values)
    return SimpleNamespace(**values)


def _check_ranges(values: dict) -> None:
    for key in ("epochs", "batch_size"):
        if key in values and (not isinstance(values[key], int) or values[key] < 1):
            raise ValueError(f"{key} must be a positive integer, got {values[key]!r}")
    if "lr" in values and not values["lr"] > 0:
        raise ValueError(f"lr must be positive, got {values['lr']!r}")
    rate = values.get("noise_rate")
    if rate is not None and not 0.0 <= float(rate) < 1.0:
        raise ValueError(f"noise rate {rate} is outside [0, 1)")
