"""The embedded default data: scikit-learn's bundled handwritten digits, 8x8 one-channel images."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from .base import ArrayImageDataset

__all__ = ["load_digits_dataset", "DIGITS_NUM_TRAIN"]

#: 1,797 images split 80/20, stratified by class, with a fixed permutation (seed 0).
DIGITS_NUM_TRAIN = 1437
_SPLIT_SEED = 0


def _fixed_split(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    train, test = train_test_split(
        np.arange(len(labels)), test_size=360, stratify=labels, random_state=_SPLIT_SEED
    )
    return np.sort(train), np.sort(test)


def load_digits_dataset(train: bool = True, transform=None) -> ArrayImageDataset:
    """The digits as uint8 images of shape ``(N, 8, 8, 1)`` (pixel values 0-16 scaled to 0-255).

    The train/test split is fixed: 1,437 training and 360 test images, stratified by class.
    The clean labels are known, so items carry ``y_clean``.

    Examples:
        >>> ds = load_digits_dataset(train=True)
        >>> len(ds), ds.images.shape[1:]
        (1437, (8, 8, 1))
    """
    bunch = load_digits()
    images = np.round(bunch.images * (255.0 / 16.0)).astype(np.uint8)[..., None]
    labels = bunch.target.astype(np.int64)
    train_idx, test_idx = _fixed_split(labels)
    idx = train_idx if train else test_idx
    return ArrayImageDataset(
        images[idx],
        labels[idx],
        10,
        clean_targets=labels[idx],
        transform=transform,
        classes=[str(c) for c in range(10)],
    )
