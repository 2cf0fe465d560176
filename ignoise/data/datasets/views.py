"""A dataset wrapper whose items carry a second, independently augmented view of the input."""

from __future__ import annotations

import torch

__all__ = ["TwoViewDataset"]


class TwoViewDataset(torch.utils.data.Dataset):
    """Items of ``dataset`` with ``x2``, a second draw of its random transform.

    MixMatch-style steps (DivideMix) average the predictions on two augmentations of a sample
    and train on both. For an ignoise dataset (a
    :class:`~ignoise.data.NoisyLabelDataset`, with ``load`` and ``transform``) the raw input
    is loaded once and transformed twice. Any other map-style dataset whose items follow the
    batch contract (dicts with ``x``, ``y``, ``index`` and optionally ``y_clean``) is read
    twice per item, and the second item's ``x`` becomes ``x2``.

    Args:
        dataset: an ignoise dataset, or any dataset of batch-contract dicts.

    Raises:
        TypeError: if ``dataset`` has no ``load``/``transform`` and its first item is not a
            dict with ``x``, ``y`` and ``index``.
        ValueError: if such a dataset is empty.

    Examples:
        >>> from ignoise.data import load_digits_dataset
        >>> from ignoise.data.transforms import train_transform
        >>> views = TwoViewDataset(load_digits_dataset(transform=train_transform("digits")))
        >>> sorted(views[0]), views[0]["x2"].shape
        (['index', 'x', 'x2', 'y', 'y_clean'], torch.Size([1, 8, 8]))
    """

    def __init__(self, dataset) -> None:
        self.dataset = dataset
        self._load_once = all(
            hasattr(dataset, a) for a in ("load", "transform", "targets", "clean_targets")
        )
        if not self._load_once:
            _check_batch_items(dataset)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getattr__(self, name: str):
        # targets, clean_targets, num_classes, ... of the wrapped dataset.
        if name in ("dataset", "_load_once"):
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def __getitem__(self, i: int) -> dict:
        ds = self.dataset
        if not self._load_once:
            first, second = ds[i], ds[i]
            item = {"x": first["x"], "x2": second["x"]}
            item.update((k, v) for k, v in first.items() if k != "x")
            return item
        raw = ds.load(i)
        transform = ds.transform or (lambda x: x)
        item = {"x": transform(raw), "x2": transform(raw), "y": int(ds.targets[i]), "index": int(i)}
        if ds.clean_targets is not None:
            item["y_clean"] = int(ds.clean_targets[i])
        return item


def _check_batch_items(dataset) -> None:
    """Raise a TypeError unless ``dataset[0]`` is a dict of the batch contract."""
    name = type(dataset).__name__
    if not hasattr(dataset, "__getitem__") or not hasattr(dataset, "__len__"):
        raise TypeError(f"TwoViewDataset needs a map-style dataset (len and [i]), got {name}")
    if len(dataset) == 0:
        raise ValueError(f"TwoViewDataset got an empty dataset ({name})")
    item = dataset[0]
    missing = [k for k in ("x", "y", "index") if not isinstance(item, dict) or k not in item]
    if missing:
        got = f"a dict with keys {list(item)}" if isinstance(item, dict) else type(item).__name__
        raise TypeError(
            f"TwoViewDataset needs items that are dicts with 'x', 'y' and 'index' (the batch "
            f"contract) or an ignoise dataset with load(); {name}[0] is {got}"
        )
