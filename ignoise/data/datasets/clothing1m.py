"""Clothing1M (Xiao et al., 2015): a million clothing photos labelled from their shops' web text.

The root holds the images under ``images/`` and five text files: two label files (``key label``
per line, the key being the image's path relative to the root) and three key lists (one key per
line) that define the splits::

    noisy_label_kv.txt        images/0/12/xxx.jpg 3   (the ~1M noisy web labels)
    clean_label_kv.txt        images/9/34/yyy.jpg 11  (the ~72k human-checked labels)
    noisy_train_key_list.txt  images/0/12/xxx.jpg     (the noisy training set)
    clean_val_key_list.txt    ...                     (14,313 clean validation images)
    clean_test_key_list.txt   ...                     (10,526 clean test images)
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from .base import FileImageDataset
from .label_files import read_path_labels

__all__ = [
    "load_clothing1m", "read_label_kv", "read_key_list", "CLOTHING1M_CLASSES",
    "CLOTHING1M_FILES", "CLOTHING1M_SPLITS",
]

#: The class of each label 0-13, as in the dataset's ``category_names_eng.txt``.
CLOTHING1M_CLASSES = (
    "T-Shirt", "Shirt", "Knitwear", "Chiffon", "Sweater", "Hoodie", "Windbreaker", "Jacket",
    "Downcoat", "Suit", "Shawl", "Dress", "Vest", "Underwear",
)

#: The five text files expected in the root.
CLOTHING1M_FILES = (
    "noisy_label_kv.txt", "clean_label_kv.txt", "noisy_train_key_list.txt",
    "clean_val_key_list.txt", "clean_test_key_list.txt",
)

#: For each split, its key list and the label file its labels come from.
CLOTHING1M_SPLITS = {
    "train": ("noisy_train_key_list.txt", "noisy_label_kv.txt"),
    "val": ("clean_val_key_list.txt", "clean_label_kv.txt"),
    "test": ("clean_test_key_list.txt", "clean_label_kv.txt"),
}

_IMAGES = "images"


def _check_root(root: Path, needed: list[str]) -> None:
    hint = (
        f"expected the folder {_IMAGES}/ and the five files {', '.join(CLOTHING1M_FILES)}"
    )
    if not root.is_dir():
        raise FileNotFoundError(f"Clothing1M root {root} does not exist: {hint}")
    missing = [f for f in needed if not (root / f).is_file()]
    if missing:
        raise FileNotFoundError(f"Clothing1M root {root} lacks {', '.join(missing)}: {hint}")
    if not (root / _IMAGES).is_dir():
        raise FileNotFoundError(f"Clothing1M image folder {root / _IMAGES} does not exist: {hint}")


def read_label_kv(path: str | Path, num_classes: int = len(CLOTHING1M_CLASSES)) -> dict[str, int]:
    """Read a Clothing1M label file: one ``<relative image path> <label>`` per line.

    Args:
        path: ``noisy_label_kv.txt`` or ``clean_label_kv.txt``.
        num_classes: labels must lie in ``[0, num_classes)``.

    Returns:
        Each key mapped to its label. Blank lines are skipped.

    Raises:
        ValueError: for a line that is not a key and an integer label in range, naming the file
            and the line number.

    Examples:
        >>> labels = read_label_kv("data/clothing1m/clean_label_kv.txt")  # doctest: +SKIP
        >>> len(labels)  # doctest: +SKIP
        72409
    """
    paths, labels = read_path_labels(path, num_classes)
    return dict(zip(paths, labels.tolist()))


def read_key_list(path: str | Path) -> list[str]:
    """Read a Clothing1M key list: one relative image path per line (blank lines skipped).

    Raises:
        ValueError: for a line holding more than one field, naming the file and line number.

    Examples:
        >>> keys = read_key_list("data/clothing1m/clean_test_key_list.txt")  # doctest: +SKIP
        >>> len(keys)  # doctest: +SKIP
        10526
    """
    path = Path(path)
    keys = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            fields = line.split()
            if len(fields) > 1:
                raise ValueError(
                    f"{path}:{number}: expected one image path per line, got {line.strip()!r}"
                )
            keys.extend(fields)
    return keys


def _labels_of(keys: list[str], labels: dict[str, int], keys_file: Path, kv_file: Path):
    missing = [k for k in keys if k not in labels]
    if missing:
        raise ValueError(
            f"{len(missing)} keys of {keys_file} have no label in {kv_file}, e.g. {missing[0]!r}"
        )
    return np.fromiter((labels[k] for k in keys), dtype=np.int64, count=len(keys))


def load_clothing1m(
    root: str | Path,
    split: str = "train",
    transform: Callable | None = None,
    num_samples_per_epoch: int | None = None,
) -> FileImageDataset:
    """One split of Clothing1M: the noisy training set, or the clean validation or test set.

    ``train`` is the keys of ``noisy_train_key_list.txt`` with their noisy labels from
    ``noisy_label_kv.txt``; ``val`` and ``test`` are the keys of the clean key lists with their
    labels from ``clean_label_kv.txt``, which are also their ``clean_targets``.

    About 25k training images also appear in ``clean_label_kv.txt``. Their clean labels are
    kept in the attribute ``overlap_clean_labels`` (int64, ``-1`` where unknown) but *not* as
    ``clean_targets``: the batch contract gives ``y_clean`` for all samples or none, and
    diagnostics (noise rates, detection precision) computed on 2.5% of the set would pass for
    figures of the whole. The training set's ``clean_targets`` is therefore ``None``.

    Training on a fresh class-balanced subset each epoch (as DivideMix does, 64,000 images) is
    an option: ``num_samples_per_epoch`` is stored as the attribute of that name, and the
    recipe builds the loader's sampler from it with
    ``ClassBalancedSubsetSampler(ds.targets, ds.num_samples_per_epoch, seed, rank, world_size)``
    (:mod:`ignoise.data.samplers.balanced`). ``None`` means the whole set every epoch.

    Image files are not opened here (a million ``stat`` calls would take minutes on a network
    disk); a missing image fails when it is first loaded, naming its path.

    Args:
        root: the folder holding ``images/`` and the five text files.
        split: ``"train"``, ``"val"`` or ``"test"``.
        transform: applied to each PIL image (RGB).
        num_samples_per_epoch: for ``"train"`` only, the size of the per-epoch class-balanced
            subset, or ``None``.

    Returns:
        A :class:`FileImageDataset` with 14 classes (:data:`CLOTHING1M_CLASSES`) and the
        attributes ``keys`` (the relative image paths), ``overlap_clean_labels`` and
        ``num_samples_per_epoch``.

    Raises:
        ValueError: for an unknown ``split``, a ``num_samples_per_epoch`` that is not positive
            or is given for an evaluation split, a malformed line (naming the file and line
            number), or keys missing from the label file (naming one).
        FileNotFoundError: when ``root``, ``images/`` or a file the split needs is missing,
            listing the five files expected.

    Examples:
        >>> root = "data/clothing1m"
        >>> train = load_clothing1m(root, "train", num_samples_per_epoch=64000)  # doctest: +SKIP
        >>> test = load_clothing1m(root, "test")  # doctest: +SKIP
        >>> len(test), test.classes[0], train.clean_targets is None  # doctest: +SKIP
        (10526, 'T-Shirt', True)
    """
    if split not in CLOTHING1M_SPLITS:
        raise ValueError(
            f"unknown Clothing1M split {split!r}: expected one of {list(CLOTHING1M_SPLITS)}"
        )
    if num_samples_per_epoch is not None:
        if split != "train":
            raise ValueError(
                f"num_samples_per_epoch subsamples the training set; got "
                f"{num_samples_per_epoch} for the {split!r} split"
            )
        if num_samples_per_epoch <= 0:
            raise ValueError(f"num_samples_per_epoch must be positive, got {num_samples_per_epoch}")
    root = Path(root)
    keys_name, kv_name = CLOTHING1M_SPLITS[split]
    needed = [keys_name, kv_name] + (["clean_label_kv.txt"] if split == "train" else [])
    _check_root(root, needed)
    keys = read_key_list(root / keys_name)
    if not keys:
        raise ValueError(f"Clothing1M key list {root / keys_name} lists no images")
    labels = _labels_of(keys, read_label_kv(root / kv_name), root / keys_name, root / kv_name)
    if split == "train":
        clean = read_label_kv(root / "clean_label_kv.txt")
        overlap = np.fromiter((clean.get(k, -1) for k in keys), dtype=np.int64, count=len(keys))
        clean_targets = None
    else:
        overlap = labels.copy()
        clean_targets = labels
    ds = FileImageDataset(
        [root / k for k in keys],
        labels,
        len(CLOTHING1M_CLASSES),
        clean_targets=clean_targets,
        transform=transform,
        classes=CLOTHING1M_CLASSES,
    )
    ds.keys = keys
    ds.overlap_clean_labels = overlap
    ds.num_samples_per_epoch = num_samples_per_epoch
    ds.sample_fields = ("paths", "keys", "overlap_clean_labels")  # what subset() takes rows of
    return ds
