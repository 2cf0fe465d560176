"""The ELR step: one network, cross-entropy plus the early-learning regularization toward each
sample's target estimate (Liu et al., NeurIPS 2020)."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..data import move_batch
from ..losses import clamped_probabilities, elr_regularizer

__all__ = ["ELRStep"]


class ELRStep:
    """One ELR iteration: forward, target-estimate update, the mean of
    :func:`~ignoise.losses.elr_loss` (``CE + lambda log(1 - <p, t>)``), backward and optimizer
    step (the authors' ``elr_loss`` and ``train_epoch``).

    The batch's target estimates are updated from this very forward (the clamped softmax,
    renormalized and detached, :func:`~ignoise.losses.clamped_probabilities`) before the loss
    reads them, as in the authors' code; the paper's temporal ensembling averages the
    predictions of the iterations before. Under DDP each process updates the rows of its own
    share of the batch and the handler shares them at the end of the iteration.

    Args:
        model: the network (prepared by Accelerate).
        optimizer: its optimizer (prepared).
        accelerator: the run's Accelerator.
        estimates: the target estimates (:class:`~ignoise.handlers.ELRTargets`, attached to
            the trainer).
        lam: ``lambda``, the regularization weight.
        targets: where the cross-entropy's labels come from: default the batch's ``y``; a
            handler such as the GSS direction pool supplies ``batch -> (B,)`` instead.

    Returns (per call): ``loss`` (the mean ELR loss), ``regularizer`` (the mean of
    ``log(1 - <p, t>)``), detached 0-d tensors, ``logits``, ``index`` and ``y``; nothing here
    reads the device.

    Examples:
        >>> from accelerate import Accelerator
        >>> from ignoise.handlers import ELRTargets
        >>> model = torch.nn.Linear(4, 3)
        >>> estimates = ELRTargets(8, 3, beta=0.7, batch_size=8)
        >>> step = ELRStep(model, torch.optim.SGD(model.parameters(), 0.1), Accelerator(cpu=True),
        ...                estimates=estimates, lam=3.0)
        >>> out = step(None, {"x": torch.randn(8, 4), "y": torch.randint(0, 3, (8,)),
        ...                   "index": torch.arange(8)})
        >>> bool((estimates.table.sum(dim=1) - 0.3).abs().max() < 1e-6)  # (1 - beta) p~ per row
        True
    """

    def __init__(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        accelerator,
        *,
        estimates,
        lam: float,
        targets: Callable[[dict], torch.Tensor] | None = None,
    ) -> None:
        self.model, self.optimizer, self.accelerator = model, optimizer, accelerator
        self.estimates, self.lam, self.targets = estimates, float(lam), targets

    def __call__(self, engine, batch: dict) -> dict:
        batch = move_batch(batch, self.accelerator.device)
        labels = self.targets(batch) if self.targets is not None else batch["y"]
        self.model.train()
        with self.accelerator.autocast():
            logits = self.model(batch["x"]).float()
        t = self.estimates.update(batch["index"], clamped_probabilities(logits))
        # elr_loss, its two terms kept apart to report the regularizer
        regularizer = elr_regularizer(logits, t).mean()
        loss = F.cross_entropy(logits, labels) + self.lam * regularizer
        self.optimizer.zero_grad(set_to_none=True)
        self.accelerator.backward(loss)
        self.optimizer.step()
        return {"loss": loss.detach(), "regularizer": regularizer.detach(),
                "logits": logits.detach(), "index": batch["index"], "y": batch["y"]}
