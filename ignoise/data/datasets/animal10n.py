"""Animal-10N (Song et al., 2019): 64x64 animal photos with real human label noise.

The dataset comes as two folders of JPEGs, ``training/`` (50,000 images) and ``testing/``
(5,000 images), whose label is the prefix of each file name: ``<label>_<id>.jpg``. The labels are
the annotators' (noisy) ones and no clean labels exist, so ``clean_targets`` is ``None``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .base import FileImageDataset

__all__ = ["load_animal10n", "ANIMAL10N_CLASSES", "ANIMAL10N_FOLDERS"]

#: The class of each label 0-9, as given on the dataset's page (dm.kaist.ac.kr/datasets/animal-10n,
#: "0: Cat ... 9: Guinea pig"); the five pairs of look-alikes are (0, 1), (2, 3), (4, 5), (6, 7)
#: and (8, 9).
ANIMAL10N_CLASSES = (
    "cat", "lynx", "wolf", "coyote", "cheetah", "jaguar", "chimpanzee", "orangutan", "hamster",
    "guinea pig",
)

#: The folder of each split under the dataset's root.
ANIMAL10N_FOLDERS = {True: "training", False: "testing"}

_PATTERN = "<label>_<id>.jpg"
_NAME = re.compile(r"(\d+)_(\d+)\.jpe?g", re.IGNORECASE)


def _check_root(root: Path, folder: Path) -> None:
    hint = (
        f"expected the folders {ANIMAL10N_FOLDERS[True]}/ and {ANIMAL10N_FOLDERS[False]}/ "
        f"holding JPEGs named {_PATTERN}"
    )
    if not root.is_dir():
        raise FileNotFoundError(f"Animal-10N root {root} does not exist: {hint}")
    if not folder.is_dir():
        raise FileNotFoundError(f"Animal-10N folder {folder} does not exist: {hint}")


def _parse_names(folder: Path, names: list[str]) -> np.ndarray:
    """The label of each file name, or a ValueError naming the first name that does not parse."""
    num_classes = len(ANIMAL10N_CLASSES)
    labels = np.empty(len(names), dtype=np.int64)
    for i, name in enumerate(names):
        match = _NAME.fullmatch(name)
        if match is None:
            raise ValueError(
                f"Animal-10N file {folder / name} does not match the pattern {_PATTERN} "
                f"(e.g. 0_00001.jpg)"
            )
        label = int(match.group(1))
        if label >= num_classes:
            raise ValueError(
                f"Animal-10N file {folder / name} has label {label}: expected a class in "
                f"[0, {num_classes})"
            )
        labels[i] = label
    return labels


def load_animal10n(
    root: str | Path, train: bool = True, transform: Callable | None = None
) -> FileImageDataset:
    """Animal-10N's training or test images with their human (noisy) labels.

    ``root`` holds ``training/`` and ``testing/``, each a flat folder of 64x64 JPEGs named
    ``<label>_<id>.jpg`` (e.g. ``3_01234.jpg`` is a coyote). Samples are ordered by file name,
    so the indices are the same on every machine. Hidden files (``.DS_Store``) are skipped;
    any other name that does not follow the pattern is an error rather than silently dropped,
    since it means the folder is not the one expected.

    Args:
        root: the folder that holds ``training/`` and ``testing/``.
        train: the training images if true, else the test images.
        transform: applied to each PIL image (RGB).

    Returns:
        A :class:`FileImageDataset` with 10 classes (:data:`ANIMAL10N_CLASSES`), ``targets`` the
        labels read from the file names and ``clean_targets`` ``None``.

    Raises:
        FileNotFoundError: when ``root`` or the split's folder is missing, or the folder holds
            no images.
        ValueError: for a file name that does not follow ``<label>_<id>.jpg`` or whose label is
            outside 0-9 (naming the file).

    Examples:
        >>> ds = load_animal10n("data/animal10n", train=True)  # doctest: +SKIP
        >>> len(ds), ds.classes[3], ds.clean_targets is None  # doctest: +SKIP
        (50000, 'coyote', True)
    """
    root = Path(root)
    folder = root / ANIMAL10N_FOLDERS[bool(train)]
    _check_root(root, folder)
    names = sorted(n for n in os.listdir(folder) if not n.startswith("."))
    if not names:
        raise FileNotFoundError(
            f"Animal-10N folder {folder} holds no images: expected JPEGs named {_PATTERN}"
        )
    labels = _parse_names(folder, names)
    return FileImageDataset(
        [folder / n for n in names],
        labels,
        len(ANIMAL10N_CLASSES),
        transform=transform,
        classes=ANIMAL10N_CLASSES,
    )
