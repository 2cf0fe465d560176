"""MentorNet with the self-paced curriculum, as the Co-teaching paper's baseline (Han et al.,
NeurIPS 2018, section 4; Jiang et al., ICML 2018): one network trained on the samples whose
loss is below a threshold lambda, the threshold a percentile of the loss that follows
Co-teaching's forget-rate schedule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F

from ..data import move_batch
from .coteaching import keep_count

__all__ = ["MentorNetStep", "MovingPercentile", "MENTORNET_CURRICULA", "percentile_position"]

#: The two readings of the self-paced curriculum (see :class:`MentorNetStep`).
MENTORNET_CURRICULA = ("small_loss", "moving_percentile")


def percentile_position(batch_size: int, p: float) -> int:
    """The ascending rank of the ``100 p``-th percentile of ``batch_size`` losses, as
    ``tf.contrib.distributions.percentile`` (interpolation ``"nearest"``, MentorNet's code):
    ``(B - 1) - round((B - 1)(1 - p))``, rounding half to even.

    Examples:
        >>> percentile_position(64, 0.7), percentile_position(64, 1.0), percentile_position(5, 0.5)
        (44, 63, 2)
    """
    last = batch_size - 1
    return last - round(last * (1.0 - p))


class MovingPercentile:
    """lambda of MentorNet's code (``utils.mentornet``): an exponential moving average of the
    batch's ``100 p``-th loss percentile, ``lambda <- d lambda + (1 - d) q_p``, updated every
    iteration (``loss_moving_average_decay``, ``loss_p_percentile``).

    The average is a 0-d tensor on the losses' device, never read on the host, and is
    checkpointed (``state_dict``). It starts at the first batch's percentile (the code's starts
    at 0, which MentorNet-PD's all-ones weights of the first 18% of training hid; here the
    first epochs are Co-teaching's ramp, so a zero start would drop half of the first batch).

    Args:
        decay: ``d``; MentorNet's flag default 0.5 (its function's default is 0.9).

    Examples:
        >>> tracker = MovingPercentile(decay=0.5)
        >>> float(tracker.update(torch.arange(5.0), p=0.5))  # the median, 2
        2.0
        >>> float(tracker.update(torch.arange(5.0) + 4, p=0.5))  # (2 + 6) / 2
        4.0
    """

    def __init__(self, decay: float = 0.5) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"decay must be in [0, 1), got {decay!r}")
        self.decay = float(decay)
        self.value: torch.Tensor | None = None  # NaN until the first update

    def update(self, losses: torch.Tensor, p: float) -> torch.Tensor:
        """Fold the ``100 p``-th percentile of ``losses`` (1-d) in; return the new lambda."""
        position = percentile_position(losses.shape[0], p)
        q = torch.kthvalue(losses.detach().float(), position + 1).values
        if self.value is None:
            self.value = torch.full((), float("nan"), device=q.device)
        elif self.value.device != q.device:  # restored from a checkpoint onto the CPU
            self.value = self.value.to(q.device, non_blocking=True)
        moved = self.decay * self.value + (1.0 - self.decay) * q
        self.value = torch.where(torch.isnan(self.value), q, moved)
        return self.value

    def state_dict(self) -> dict:
        return {"value": self.value.detach().cpu() if self.value is not None
                else torch.tensor(float("nan"))}

    def load_state_dict(self, state: dict) -> None:
        value = torch.as_tensor(state["value"], dtype=torch.float32)
        device = self.value.device if self.value is not None else value.device
        self.value = value.to(device)


class MentorNetStep:
    """One iteration of a network taught by the self-paced MentorNet.

    Self-paced learning (Jiang et al. 2018, eq. 2 with the SPL regularizer; the
    ``vstar_self_paced`` curriculum of their code) weights sample ``i`` by
    ``v_i = 1[l_i - lambda <= 0]``. The Co-teaching paper uses this "self-paced MentorNet" as a
    baseline, with lambda set so that the ``R(T)`` smallest-loss fraction of a batch is kept,
    ``R(T)`` Co-teaching's schedule (:func:`~ignoise.steps.forget_rate_schedule`): one network
    that keeps its own small-loss samples, Co-teaching without the cross update. Two readings
    of lambda (``curriculum``):

    - ``"small_loss"`` (the Co-teaching baseline, default): lambda is the batch's
      ``keep_count(B, 1 - R(T))``-th smallest loss: exactly the ``R(T)`` fraction of smallest
      loss is kept (``argsort``, as :class:`~ignoise.steps.CoTeachingStep`), and the loss is the
      mean over the kept samples.
    - ``"moving_percentile"`` (MentorNet's code): lambda is a :class:`MovingPercentile` of the
      batch's ``100 R(T)``-th loss percentile, so the kept count varies from batch to batch;
      the loss is ``mean_i(v_i l_i)`` over the whole batch, as ``cifar_train_mentornet.py``
      (which also scales the weight decay by the kept fraction; here the optimizer's weight
      decay is not scaled). Under DDP the per-sample losses are gathered so that every rank
      folds the global batch's percentile into the same lambda.

    MentorNet-PD's learned network is not used (it approximates ``v*`` of a pre-defined
    curriculum: all ones in the first 18% of training, self-paced until 90%, then SPCL-linear);
    the ramp of ``R(T)`` plays the burn-in's part, and ``burn_in_epochs`` adds the code's
    explicit burn-in (every sample weighs 1; the moving percentile is still updated).
    Nothing here reads the device: the keep count is a Python int, the threshold stays on the
    device.

    Args:
        model: the network (prepared by Accelerate).
        optimizer: its optimizer (prepared).
        accelerator: the run's Accelerator.
        forget_rate: ``completed_epochs -> 1 - R(T)`` (see
            :func:`~ignoise.steps.forget_rate_schedule`).
        curriculum: one of :data:`MENTORNET_CURRICULA`.
        decay: the moving average's decay (``"moving_percentile"`` only).
        burn_in_epochs: the first epochs in which every sample is kept.
        loss_fn: per-sample loss ``(logits, y) -> (B,)``; default cross-entropy.

    Returns (per call): ``loss`` (the weighted mean minimized), ``kept_fraction`` (the mean of
    ``v``) and ``threshold`` (lambda: for ``"small_loss"`` the largest kept loss), detached 0-d
    tensors, and ``logits``, ``index``, ``y``.

    Examples:
        >>> from accelerate import Accelerator
        >>> net = torch.nn.Linear(4, 3)
        >>> step = MentorNetStep(net, torch.optim.SGD(net.parameters(), 0.1), Accelerator(cpu=True),
        ...                      forget_rate=lambda epoch: 0.25)
        >>> out = step(None, {"x": torch.randn(8, 4), "y": torch.randint(0, 3, (8,)),
        ...                   "index": torch.arange(8)})
        >>> int(step.weights.sum()), float(out["kept_fraction"])
        (6, 0.75)
    """

    def __init__(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        accelerator,
        *,
        forget_rate: Callable[[int], float],
        curriculum: Literal["small_loss", "moving_percentile"] = "small_loss",
        decay: float = 0.5,
        burn_in_epochs: int = 0,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        if curriculum not in MENTORNET_CURRICULA:
            raise ValueError(f"curriculum must be one of {MENTORNET_CURRICULA}, got {curriculum!r}")
        self.model, self.optimizer, self.accelerator = model, optimizer, accelerator
        self.forget_rate = forget_rate
        self.curriculum = curriculum
        self.burn_in_epochs = int(burn_in_epochs)
        self.threshold = MovingPercentile(decay)
        self.loss_fn = loss_fn or (lambda logits, y: F.cross_entropy(logits, y, reduction="none"))
        self.weights: torch.Tensor | None = None

    def select(self, losses: torch.Tensor, completed_epochs: int) -> tuple[torch.Tensor,
                                                                          torch.Tensor]:
        """``(v, lambda)``: the 0/1 weights of the batch's samples and the threshold, from the
        per-sample ``losses`` (detached) after ``completed_epochs`` epochs."""
        rate = self.forget_rate(completed_epochs)
        burn_in = completed_epochs < self.burn_in_epochs
        if self.curriculum == "moving_percentile":
            gathered = self.accelerator.gather(losses) if self.accelerator.num_processes > 1 \
                else losses
            threshold = self.threshold.update(gathered, 1.0 - rate)
            weights = (losses <= threshold).to(losses.dtype)
            return (torch.ones_like(losses) if burn_in else weights), threshold
        b = losses.shape[0]
        k = b if burn_in else keep_count(b, rate)
        ranked, order = torch.sort(losses)
        weights = torch.zeros_like(losses).index_fill_(0, order[:k], 1.0)
        return weights, ranked[k - 1]

    def __call__(self, engine, batch: dict) -> dict:
        batch = move_batch(batch, self.accelerator.device)
        x, y = batch["x"], batch["y"]
        completed = engine.state.epoch - 1 if engine is not None else 0
        self.model.train()
        with self.accelerator.autocast():
            logits = self.model(x).float()
        per_sample = self.loss_fn(logits, y)
        self.weights, threshold = self.select(per_sample.detach().float(), completed)
        weighted = (self.weights * per_sample).sum()
        if self.curriculum == "small_loss":
            loss = weighted / self.weights.sum()  # the mean over the kept (at least one)
        else:
            loss = weighted / per_sample.shape[0]  # MentorNet's reduce_mean(v * loss)
        self.optimizer.zero_grad(set_to_none=True)
        self.accelerator.backward(loss)
        self.optimizer.step()
        return {
            "loss": loss.detach(),
            "kept_fraction": self.weights.mean(),
            "threshold": threshold.detach(),
            "logits": logits.detach(),
            "index": batch["index"],
            "y": y,
        }
