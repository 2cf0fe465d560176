"""Co-teaching+ (Yu et al., ICML 2019, "How does disagreement help generalization against label
corruption?", Algorithm 1): Co-teaching restricted to the samples on which the two networks'
predictions disagree."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..data import move_batch
from .coteaching import CoTeachingStep
from .disagreement import disagreement_mask, keep_counts, masked_mean, small_loss_mask

__all__ = ["CoTeachingPlusStep"]


class CoTeachingPlusStep(CoTeachingStep):
    """One Co-teaching+ iteration of networks A and B on the same batch.

    Algorithm 1: both networks predict the batch (argmax, train mode); the disagreement set
    ``D'`` is the samples whose predictions differ (step 4); each network keeps the
    ``ceil(lambda(e) |D'|)`` samples of ``D'`` of smallest loss under itself (steps 5-6,
    ``1 - lambda(e)`` the forget-rate schedule of Co-teaching, applied to ``|D'|``); A is
    updated with the loss of its logits on the samples B kept and B on A's (steps 7-8).

    The loss over a kept set ``S`` is ``sum_S l / max(|S|, min_batch_fraction * B)``. The paper
    writes ``l(D'; w)`` without saying how it is normalized, and the authors' Adam makes the
    scale moot for them (their code divides the mean by ``|S|`` once more). Under SGD it is
    not: the plain mean (``min_batch_fraction = 0``) gives each of a few disagreeing samples
    the weight of a whole batch: on the digits at 50% symmetric noise (switch after epoch 3)
    both networks predicted one class from epoch 12 on (10% test accuracy at epoch 30), while
    dividing by the batch size (``1``, the default: each kept sample weighs what it weighs in
    a plain step) ended at 93.9%. Decoupling's code uses the same form with 0.1.

    Before ``init_epoch`` completed epochs the step is Co-teaching (the candidates are the whole
    batch and the loss the mean over the kept, so A and B keep and learn exactly what
    :class:`CoTeachingStep` would): the
    authors' code (``main.py``, ``init_epoch``: MNIST 0, CIFAR-10 20, CIFAR-100 5,
    Tiny-ImageNet 100) switches to the disagreement update only then; the paper's Algorithm 1
    starts with it.

    The size of ``D'`` is known only on the device: the selection is a rank comparison
    against a keep count looked up on the device (:func:`~ignoise.steps.small_loss_mask`),
    and each loss a masked sum. When the networks agree on the whole batch (``D'`` empty,
    which the paper leaves undefined) the step is Co-teaching on the batch, as before
    ``init_epoch``: updating on nothing would make agreement absorbing (two networks that
    agree everywhere never change again). The authors' code trains on the whole batch in that
    case too, with plain cross-entropy (no selection), but only while ``epoch * iteration <
    5000`` (on nothing after), a counter with no counterpart in the paper.

    Readings of the paper over the authors' code (``loss.py``): the loss is cross-entropy on
    the logits (their disagreement branch applies ``F.cross_entropy`` to softmax outputs) and
    the keep count rounds up with at least one sample (theirs rounds down and keeps the whole
    set when that gives 0).

    Args:
        model_a, model_b, optimizer_a, optimizer_b, accelerator, forget_rate, loss_fn: as for
            :class:`CoTeachingStep`.
        init_epoch: completed epochs of Co-teaching before the disagreement update.
        min_batch_fraction: the floor of the loss's denominator, a fraction of the batch.

    Returns (per call): ``loss`` (A's plus B's), ``loss_a``, ``loss_b`` (each as above),
    ``disagreement`` (the fraction of the batch in ``D'``), detached 0-d tensors, and ``index``
    and ``y``. After a call, ``kept_a`` and ``kept_b`` are ``(B,)`` bool masks (not indices as
    in :class:`CoTeachingStep`: their size is data-dependent) and ``disagree`` is ``D'``'s
    mask.

    Examples:
        >>> from accelerate import Accelerator
        >>> a, b = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
        >>> step = CoTeachingPlusStep(a, b, torch.optim.SGD(a.parameters(), 0.1),
        ...                           torch.optim.SGD(b.parameters(), 0.1), Accelerator(cpu=True),
        ...                           forget_rate=lambda epoch: 0.5)
        >>> out = step(None, {"x": torch.randn(8, 4), "y": torch.randint(0, 3, (8,)),
        ...                   "index": torch.arange(8)})
        >>> bool((step.kept_a <= step.disagree).all())  # B learned only where A and B disagree
        True
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
        init_epoch: int = 0,
        min_batch_fraction: float = 1.0,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        super().__init__(model_a, model_b, optimizer_a, optimizer_b, accelerator,
                         forget_rate=forget_rate, loss_fn=loss_fn)
        if init_epoch < 0:
            raise ValueError(f"init_epoch = {init_epoch}: expected an int >= 0")
        if not 0.0 <= min_batch_fraction <= 1.0:
            raise ValueError(f"min_batch_fraction = {min_batch_fraction}: expected a float in "
                             "[0, 1]")
        self.init_epoch = init_epoch
        self.min_batch_fraction = min_batch_fraction
        self.disagree: torch.Tensor | None = None
        self._counts_key: tuple | None = None
        self._counts: torch.Tensor | None = None

    def __call__(self, engine, batch: dict) -> dict:
        batch = move_batch(batch, self.accelerator.device)
        x, y = batch["x"], batch["y"]
        completed = self.completed_epochs(engine)
        counts = self._keep_counts(x.shape[0], self.forget_rate(completed), x.device)
        logits_a, logits_b = self.forward_pair(x)
        per_sample_a, per_sample_b = self.loss_fn(logits_a, y), self.loss_fn(logits_b, y)
        self.disagree = disagreement_mask(logits_a.detach(), logits_b.detach())
        # Co-teaching (every sample a candidate, the mean over the kept) until init_epoch and
        # on a batch with no disagreement; chosen on the device, no host read.
        everyone = torch.ones_like(self.disagree)
        candidates, floor = everyone, 1.0
        if completed >= self.init_epoch:
            found = self.disagree.any()
            candidates = torch.where(found, self.disagree, everyone)
            floor = torch.where(found, max(1.0, self.min_batch_fraction * x.shape[0]), 1.0)
        self.kept_a = small_loss_mask(per_sample_a.detach(), candidates, counts)
        self.kept_b = small_loss_mask(per_sample_b.detach(), candidates, counts)
        loss_a = masked_mean(per_sample_a, self.kept_b, min_count=floor)  # the cross update
        loss_b = masked_mean(per_sample_b, self.kept_a, min_count=floor)
        self.backward_and_step(loss_a + loss_b)
        return {
            "loss": (loss_a + loss_b).detach(),
            "loss_a": loss_a.detach(),
            "loss_b": loss_b.detach(),
            "disagreement": self.disagree.float().mean(),
            "index": batch["index"],
            "y": y,
        }

    def _keep_counts(self, batch_size: int, rate: float, device) -> torch.Tensor:
        """The keep-count table, made once per batch size and forget rate."""
        key = (batch_size, rate, device)
        if key != self._counts_key:
            self._counts_key, self._counts = key, keep_counts(batch_size, rate, device)
        return self._counts
