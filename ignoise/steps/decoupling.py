"""Decoupling (Malach & Shalev-Shwartz, NeurIPS 2017, "Decoupling 'when to update' from 'how to
update'", Algorithm 1, update by disagreement): two networks, each updated only on the samples
where their predictions differ."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..data import move_batch
from .disagreement import disagreement_mask, masked_mean
from .pair_step import PairStep

__all__ = ["DecouplingStep"]


class DecouplingStep(PairStep):
    """One update-by-disagreement iteration of networks A and B on the same batch.

    Algorithm 1: both networks predict the batch (argmax, train mode); the samples on which
    the predictions differ form the set ``C'``; each network takes a step of its own loss on
    ``C'`` ("when to update" decided by the disagreement, "how to update" the ordinary rule).
    The two networks differ only by their random initialization.

    The loss of each is ``sum_{C'} l / max(|C'|, min_batch_fraction * B)``: the paper's
    Algorithm 1 leaves the normalization to the update rule; the authors' code (``train.py``,
    ``loss``) divides by ``max(B * min_batch_size, sum(update_step))`` with ``min_batch_size``
    0.1, so that a batch with few disagreements moves the weights less; ``min_batch_fraction
    = 0`` is the plain mean over ``C'``. An empty ``C'`` gives a zero loss (the optimizers
    still step: momentum and weight decay act). Their code's per-class weights (of its binary
    gender task) are not applied.

    ``init_epochs``: completed epochs during which every sample is updated on, the code's
    ``init_iter`` (counted in epochs here), which defaults to 0 there as in the paper's
    Algorithm 1, which has no such phase.

    Everything is a mask of the batch's length: nothing here reads the device.

    Args:
        model_a, model_b: the two networks (prepared by Accelerate), initialized apart.
        optimizer_a, optimizer_b: their optimizers (prepared).
        accelerator: the run's Accelerator.
        init_epochs: epochs of updates on every sample before the disagreement rule.
        min_batch_fraction: the denominator's floor, a fraction of the batch.
        loss_fn: per-sample loss ``(logits, y) -> (B,)``; default cross-entropy.

    Returns (per call): ``loss`` (A's plus B's), ``loss_a``, ``loss_b``, ``disagreement`` (the
    fraction of the batch in ``C'``), detached 0-d tensors, and ``index`` and ``y``. After a
    call, ``update`` is the ``(B,)`` bool mask both networks learned on.

    Examples:
        >>> from accelerate import Accelerator
        >>> a, b = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
        >>> step = DecouplingStep(a, b, torch.optim.SGD(a.parameters(), 0.1),
        ...                       torch.optim.SGD(b.parameters(), 0.1), Accelerator(cpu=True))
        >>> out = step(None, {"x": torch.randn(8, 4), "y": torch.randint(0, 3, (8,)),
        ...                   "index": torch.arange(8)})
        >>> step.update.shape, step.update.dtype
        (torch.Size([8]), torch.bool)
    """

    def __init__(
        self,
        model_a: torch.nn.Module,
        model_b: torch.nn.Module,
        optimizer_a: torch.optim.Optimizer,
        optimizer_b: torch.optim.Optimizer,
        accelerator,
        *,
        init_epochs: int = 0,
        min_batch_fraction: float = 0.1,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        if init_epochs < 0:
            raise ValueError(f"init_epochs = {init_epochs}: expected an int >= 0")
        if not 0.0 <= min_batch_fraction <= 1.0:
            raise ValueError(f"min_batch_fraction = {min_batch_fraction}: expected a float in "
                             "[0, 1]")
        super().__init__(model_a, model_b, optimizer_a, optimizer_b, accelerator)
        self.init_epochs = init_epochs
        self.min_batch_fraction = min_batch_fraction
        self.loss_fn = loss_fn or (lambda logits, y: F.cross_entropy(logits, y, reduction="none"))
        self.update: torch.Tensor | None = None

    def __call__(self, engine, batch: dict) -> dict:
        batch = move_batch(batch, self.accelerator.device)
        x, y = batch["x"], batch["y"]
        completed = self.completed_epochs(engine)
        logits_a, logits_b = self.forward_pair(x)
        disagree = disagreement_mask(logits_a.detach(), logits_b.detach())
        self.update = disagree if completed >= self.init_epochs else torch.ones_like(disagree)
        floor = max(1.0, self.min_batch_fraction * x.shape[0])
        loss_a = masked_mean(self.loss_fn(logits_a, y), self.update, min_count=floor)
        loss_b = masked_mean(self.loss_fn(logits_b, y), self.update, min_count=floor)
        self.backward_and_step(loss_a + loss_b)  # separate graphs: each gets its own
        return {
            "loss": (loss_a + loss_b).detach(),
            "loss_a": loss_a.detach(),
            "loss_b": loss_b.detach(),
            "disagreement": disagree.float().mean(),
            "index": batch["index"],
            "y": y,
        }
