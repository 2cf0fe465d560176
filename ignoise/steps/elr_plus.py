"""The ELR+ step: two networks, each with a weight-averaged copy; each network is trained with
mixup and the early-learning regularization toward target estimates built from the averaged copy
of the other (Liu et al., NeurIPS 2020, ELR+ and the authors' ``ELR_plus`` code)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from ..data import move_batch
from ..losses import elr_loss
from .mixmatch import mixup
from .pair_optimizers import step_together

__all__ = ["ELRPlusStep", "sigmoid_rampup", "ema_decay_schedule", "update_ema"]


def sigmoid_rampup(current: float, length: float) -> float:
    """``exp(-5 (1 - min(current, length) / length)^2)``, 1 when ``length`` is 0: the ramp-up
    of Laine & Aila's temporal ensembling, which the ELR+ code uses for lambda (``coef_step``)
    and for the weight-averaging decay (``ema_step``).

    Examples:
        >>> [round(sigmoid_rampup(t, 100), 4) for t in (0, 50, 100, 200)], sigmoid_rampup(5, 0)
        ([0.0067, 0.2865, 1.0, 1.0], 1.0)
    """
    if length <= 0:
        return 1.0
    phase = 1.0 - min(max(current, 0.0), length) / length
    return math.exp(-5.0 * phase * phase)


def ema_decay_schedule(decay: float, rampup_steps: int | None) -> Callable[[int], float]:
    """``iteration -> gamma``, the decay of the weight average after ``iteration`` (1-based)
    updates, as the ELR+ code's ``update_ema_variables``.

    With ``rampup_steps`` (the code's ``ema_update: true``, ``ema_step``): ``gamma =
    sigmoid_rampup(iteration + 1, rampup_steps) * decay``; with ``None`` (``ema_update:
    false``): Mean Teacher's ``min(1 - 1 / (iteration + 1), decay)``.

    Examples:
        >>> [round(ema_decay_schedule(0.997, None)(t), 4) for t in (1, 9, 10_000)]
        [0.5, 0.9, 0.997]
        >>> round(ema_decay_schedule(0.997, 100)(99), 4)
        0.997
    """
    if rampup_steps is None:
        return lambda iteration: min(1.0 - 1.0 / (iteration + 1), decay)
    return lambda iteration: sigmoid_rampup(iteration + 1, rampup_steps) * decay


@torch.no_grad()
def update_ema(averaged: Sequence[torch.Tensor], current: Sequence[torch.Tensor],
               decay: float) -> None:
    """``a <- decay a + (1 - decay) c`` over parameter lists (multi-tensor ops).

    Examples:
        >>> a, c = [torch.ones(2)], [torch.zeros(2)]
        >>> update_ema(a, c, 0.75); a[0]
        tensor([0.7500, 0.7500])
    """
    torch._foreach_mul_(averaged, decay)
    torch._foreach_add_(averaged, current, alpha=1.0 - decay)


class ELRPlusStep:
    """One ELR+ iteration of networks A and B on the same batch.

    1. The weight-averaged copies of A and B (EMA, Mean Teacher) predict the batch; as in the
       authors' code they run in training mode (their BatchNorm normalizes with the batch's
       statistics), without gradients.
    2. A's target estimates are updated from B's averaged copy's softmax and B's from A's
       (:class:`~ignoise.handlers.ELRTargets`; the code's ``update_hist``: the softmax, not
       clamped).
    3. Each network draws its own mixup (``l = max(b, 1 - b)``, ``b ~ Beta(alpha, alpha)``, a
       random partner per sample) and mixes the inputs, the one-hot labels and its target
       estimates alike.
    4. Each is trained with :func:`~ignoise.losses.elr_loss` on its mixed batch, toward the
       mixed labels and the mixed estimates, lambda scaled by ``lam_rampup(iteration)``
       (``coef_step``). With ``weight_labels`` (the code does so for CIFAR-100 only) the mixed
       labels are first multiplied by the mixed estimates and renormalized.
    5. Both optimizers step; each averaged copy takes ``gamma = ema_decay(iteration)`` of
       itself and ``1 - gamma`` of its network (parameters only; its BatchNorm statistics are
       its own).

    Where this differs from the authors' code: their networks train in turn, a whole epoch
    each, over two loaders; here both train in each iteration on the same batch (independent
    mixups), and each reads the other's averaged copy as it is at that iteration.

    Args:
        models: networks ``(A, B)`` (prepared by Accelerate).
        optimizers: their optimizers (prepared).
        accelerator: the run's Accelerator.
        ema_models: their weight-averaged copies (not prepared: plain modules on the device).
        estimates: the target estimates of ``(A, B)``, attached to the trainer.
        lam: ``lambda``.
        mixup_alpha: ``alpha`` of the Beta distribution; 0 turns mixup off.
        lam_rampup: ``iteration -> factor`` of lambda (default 1).
        ema_decay: ``iteration -> gamma`` (:func:`ema_decay_schedule`; default gamma 0.997
            with Mean Teacher's warm-up).
        weight_labels: multiply the mixed labels by the mixed estimates (CIFAR-100 in the code).

    Returns (per call): ``loss`` (A's plus B's), ``loss_a``, ``loss_b``, detached 0-d tensors,
    ``index`` and ``y``; nothing here reads the device.

    Examples:
        >>> import copy
        >>> from accelerate import Accelerator
        >>> from ignoise.handlers import ELRTargets
        >>> nets = [torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)]
        >>> emas = [copy.deepcopy(n).requires_grad_(False) for n in nets]
        >>> tables = [ELRTargets(8, 3, beta=0.7, batch_size=8) for _ in nets]
        >>> step = ELRPlusStep(nets, [torch.optim.SGD(n.parameters(), 0.1) for n in nets],
        ...                    Accelerator(cpu=True), ema_models=emas, estimates=tables,
        ...                    lam=3.0)
        >>> out = step(None, {"x": torch.randn(8, 4), "y": torch.randint(0, 3, (8,)),
        ...                   "index": torch.arange(8)})
        >>> sorted(out)
        ['index', 'loss', 'loss_a', 'loss_b', 'y']
    """

    def __init__(
        self,
        models: Sequence[torch.nn.Module],
        optimizers: Sequence[torch.optim.Optimizer],
        accelerator,
        *,
        ema_models: Sequence[torch.nn.Module],
        estimates: Sequence,
        lam: float,
        mixup_alpha: float = 1.0,
        lam_rampup: Callable[[int], float] | None = None,
        ema_decay: Callable[[int], float] | None = None,
        weight_labels: bool = False,
    ) -> None:
        if not len(models) == len(optimizers) == len(ema_models) == len(estimates) == 2:
            raise ValueError("ELR+ takes two networks, two optimizers, two averaged copies and "
                             "two tables of target estimates")
        self.models, self.optimizers = list(models), list(optimizers)
        self.ema_models, self.estimates = list(ema_models), list(estimates)
        self.accelerator = accelerator
        self.lam, self.mixup_alpha = float(lam), float(mixup_alpha)
        self.lam_rampup = lam_rampup or (lambda iteration: 1.0)
        self.ema_decay = ema_decay or ema_decay_schedule(0.997, None)
        self.weight_labels = weight_labels
        unwrap = accelerator.unwrap_model
        self._params = [[p for p in unwrap(m).parameters()] for m in self.models]
        self._ema_params = [[p for p in m.parameters()] for m in self.ema_models]

    def __call__(self, engine, batch: dict) -> dict:
        batch = move_batch(batch, self.accelerator.device)
        x, y, index = batch["x"], batch["y"], batch["index"]
        iteration = engine.state.iteration if engine is not None else 1
        with torch.no_grad(), self.accelerator.autocast():
            for ema in self.ema_models:
                ema.train()
            averaged = [ema(x).float().softmax(dim=1) for ema in self.ema_models]
        # Each network's targets come from the other's averaged copy.
        t = [self.estimates[0].update(index, averaged[1]),
             self.estimates[1].update(index, averaged[0])]
        # scatter, not F.one_hot, which checks the labels' range on the host
        one_hot = torch.zeros_like(t[0]).scatter_(1, y.unsqueeze(1), 1.0)
        lam = self.lam * self.lam_rampup(iteration)
        losses = [self._loss(m, x, one_hot, t[m], lam) for m in (0, 1)]
        for optimizer in self.optimizers:
            optimizer.zero_grad(set_to_none=True)
        self.accelerator.backward(losses[0] + losses[1])  # separate graphs
        step_together(self.accelerator, self.optimizers)
        decay = self.ema_decay(iteration)
        for ema_params, params in zip(self._ema_params, self._params):
            update_ema(ema_params, params, decay)
        return {"loss": (losses[0] + losses[1]).detach(), "loss_a": losses[0].detach(),
                "loss_b": losses[1].detach(), "index": index, "y": y}

    def _loss(self, m: int, x: torch.Tensor, one_hot: torch.Tensor, t: torch.Tensor,
              lam: float) -> torch.Tensor:
        k = one_hot.shape[1]
        if self.mixup_alpha > 0:
            x, mixed, _ = mixup(x, torch.cat([one_hot, t], dim=1), self.mixup_alpha)
            one_hot, t = mixed[:, :k], mixed[:, k:]
        labels = one_hot
        if self.weight_labels:
            labels = one_hot * t
            labels = labels / labels.sum(dim=1, keepdim=True).clamp_min(1e-12)
        self.models[m].train()
        with self.accelerator.autocast():
            logits = self.models[m](x).float()
        return elr_loss(logits, labels, t, lam=lam).mean()
