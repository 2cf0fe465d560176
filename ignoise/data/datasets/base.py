"""The dataset base class every ignoise dataset derives from: it yields the batch contract."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ...noise.report import check_labels

__all__ = ["NoisyLabelDataset", "ArrayImageDataset", "FileImageDataset", "check_labels"]


class NoisyLabelDataset(torch.utils.data.Dataset):
    """A labelled dataset that yields the batch contract (docs/concepts.rst).

    Each item is a dict with ``x`` (the transformed input), ``y`` (the given, possibly noisy,
    label), ``index`` (the sample's id in this dataset) and, where the clean labels are known,
    ``y_clean`` (for diagnostics only: no step trains on it).

    Subclasses implement :meth:`load` (the raw input of sample ``i``).

    Args:
        targets: the given labels, one per sample.
        num_classes: number of classes ``K``; every label must lie in ``[0, K)``.
        clean_targets: the clean labels where known, else ``None``.
        transform: applied to the raw input of each sample.
        classes: optional class names.
    """

    def __init__(
        self,
        targets: Sequence[int] | np.ndarray,
        num_classes: int,
        *,
        clean_targets: Sequence[int] | np.ndarray | None = None,
        transform: Callable | None = None,
        classes: Sequence[str] | None = None,
    ) -> None:
        if num_classes < 2:
            raise ValueError(f"num_classes must be at least 2, got {num_classes}")
        self.num_classes = int(num_classes)
        self.targets = check_labels(np.asarray(targets), num_classes, "targets")
        self.clean_targets = None
        if clean_targets is not None:
            clean = check_labels(np.asarray(clean_targets), num_classes, "clean_targets")
            if len(clean) != len(self.targets):
                raise ValueError(
                    f"clean_targets has {len(clean)} labels but targets has {len(self.targets)}"
                )
            self.clean_targets = clean
        self.transform = transform
        self.classes = list(classes) if classes is not None else None

    def __len__(self) -> int:
        return len(self.targets)

    def load(self, i: int):  # pragma: no cover - abstract
        raise NotImplementedError

    def __getitem__(self, i: int) -> dict:
        x = self.load(i)
        if self.transform is not None:
            x = self.transform(x)
        item = {"x": x, "y": int(self.targets[i]), "index": int(i)}
        if self.clean_targets is not None:
            item["y_clean"] = int(self.clean_targets[i])
        return item

    def with_targets(self, targets: Sequence[int] | np.ndarray) -> NoisyLabelDataset:
        """A shallow copy that gives ``targets`` and keeps the current labels as the clean ones.

        Used to corrupt a clean dataset: ``ds.with_targets(noise.noisy)``. If the dataset already
        knows its clean labels, those are kept.
        """
        targets = check_labels(np.asarray(targets), self.num_classes, "targets")
        if len(targets) != len(self):
            raise ValueError(f"got {len(targets)} targets for a dataset of {len(self)} samples")
        out = copy.copy(self)
        out.clean_targets = self.clean_targets if self.clean_targets is not None else self.targets
        out.targets = targets
        return out

    def with_transform(self, transform: Callable | None) -> NoisyLabelDataset:
        """A shallow copy with another transform (e.g. the evaluation one)."""
        out = copy.copy(self)
        out.transform = transform
        return out


class ArrayImageDataset(NoisyLabelDataset):
    """Images held in memory as a uint8 array of shape ``(N, H, W, C)``.

    :meth:`load` returns a PIL image (mode ``L`` for one channel, ``RGB`` for three), so the
    usual torchvision transforms apply. The raw array stays available as :attr:`images` for the
    GPU-resident loader and the FFCV writer.
    """

    def __init__(self, images: np.ndarray, targets, num_classes: int, **kwargs) -> None:
        images = np.asarray(images)
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] not in (1, 3):
            raise ValueError(
                f"images must be a uint8 array of shape (N, H, W, 1 or 3), got {images.dtype} "
                f"{images.shape}"
            )
        super().__init__(targets, num_classes, **kwargs)
        if len(images) != len(self.targets):
            raise ValueError(f"{len(images)} images but {len(self.targets)} targets")
        self.images = images

    def load(self, i: int) -> Image.Image:
        img = self.images[i]
        return Image.fromarray(img[..., 0] if img.shape[-1] == 1 else img)


class FileImageDataset(NoisyLabelDataset):
    """Images read from files (JPEG, PNG) on each access, converted to RGB."""

    def __init__(self, paths: Sequence[str | Path], targets, num_classes: int, **kwargs) -> None:
        super().__init__(targets, num_classes, **kwargs)
        if len(paths) != len(self.targets):
            raise ValueError(f"{len(paths)} image paths but {len(self.targets)} targets")
        self.paths = [Path(p) for p in paths]

    def load(self, i: int) -> Image.Image:
        with Image.open(self.paths[i]) as img:
            return img.convert("RGB")
