"""CIFAR-10 and CIFAR-100 read from their python-pickle folders, through torchvision."""

from __future__ import annotations

import codecs
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torchvision

from .base import ArrayImageDataset, check_labels

__all__ = ["load_cifar", "CIFAR_NAMES"]


class _CifarSpec(NamedTuple):
    reader: type  # the torchvision dataset class; its attributes name the files
    title: str
    num_classes: int
    label_key: str
    names_key: str


_SPECS = {
    "cifar10": _CifarSpec(torchvision.datasets.CIFAR10, "CIFAR-10", 10, "labels", "label_names"),
    "cifar100": _CifarSpec(
        torchvision.datasets.CIFAR100, "CIFAR-100", 100, "fine_labels", "fine_label_names"
    ),
}

#: The dataset names :func:`load_cifar` accepts.
CIFAR_NAMES = tuple(_SPECS)

_IMAGE_BYTES = 3 * 32 * 32

# What a CIFAR pickle may reference: numpy arrays and scalars (under their numpy 1 and 2 module
# names) and the codec Python 3 uses for bytes. Anything else is refused rather than executed.
_RECONSTRUCT = np.empty(0).__reduce__()[0]
_SCALAR = np.int64(0).__reduce__()[0]
_PICKLE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy.core.multiarray", "scalar"): _SCALAR,
    ("numpy._core.multiarray", "scalar"): _SCALAR,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,
}


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        try:
            return _PICKLE_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}") from None


def _spec(name: str) -> _CifarSpec:
    if name not in _SPECS:
        raise ValueError(f"unknown CIFAR dataset {name!r}: expected one of {list(_SPECS)}")
    return _SPECS[name]


def _expected_files(spec: _CifarSpec) -> list[str]:
    reader = spec.reader
    return [f for f, _ in reader.train_list + reader.test_list] + [reader.meta["filename"]]


def _check_folder(root: Path, spec: _CifarSpec) -> Path:
    """Return the pickle folder under ``root``, or raise naming what is missing there."""
    folder = root / spec.reader.base_folder
    expected = _expected_files(spec)
    hint = (
        f"expected the folder {spec.reader.base_folder}/ (from {spec.reader.filename}) holding "
        f"{', '.join(expected)}. Pass download=True (or --download in recipes) to fetch it."
    )
    if not root.is_dir():
        raise FileNotFoundError(f"{spec.title} root {root} does not exist: {hint}")
    if not folder.is_dir():
        raise FileNotFoundError(f"{spec.title} folder {folder} does not exist: {hint}")
    missing = [f for f in expected if not (folder / f).is_file()]
    if missing:
        raise FileNotFoundError(f"{spec.title} folder {folder} lacks {', '.join(missing)}: {hint}")
    return folder


def _unpickle_dict(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            # latin1, as torchvision does: the official files are Python 2 pickles.
            entry = _ArrayUnpickler(f, encoding="latin1").load()
    except Exception as e:
        raise ValueError(f"{path} is not a readable CIFAR pickle: {e}") from e
    if not isinstance(entry, dict):
        raise ValueError(f"{path} must hold a pickled dict, got {type(entry).__name__}")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in entry.items()}


def _read_batch(path: Path, spec: _CifarSpec) -> tuple[np.ndarray, np.ndarray]:
    label_key = spec.label_key
    entry = _unpickle_dict(path)
    missing = [k for k in ("data", label_key) if k not in entry]
    if missing:
        raise ValueError(f"{path} lacks the keys {missing}; it has {sorted(map(str, entry))}")
    data, labels = entry["data"], np.asarray(entry[label_key])
    if not (
        isinstance(data, np.ndarray)
        and data.dtype == np.uint8
        and data.ndim == 2
        and data.shape[1] == _IMAGE_BYTES
    ):
        got = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        raise ValueError(f"{path}: 'data' must be a uint8 array of shape (N, 3072), got {got}")
    if labels.ndim != 1 or len(labels) != len(data):
        raise ValueError(
            f"{path}: {label_key!r} must hold one label per image ({len(data)}), "
            f"got shape {labels.shape}"
        )
    return data, check_labels(labels, spec.num_classes, f"{path} {label_key}")


def _read_class_names(path: Path, key: str, num_classes: int) -> list[str]:
    entry = _unpickle_dict(path)
    names = entry.get(key)
    if names is None or len(names) != num_classes:
        raise ValueError(f"{path}: expected {num_classes} class names under {key!r}")
    return [n.decode("latin1") if isinstance(n, bytes) else str(n) for n in names]


def _read_pickles(folder: Path, spec: _CifarSpec, train: bool):
    files = spec.reader.train_list if train else spec.reader.test_list
    batches = [_read_batch(folder / f, spec) for f, _ in files]
    data = np.concatenate([d for d, _ in batches])
    labels = np.concatenate([lab for _, lab in batches])
    classes = _read_class_names(
        folder / spec.reader.meta["filename"], spec.names_key, spec.num_classes
    )
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels, classes


def load_cifar(
    root: str | Path,
    name: str = "cifar10",
    train: bool = True,
    transform: Callable | None = None,
    download: bool = False,
) -> ArrayImageDataset:
    """CIFAR-10 or CIFAR-100 as uint8 images of shape ``(N, 32, 32, 3)`` with their clean labels.

    ``root`` holds the extracted python version: ``cifar-10-batches-py/`` (``data_batch_1`` to
    ``data_batch_5``, ``test_batch``, ``batches.meta``) or ``cifar-100-python/`` (``train``,
    ``test``, ``meta``; the 100 fine labels are used). The files are read by torchvision, which
    checks them against the md5 sums of the official archive; files that differ (subsets,
    re-packed copies, test fixtures) are read by ignoise's own reader instead, which accepts
    only numpy arrays in the pickles and checks their layout.

    Args:
        root: the folder that holds ``cifar-10-batches-py/`` or ``cifar-100-python/``.
        name: ``"cifar10"`` or ``"cifar100"``.
        train: the 50,000 training images if true, else the 10,000 test images.
        transform: applied to each PIL image.
        download: let torchvision download and extract the archive into ``root`` when the
            files are missing or corrupted. Nothing is downloaded otherwise.

    Returns:
        An :class:`ArrayImageDataset` whose ``targets`` and ``clean_targets`` are the CIFAR
        labels and whose ``classes`` are the class names from the meta file.

    Raises:
        ValueError: for an unknown ``name`` or a malformed pickle (naming the file).
        FileNotFoundError: when ``root``, its sub-folder or one of the expected files is missing
            and ``download`` is false.

    Examples:
        >>> ds = load_cifar("data", "cifar10", train=True)  # doctest: +SKIP
        >>> ds.images.shape, ds.classes[0]  # doctest: +SKIP
        ((50000, 32, 32, 3), 'airplane')
    """
    spec = _spec(name)
    root = Path(root)
    if not download:
        _check_folder(root, spec)
    try:
        tv = spec.reader(str(root), train=train, download=download)
        images, labels, classes = tv.data, np.asarray(tv.targets), list(tv.classes)
    except RuntimeError:
        # torchvision's md5 check failed: read the files ourselves, which raises a precise error
        # if they are missing or malformed.
        images, labels, classes = _read_pickles(_check_folder(root, spec), spec, train)
    return ArrayImageDataset(
        np.ascontiguousarray(images),
        labels,
        spec.num_classes,
        clean_targets=labels,
        transform=transform,
        classes=classes,
    )
