"""One pass of a prediction function over the training set, assembled on every rank."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import ignite.distributed as idist
import torch

from ..data import move_batch

__all__ = ["predict_training_set"]


@torch.no_grad()
def predict_training_set(
    predict: Callable[[torch.Tensor], torch.Tensor],
    loader: Iterable,
    num_samples: int,
    num_classes: int,
    accelerator,
    *,
    models: Sequence[torch.nn.Module] = (),
) -> torch.Tensor:
    """``(N, K)`` outputs of ``predict`` for every sample, row ``i`` for ``index == i``.

    ``models`` are put in evaluation mode for the pass and back in their mode after it. The
    loader gives each sample to exactly one rank (a rank-split evaluation loader), so summing
    the ranks' shares assembles the whole table on every rank.

    Examples:
        >>> from accelerate import Accelerator
        >>> batch = {"x": torch.eye(3), "index": torch.tensor([2, 0, 1])}
        >>> predict_training_set(lambda x: 2 * x, [batch], 3, 3, Accelerator(cpu=True))[0]
        tensor([0., 2., 0.])
    """
    modes = [model.training for model in models]
    for model in models:
        model.eval()
    table = torch.zeros(num_samples, num_classes, device=accelerator.device)
    seen = torch.zeros(num_samples, device=accelerator.device)
    for batch in loader:
        batch = move_batch(batch, accelerator.device)
        with accelerator.autocast():
            table[batch["index"]] = predict(batch["x"]).float()
        seen[batch["index"]] = 1.0
    for model, mode in zip(models, modes):
        model.train(mode)
    table, seen = idist.all_reduce(table), idist.all_reduce(seen)
    return table / seen.clamp_min(1.0).unsqueeze(1)
