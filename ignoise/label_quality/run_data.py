"""The training set of a finished run, rebuilt from its ``run.json`` and checked against the
labels its evidence records (to show the images of the suspected mislabels)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .evidence import EvidenceError

__all__ = ["read_run_identity", "run_training_set"]

RUN_IDENTITY = "run.json"


def read_run_identity(run_dir: str | Path) -> dict:
    """``RUN_DIR/run.json``: the run's method and resolved config.

    Raises:
        FileNotFoundError: the folder has no ``run.json``.
        EvidenceError: it is not JSON with a ``config`` holding ``dataset``.
    """
    path = Path(run_dir) / RUN_IDENTITY
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: the run's settings are needed to "
                                "rebuild its training images")
    try:
        identity = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise EvidenceError(f"{path}: not readable as JSON ({err})") from None
    if not isinstance(identity, dict) or "dataset" not in identity.get("config", {}):
        raise EvidenceError(f"{path}: expected {{'method': ..., 'config': {{'dataset': ..., "
                            "...}}}, the run.json a run writes")
    return identity


def run_training_set(run_dir: str | Path, given_label: np.ndarray, *,
                     data_root: str | Path | None = None):
    """The run's training set, with the noisy labels it trained on, checked against
    ``given_label``.

    The set is rebuilt as the run built it: :func:`ignoise.data.build_noisy_data` with the
    dataset, data root, noise, rate, seed and noise options of ``run.json``, less the samples
    its ``val_fraction`` held out (:meth:`ignoise.data.NoisyData.hold_out`).

    Args:
        run_dir: the run's folder (holding ``run.json``).
        given_label: ``(N,)`` the labels the run's evidence records.
        data_root: the dataset's folder, when not where ``run.json`` says (it is saved as the
            run was given it, often relative to where the run was launched).

    Returns:
        The training set (an ignoise dataset: ``targets``, ``classes``, and ``images`` or
        ``paths`` for image data).

    Raises:
        FileNotFoundError: no ``run.json``, or the dataset's files are missing.
        ValueError: the dataset is not one of ``ignoise.data.DATASETS`` (a run given its own
            data), or ``run.json``'s settings are rejected.
        EvidenceError: the rebuilt labels differ from ``given_label`` (the data, or the noise
            draw, changed since the run).
    """
    from ..data import DATASETS, build_noisy_data

    identity = read_run_identity(run_dir)
    cfg, labels = identity["config"], identity.get("labels", {})
    name = cfg["dataset"]
    if name not in DATASETS:
        raise ValueError(f"the run trained on dataset {name!r}, which ignoise cannot rebuild by "
                         f"name (expected one of {', '.join(DATASETS)})")
    root = data_root if data_root is not None else cfg.get("data_root", "data")
    data = build_noisy_data(name, root, noise=cfg.get("noise", "none"),
                            noise_rate=cfg.get("noise_rate", 0.0), seed=cfg.get("seed", 0),
                            label_set=labels.get("label_set", cfg.get("label_set")),
                            noise_options=labels.get("noise_options",
                                                     cfg.get("noise_options")) or None)
    if cfg.get("val_fraction"):  # the evidence indexes the samples trained on
        data = data.hold_out(cfg["val_fraction"], cfg.get("seed", 0))
    targets = np.asarray(data.train.targets)
    where = Path(run_dir) / RUN_IDENTITY
    if len(targets) != len(given_label):
        raise EvidenceError(
            f"{where}: the rebuilt {name} training set has {len(targets)} samples but the "
            f"evidence has {len(given_label)}: the data changed since the run"
        )
    differ = np.flatnonzero(targets != given_label)
    if differ.size:
        i = int(differ[0])
        raise EvidenceError(
            f"{where}: the rebuilt {name} training labels differ from the evidence's given_label "
            f"at {differ.size} of {len(targets)} samples (first: index {i}, rebuilt "
            f"{int(targets[i])}, evidence {int(given_label[i])}): the data or the noise draw "
            "changed since the run; pass --no-grid to skip the images"
        )
    return data.train
