"""How many samples an evaluation saw, summed over processes."""

from __future__ import annotations

import torch
from ignite.metrics import Metric
from ignite.metrics.metric import reinit__is_reduced, sync_all_reduce

__all__ = ["SampleCount"]


class SampleCount(Metric):
    """Counts the samples of an evaluation run across all processes.

    With rank-split loaders it equals the test set's size exactly; a padded loader would count
    the duplicated samples too, so this metric makes that visible in every run's history.
    """

    @reinit__is_reduced
    def reset(self) -> None:
        self._count = torch.zeros((), dtype=torch.long, device=self._device)

    @reinit__is_reduced
    def update(self, output) -> None:
        self._count += output[1].shape[0]

    @sync_all_reduce("_count")
    def compute(self) -> int:
        return int(self._count.item())
