"""Co-teaching (Han et al., NeurIPS 2018, Algorithm 1): two networks, each keeps the samples of
small loss under its own prediction, and each is updated on the samples its peer kept."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..data import move_batch
from .pair_step import PairStep

__all__ = ["CoTeachingStep", "forget_rate_schedule", "keep_count"]


def forget_rate_schedule(forget_rate: float, num_gradual: int = 10,
                         exponent: float = 1.0) -> Callable[[int], float]:
    """``T -> 1 - R(T)``, the fraction of each batch dropped after ``T`` completed epochs.

    Algorithm 1, step 8: ``R(T) = 1 - min(T / T_k * tau, tau)``, updated at the end of epoch
    ``T``, so the first epoch keeps every sample and the rate reaches ``tau`` after ``T_k``
    epochs. ``exponent`` is ``c`` of the Co-teaching+ code, whose ramp ends at ``tau ** c``
    (``np.linspace(0, tau ** c, T_k)``) before the rate becomes ``tau``; ``c = 1`` is the
    paper's schedule. (The authors' code indexes the ramp so that it reaches ``tau`` one epoch
    earlier, at ``T = T_k - 1``; this follows the paper.)

    Args:
        forget_rate: ``tau``.
        num_gradual: ``T_k``, the epochs of the linear ramp.
        exponent: ``c``.

    Examples:
        >>> rate = forget_rate_schedule(0.4, num_gradual=10)
        >>> [round(rate(t), 2) for t in (0, 1, 5, 10, 50)]
        [0.0, 0.04, 0.2, 0.4, 0.4]
    """
    ramp_end = forget_rate ** exponent

    def rate(completed_epochs: int) -> float:
        if num_gradual <= 0 or completed_epochs >= num_gradual:
            return forget_rate
        return completed_epochs / num_gradual * ramp_end

    return rate


def keep_count(batch_size: int, forget_rate: float) -> int:
    """``ceil(R(T) |batch|)``: Algorithm 1 keeps the smallest-loss ``D'`` with
    ``|D'| >= R(T) |batch|`` (at least one sample; the authors' code rounds down instead).

    Examples:
        >>> keep_count(64, 0.4), keep_count(10, 0.2), keep_count(4, 0.99)
        (39, 8, 1)
    """
    return max(1, min(batch_size, math.ceil((1.0 - forget_rate) * batch_size - 1e-9)))


class CoTeachingStep(PairStep):
    """One Co-teaching iteration of networks A and B on the same batch.

    Both networks are forwarded on the whole batch (train mode, as the authors' code). Each
    ranks the samples by its own per-sample loss and keeps the ``keep_count`` smallest; A is
    updated with the mean loss of its logits on the samples B kept, and B on those A kept
    (the cross update, Algorithm 1 steps 4-7). The keep count is a Python int from the batch's
    shape and the epoch's forget rate, and the selection is ``argsort`` and ``index_select`` on
    the device: nothing here reads the device. Under DDP each process ranks its own share of
    the batch.

    Args:
        model_a, model_b: the two networks (prepared by Accelerate).
        optimizer_a, optimizer_b: their optimizers (prepared).
        accelerator: the run's Accelerator.
        forget_rate: ``completed_epochs -> 1 - R(T)`` (see :func:`forget_rate_schedule`).
        loss_fn: per-sample loss ``(logits, y) -> (B,)``; default cross-entropy.
        targets: ``batch -> (B,)`` labels that replace the given ones in the losses both
            networks rank and learn from (GSS's direction pool, ``targets: gss``).

    Returns (per call): ``loss`` (A's plus B's), ``loss_a``, ``loss_b`` (each the mean over the
    samples it was updated on), detached 0-d tensors, ``logits`` (A's, detached: what a
    direction pool collects), and ``index`` and ``y``.

    Examples:
        >>> from accelerate import Accelerator
        >>> a, b = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
        >>> step = CoTeachingStep(a, b, torch.optim.SGD(a.parameters(), 0.1),
        ...                       torch.optim.SGD(b.parameters(), 0.1), Accelerator(cpu=True),
        ...                       forget_rate=lambda epoch: 0.5)
        >>> out = step(None, {"x": torch.randn(8, 4), "y": torch.randint(0, 3, (8,)),
        ...                   "index": torch.arange(8)})
        >>> step.kept_a.shape  # the 4 samples of smallest loss under A, on which B learned
        torch.Size([4])
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
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
        targets: Callable[[dict], torch.Tensor] | None = None,
    ) -> None:
        super().__init__(model_a, model_b, optimizer_a, optimizer_b, accelerator)
        self.forget_rate = forget_rate
        self.loss_fn = loss_fn or (lambda logits, y: F.cross_entropy(logits, y, reduction="none"))
        self.targets = targets
        self.kept_a: torch.Tensor | None = None
        self.kept_b: torch.Tensor | None = None

    def __call__(self, engine, batch: dict) -> dict:
        batch = move_batch(batch, self.accelerator.device)
        x = batch["x"]
        y = self.targets(batch) if self.targets is not None else batch["y"]
        k = keep_count(x.shape[0], self.forget_rate(self.completed_epochs(engine)))
        logits_a, logits_b = self.forward_pair(x)
        per_sample_a, per_sample_b = self.loss_fn(logits_a, y), self.loss_fn(logits_b, y)
        # Each network's small-loss samples (step 4-5); the peer learns on them (step 6-7).
        self.kept_a = torch.argsort(per_sample_a.detach())[:k]
        self.kept_b = torch.argsort(per_sample_b.detach())[:k]
        loss_a = per_sample_a.index_select(0, self.kept_b).mean()
        loss_b = per_sample_b.index_select(0, self.kept_a).mean()
        self.backward_and_step(loss_a + loss_b)  # separate graphs: each gets its own
        return {
            "loss": (loss_a + loss_b).detach(),
            "loss_a": loss_a.detach(),
            "loss_b": loss_b.detach(),
            "logits": logits_a.detach(),
            "index": batch["index"],
            "y": y,
        }
