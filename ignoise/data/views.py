"""A dataset wrapper whose items carry a second, independently augmented view of the input."""

from __future__ import annotations

import torch

__all__ = ["TwoViewDataset"]


class TwoViewDataset(torch.utils.data.Dataset):
    """Items of ``dataset`` with ``x2``, a second draw of its transform on the same raw input.

    MixMatch-style steps (DivideMix) average the predictions on two augmentations of a sample
    and train on both. The raw input is loaded once and transformed twice.

    Args:
        dataset: an ignoise dataset (a :class:`~ignoise.data.base.NoisyLabelDataset` with
            ``load`` and ``transform``).

    Examples:
        >>> from ignoise.data import load_digits_dataset
        >>> from ignoise.data.transforms import train_transform
        >>> views = TwoViewDataset(load_digits_dataset(transform=train_transform("digits")))
        >>> sorted(views[0]), views[0]["x2"].shape
        (['index', 'x', 'x2', 'y', 'y_clean'], torch.Size([1, 8, 8]))
    """

    def __init__(self, dataset) -> None:
        if not hasattr(dataset, "load"):
            raise TypeError("TwoViewDataset needs an ignoise dataset with load(), got "
                            f"{type(dataset).__name__}")
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getattr__(self, name: str):
        # targets, clean_targets, num_classes, ... of the wrapped dataset.
        if name == "dataset":
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __getitem__(self, i: int) -> dict:
        ds = self.dataset
        raw = ds.load(i)
        transform = ds.transform or (lambda x: x)
        item = {"x": transform(raw), "x2": transform(raw), "y": int(ds.targets[i]), "index": int(i)}
        if ds.clean_targets is not None:
            item["y_clean"] = int(ds.clean_targets[i])
        return item
