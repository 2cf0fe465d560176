"""JoCoR (Wei et al., CVPR 2020, "Combating noisy labels by agreement: A joint training method
with co-regularization", Algorithm 1): two networks trained together on the small-loss samples
of one joint loss."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..data import move_batch
from ..losses import co_regularization, jocor_loss
from .coteaching import keep_count
from .pair_step import PairStep

__all__ = ["JoCoRStep"]


class JoCoRStep(PairStep):
    """One JoCoR iteration of networks A and B on the same batch.

    Both networks are forwarded on the whole batch (train mode); each sample's joint loss is
    :func:`~ignoise.losses.jocor_loss` (``(1 - lambda)`` times the two cross-entropies plus
    ``lambda`` times the symmetric KL between the predictions, neither side detached, as the
    authors' code); the ``ceil(R(T) |batch|)`` samples of smallest joint loss are kept
    (Algorithm 1's small-loss selection, ``1 - R(T)`` Co-teaching's forget-rate schedule), and
    both networks are updated by one backward pass of the mean joint loss over them. The
    authors use one Adam optimizer over both networks' parameters; two optimizers stepped
    together are the same update for any per-parameter optimizer. The keep count is a Python
    int from the batch's shape (rounded up, at least one, as Co-teaching's; the authors' code
    rounds down), the selection ``argsort`` on the device: nothing here reads the device.

    Args:
        model_a, model_b: the two networks (prepared by Accelerate).
        optimizer_a, optimizer_b: their optimizers (prepared).
        accelerator: the run's Accelerator.
        forget_rate: ``completed_epochs -> 1 - R(T)`` (see
            :func:`~ignoise.steps.forget_rate_schedule`).
        co_lambda: ``lambda``, the weight of the co-regularization, in ``[0, 1]``.

    Returns (per call): ``loss`` (the mean joint loss of the kept samples), ``loss_a`` and
    ``loss_b`` (each network's cross-entropy on them), ``co_regularization`` (their mean
    symmetric KL), detached 0-d tensors, and ``index`` and ``y``. After a call, ``kept`` holds
    the indices (into the batch) of the kept samples.

    Examples:
        >>> from accelerate import Accelerator
        >>> a, b = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
        >>> step = JoCoRStep(a, b, torch.optim.SGD(a.parameters(), 0.1),
        ...                  torch.optim.SGD(b.parameters(), 0.1), Accelerator(cpu=True),
        ...                  forget_rate=lambda epoch: 0.25, co_lambda=0.9)
        >>> out = step(None, {"x": torch.randn(8, 4), "y": torch.randint(0, 3, (8,)),
        ...                   "index": torch.arange(8)})
        >>> step.kept.shape  # the 6 samples of smallest joint loss, on which A and B learned
        torch.Size([6])
    """

    def __init__(
        self,
        model_a: torch.nn.Module,
        model_b: torch.nn.Module,
        optimizer_a: torch.optim.Optimizer,
        optimizer_b: torch.optim.Optimizer,
        accelerator,
        *,
        forget_rate: Callable[[int], float],
        co_lambda: float,
    ) -> None:
        if not 0.0 <= co_lambda <= 1.0:
            raise ValueError(f"co_lambda = {co_lambda}: expected a float in [0, 1]")
        super().__init__(model_a, model_b, optimizer_a, optimizer_b, accelerator)
        self.forget_rate = forget_rate
        self.co_lambda = co_lambda
        self.kept: torch.Tensor | None = None

    def __call__(self, engine, batch: dict) -> dict:
        batch = move_batch(batch, self.accelerator.device)
        x, y = batch["x"], batch["y"]
        k = keep_count(x.shape[0], self.forget_rate(self.completed_epochs(engine)))
        logits_a, logits_b = self.forward_pair(x)
        joint = jocor_loss(logits_a, logits_b, y, self.co_lambda)
        self.kept = torch.argsort(joint.detach())[:k]
        loss = joint.index_select(0, self.kept).mean()
        self.backward_and_step(loss)  # one graph through both networks
        with torch.no_grad():  # what the kept samples cost each network, for the history
            kept_a = logits_a.index_select(0, self.kept)
            kept_b = logits_b.index_select(0, self.kept)
            kept_y = y.index_select(0, self.kept)
            loss_a, loss_b = F.cross_entropy(kept_a, kept_y), F.cross_entropy(kept_b, kept_y)
            agreement = co_regularization(kept_a, kept_b).mean()
        return {
            "loss": loss.detach(),
            "loss_a": loss_a,
            "loss_b": loss_b,
            "co_regularization": agreement,
            "index": batch["index"],
            "y": y,
        }
