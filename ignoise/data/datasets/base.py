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

    #: The attributes besides the labels that hold one entry per sample (the inputs, their
    #: paths): what :meth:`subset` takes the rows of. ``None``: unknown, so the dataset cannot
    #: be subset.
    sample_fields: tuple[str, ...] | None = None

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

    def subset(self, indices: Sequence[int] | np.ndarray) -> NoisyLabelDataset:
        """A shallow copy holding only the samples ``indices``, in that order.

        The copy is re-indexed: its item ``j`` is this dataset's item ``indices[j]``, with
        ``index`` ``j``, so per-sample state of length ``len(subset)`` indexed by ``index``
        stays dense. The labels, clean labels and every attribute named in
        :attr:`sample_fields` are taken row by row; everything else (transform, classes) is
        shared.

        Args:
            indices: 1-D integer positions in ``[0, len(self))``.

        Raises:
            TypeError: the dataset's class does not declare :attr:`sample_fields`, or
                ``indices`` is a boolean mask or not integers.
            ValueError: ``indices`` is not 1-D or has a position out of range.

        Examples:
            >>> import numpy as np
            >>> ds = ArrayImageDataset(np.zeros((5, 2, 2, 1), np.uint8), [0, 1, 0, 1, 1], 2)
            >>> part = ds.subset([4, 1])
            >>> part.targets.tolist(), part[1]["index"], len(part.images)
            ([1, 1], 1, 2)
        """
        if self.sample_fields is None:
            raise TypeError(
                f"{type(self).__name__} cannot be subset: it does not declare which attributes "
                f"hold one entry per sample (set its class attribute sample_fields, e.g. "
                f"('images',))"
            )
        indices = _check_indices(indices, len(self))
        out = copy.copy(self)
        out.targets = self.targets[indices]
        if self.clean_targets is not None:
            out.clean_targets = self.clean_targets[indices]
        for name in self.sample_fields:
            setattr(out, name, _take(getattr(self, name), indices))
        return out


def _check_indices(indices, n: int) -> np.ndarray:
    """``indices`` as int64 after checking they are 1-D integer positions in ``[0, n)``."""
    indices = np.asarray(indices)
    if indices.dtype == np.bool_:
        raise TypeError("subset takes integer positions, got a boolean mask: pass "
                        "np.flatnonzero(mask)")
    if indices.ndim != 1:
        raise ValueError(f"subset takes 1-D positions, got shape {indices.shape}")
    if indices.size and not np.issubdtype(indices.dtype, np.integer):
        raise TypeError(f"subset takes integer positions, got dtype {indices.dtype}")
    bad = (indices < 0) | (indices >= n)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"subset position indices[{i}] = {int(indices[i])} is out of range: "
                         f"expected [0, {n})")
    return indices.astype(np.int64)


def _take(values, indices: np.ndarray):
    """The rows ``indices`` of an array, a tensor or a list."""
    if isinstance(values, torch.Tensor):
        return values[torch.as_tensor(indices, device=values.device)]
    if isinstance(values, np.ndarray):
        return values[indices]
    return [values[i] for i in indices]


class ArrayImageDataset(NoisyLabelDataset):
    """Images held in memory as a uint8 array of shape ``(N, H, W, C)``.

    :meth:`load` returns a PIL image (mode ``L`` for one channel, ``RGB`` for three), so the
    usual torchvision transforms apply. The raw array stays available as :attr:`images` for the
    GPU-resident loader and the FFCV writer.
    """

    sample_fields = ("images",)

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

    sample_fields = ("paths",)

    def __init__(self, paths: Sequence[str | Path], targets, num_classes: int, **kwargs) -> None:
        super().__init__(targets, num_classes, **kwargs)
        if len(paths) != len(self.targets):
            raise ValueError(f"{len(paths)} image paths but {len(self.targets)} targets")
        self.paths = [Path(p) for p in paths]

    def load(self, i: int) -> Image.Image:
        with Image.open(self.paths[i]) as img:
            return img.convert("RGB")
