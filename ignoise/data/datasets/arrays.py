"""A dataset over inputs already in memory as one tensor or array: signals, features, images."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from .base import NoisyLabelDataset

__all__ = ["ArrayDataset"]


class ArrayDataset(NoisyLabelDataset):
    """Samples held in memory as one tensor or array of shape ``(N, ...)``, of any dtype.

    :meth:`load` returns ``inputs[i]`` as a torch tensor, e.g. a ``(C, L)`` signal, an
    ``(L,)`` vector or a ``(C, H, W)`` image; ``transform`` (if any) takes that tensor. A numpy
    array is converted once, with :func:`torch.as_tensor`, which shares its memory where torch
    supports the dtype. The tensor stays available as :attr:`inputs`, which instance-dependent
    noise uses as features (see :meth:`ignoise.data.NoisyData.from_datasets`).

    Args:
        inputs: a ``torch.Tensor`` or ``numpy.ndarray`` with one row per sample.
        targets: the given labels, one per row of ``inputs``.
        num_classes: number of classes ``K``; every label must lie in ``[0, K)``.
        clean_targets: the clean labels where known, else ``None``.
        transform: applied to the tensor of each sample.
        classes: optional class names.

    Raises:
        TypeError: if ``inputs`` is neither a tensor nor a numeric numpy array.
        ValueError: if ``inputs`` is 0-d or has another number of rows than ``targets``, or a
            label is out of range.

    Examples:
        >>> import torch
        >>> signals = torch.randn(8, 2, 100)  # 8 two-channel signals of 100 steps
        >>> ds = ArrayDataset(signals, [0, 1, 2, 0, 1, 2, 0, 1], num_classes=3)
        >>> item = ds[3]
        >>> item["x"].shape, item["y"], item["index"]
        (torch.Size([2, 100]), 0, 3)
    """

    sample_fields = ("inputs",)

    def __init__(
        self,
        inputs: torch.Tensor | np.ndarray,
        targets: Sequence[int] | np.ndarray,
        num_classes: int,
        *,
        clean_targets: Sequence[int] | np.ndarray | None = None,
        transform: Callable | None = None,
        classes: Sequence[str] | None = None,
    ) -> None:
        if isinstance(inputs, np.ndarray):
            if not (np.issubdtype(inputs.dtype, np.number) or inputs.dtype == np.bool_):
                raise TypeError(f"inputs must be a numeric array, got dtype {inputs.dtype}")
            try:
                inputs = torch.as_tensor(inputs)
            except TypeError as err:
                raise TypeError(
                    f"inputs of dtype {inputs.dtype} has no torch equivalent: convert it first, "
                    f"e.g. inputs.astype(np.int32) ({err})"
                ) from err
        elif not isinstance(inputs, torch.Tensor):
            raise TypeError(
                f"inputs must be a torch.Tensor or numpy.ndarray of shape (N, ...), got "
                f"{type(inputs).__name__}"
            )
        if inputs.ndim == 0:
            raise ValueError(
                f"inputs must have one row per sample, shape (N, ...), got a 0-d tensor "
                f"({inputs.item()!r})"
            )
        super().__init__(targets, num_classes, clean_targets=clean_targets, transform=transform,
                         classes=classes)
        if len(inputs) != len(self.targets):
            raise ValueError(
                f"inputs has {len(inputs)} rows (shape {tuple(inputs.shape)}) but targets has "
                f"{len(self.targets)} labels: expected one label per row"
            )
        self.inputs = inputs

    def load(self, i: int) -> torch.Tensor:
        return self.inputs[i]
