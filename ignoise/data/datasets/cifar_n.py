"""CIFAR-10N and CIFAR-100N: the CIFAR training images with real human annotations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from .base import ArrayImageDataset, check_labels
from .cifar import load_cifar

__all__ = ["load_cifar_n", "read_human_labels", "CIFAR_N_FILES", "CIFAR_N_LABEL_SETS"]

#: The file of human labels each dataset reads, as published by the CIFAR-N authors.
CIFAR_N_FILES = {"cifar10n": "CIFAR-10_human.pt", "cifar100n": "CIFAR-100_human.pt"}

#: For each dataset, the label sets it offers and the key of each in its file.
CIFAR_N_LABEL_SETS = {
    "cifar10n": {
        "aggre": "aggre_label",
        "worse": "worse_label",
        "random1": "random_label1",
        "random2": "random_label2",
        "random3": "random_label3",
    },
    "cifar100n": {"noisy100": "noisy_label"},
}

_CIFAR_NAME = {"cifar10n": "cifar10", "cifar100n": "cifar100"}
_DEFAULT_LABEL_SET = {"cifar10n": "aggre", "cifar100n": "noisy100"}

# The files are dicts of numpy arrays; allowing numpy's array reconstruction (under its numpy 1
# and 2 names) and the numeric dtypes lets torch.load keep weights_only=True.
_RECONSTRUCT = np.empty(0).__reduce__()[0]
_NUMPY_GLOBALS = [
    (_RECONSTRUCT, "numpy.core.multiarray._reconstruct"),
    (_RECONSTRUCT, "numpy._core.multiarray._reconstruct"),
    np.ndarray,
    np.dtype,
    *sorted({type(np.dtype(c)) for c in "?bhilqBHILQefd"}, key=lambda t: t.__name__),
]


def read_human_labels(path: str | Path) -> dict[str, np.ndarray]:
    """Read a CIFAR-N label file (a dict of label arrays saved by ``torch.save``).

    The file is loaded with ``weights_only=True``: only numpy arrays and tensors are rebuilt,
    nothing else in the pickle is executed.

    Args:
        path: a ``CIFAR-10_human.pt`` or ``CIFAR-100_human.pt`` file.

    Returns:
        Each key of the file mapped to its labels as a numpy array.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if the file is not a dict of arrays.

    Examples:
        >>> labels = read_human_labels("data/CIFAR-10_human.pt")  # doctest: +SKIP
        >>> sorted(labels)[:2]  # doctest: +SKIP
        ['aggre_label', 'clean_label']
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"CIFAR-N label file {path} does not exist")
    try:
        with torch.serialization.safe_globals(_NUMPY_GLOBALS):
            content = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch.load fails in many ways on a foreign file
        raise ValueError(f"{path} is not a CIFAR-N label file (a dict of label arrays): {e}") from e
    if not isinstance(content, dict):
        raise ValueError(f"{path} must hold a dict of label arrays, got {type(content).__name__}")
    out = {}
    for key, value in content.items():
        if not isinstance(value, (np.ndarray, torch.Tensor)):
            raise ValueError(f"{path}: {key!r} must be an array, got {type(value).__name__}")
        out[str(key)] = value.numpy() if isinstance(value, torch.Tensor) else value
    return out


def _label_set_key(name: str, label_set: str | None) -> str:
    if name not in CIFAR_N_LABEL_SETS:
        raise ValueError(f"unknown CIFAR-N dataset {name!r}: expected one of {list(_CIFAR_NAME)}")
    sets = CIFAR_N_LABEL_SETS[name]
    label_set = _DEFAULT_LABEL_SET[name] if label_set is None else label_set
    if label_set not in sets:
        raise ValueError(
            f"label_set {label_set!r} is not offered by {name}: expected one of {list(sets)}"
        )
    return sets[label_set]


def load_cifar_n(
    root: str | Path,
    name: str = "cifar10n",
    label_set: str | None = None,
    train: bool = True,
    transform: Callable | None = None,
    labels_file: str | Path | None = None,
    download: bool = False,
) -> ArrayImageDataset:
    """The CIFAR training set with the human labels of CIFAR-10N or CIFAR-100N as targets.

    CIFAR-10N offers the majority vote of three annotators (``aggre``, about 9% noise), each
    annotator alone (``random1`` to ``random3``, about 17%) and the worst of the three
    (``worse``, about 40%); CIFAR-100N offers one annotation (``noisy100``, about 40%). The CIFAR
    labels stay as ``clean_targets``. The test set has no human labels: ``train=False`` returns
    the clean CIFAR test set.

    Args:
        root: the folder holding the CIFAR pickle folder (see :func:`load_cifar`) and, unless
            ``labels_file`` is given, ``CIFAR-10_human.pt`` or ``CIFAR-100_human.pt``.
        name: ``"cifar10n"`` or ``"cifar100n"``.
        label_set: which annotation to train on; ``None`` picks ``"aggre"`` for CIFAR-10N and
            ``"noisy100"`` for CIFAR-100N.
        train: the training set with human labels if true, else the clean test set.
        transform: applied to each PIL image.
        labels_file: the label file, if it does not lie in ``root``.
        download: passed to :func:`load_cifar` for the images; the label file is never
            downloaded.

    Returns:
        An :class:`ArrayImageDataset` whose ``targets`` are the chosen human labels.

    Raises:
        ValueError: for an unknown ``name``, a ``label_set`` the dataset does not offer, or a
            label file that does not fit the CIFAR training set (length, range, clean labels).
        FileNotFoundError: if the label file or the CIFAR files are missing.

    Examples:
        >>> ds = load_cifar_n("data", "cifar10n", label_set="worse")  # doctest: +SKIP
        >>> float((ds.targets != ds.clean_targets).mean())  # doctest: +SKIP
        0.4021
    """
    key = _label_set_key(name, label_set)
    cifar_name = _CIFAR_NAME[name]
    if not train:
        return load_cifar(root, cifar_name, train=False, transform=transform, download=download)

    path = Path(labels_file) if labels_file is not None else Path(root) / CIFAR_N_FILES[name]
    if not path.is_file():
        raise FileNotFoundError(
            f"{name} label file {path} does not exist: expected {CIFAR_N_FILES[name]} from the "
            f"CIFAR-N release (github.com/UCSC-REAL/cifar-10-100n) in {Path(root)} or "
            "passed as labels_file"
        )
    labels = read_human_labels(path)
    cifar = load_cifar(root, cifar_name, train=True, transform=transform, download=download)
    for needed in ("clean_label", key):
        if needed not in labels:
            raise ValueError(f"{path} lacks {needed!r}; it holds {sorted(labels)}")
        if labels[needed].shape != cifar.targets.shape:
            raise ValueError(
                f"{path}: {needed!r} has shape {labels[needed].shape} but the {cifar_name} "
                f"training set has {len(cifar)} images; the files do not match"
            )
    clean = check_labels(labels["clean_label"], cifar.num_classes, f"{path} clean_label")
    noisy = check_labels(labels[key], cifar.num_classes, f"{path} {key}")
    differ = np.flatnonzero(clean != cifar.targets)
    if differ.size:
        raise ValueError(
            f"{path} does not match the {cifar_name} training set in {root}: its clean_label "
            f"differs from the CIFAR labels at {differ.size} of {len(cifar)} images (first at "
            f"index {differ[0]}); the files do not match"
        )
    return cifar.with_targets(noisy)
