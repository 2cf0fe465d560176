"""The epoch mean of a scalar a step returns, skipping iterations that do not return it."""

from __future__ import annotations

import torch
from ignite.metrics import Metric
from ignite.metrics.metric import reinit__is_reduced, sync_all_reduce

__all__ = ["EpochMean"]


class EpochMean(Metric):
    """Mean over an epoch (and over processes) of ``output[key]``.

    Values are summed on the device and read once when the epoch ends, so no iteration waits on
    the host. Iterations whose output lacks ``key`` (a step that reports it only in one phase)
    are skipped; an epoch without any value gives NaN.

    Args:
        key: the entry of the step's output dict.
        device: where the sums live (the step's device).

    Examples:
        >>> from ignite.engine import Engine
        >>> engine = Engine(lambda e, b: {"loss": torch.tensor(float(b))} if b else {})
        >>> EpochMean("loss").attach(engine, "loss")
        >>> engine.run([0, 1, 3], max_epochs=1).metrics["loss"]
        2.0
    """

    def __init__(self, key: str, device: torch.device | str = "cpu") -> None:
        self.key = key
        # Wrapped in a tuple: ignite would otherwise look for "y_pred"/"y" in a dict output.
        super().__init__(output_transform=lambda out: (out,), device=device)

    @reinit__is_reduced
    def reset(self) -> None:
        self._sum = torch.zeros((), dtype=torch.float64, device=self._device)
        self._count = torch.zeros((), dtype=torch.float64, device=self._device)

    @reinit__is_reduced
    def update(self, output) -> None:
        (output,) = output
        if not isinstance(output, dict) or self.key not in output:
            return
        value = torch.as_tensor(output[self.key]).detach()
        self._sum += value.to(self._device, torch.float64).sum()
        self._count += value.numel()

    @sync_all_reduce("_sum", "_count")
    def compute(self) -> float:
        count = self._count.item()
        return self._sum.item() / count if count else float("nan")
