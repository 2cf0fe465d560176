"""The supervised step: one network, cross-entropy (or any per-sample loss) on given targets."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..data import move_batch

__all__ = ["SupervisedStep"]

TargetProvider = Callable[[dict], torch.Tensor]


class SupervisedStep:
    """Forward, backward and optimizer step of one network on one batch.

    Args:
        model: the network (already passed through ``accelerator.prepare``).
        optimizer: its optimizer (prepared too).
        accelerator: the run's Accelerator (device, autocast, backward with loss scaling).
        loss_fn: per-sample loss ``(logits, targets) -> (B,)``; default cross-entropy, which
            accepts class indices or class probabilities as targets.
        targets: where the targets come from; default the batch's ``y``. A handler such as the
            GSS direction pool supplies a callable ``batch -> targets`` instead.
        extra_loss: optional ``(logits, batch) -> scalar`` added to the mean loss (e.g. the
            confidence penalty of DivideMix's warm-up).

    Returns (per call): ``{"loss", "logits", "index", "y"}`` as detached tensors; nothing here
    synchronizes with the host.

    Examples:
        >>> import torch
        >>> from accelerate import Accelerator
        >>> model = torch.nn.Linear(4, 3)
        >>> optimizer = torch.optim.SGD(model.parameters(), 0.1)
        >>> step = SupervisedStep(model, optimizer, Accelerator(cpu=True))
        >>> out = step(None, {"x": torch.randn(8, 4), "y": torch.randint(0, 3, (8,)),
        ...                   "index": torch.arange(8)})
        >>> out["logits"].shape
        torch.Size([8, 3])
    """

    def __init__(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        accelerator,
        *,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
        targets: TargetProvider | None = None,
        extra_loss: Callable[[torch.Tensor, dict], torch.Tensor] | None = None,
    ) -> None:
        self.model = model
        self.optimizer = optimizer
        self.accelerator = accelerator
        self.loss_fn = loss_fn or (lambda logits, y: F.cross_entropy(logits, y, reduction="none"))
        self.targets = targets
        self.extra_loss = extra_loss

    def __call__(self, engine, batch: dict) -> dict:
        batch = move_batch(batch, self.accelerator.device)
        targets = self.targets(batch) if self.targets is not None else batch["y"]
        self.model.train()
        with self.accelerator.autocast():
            logits = self.model(batch["x"])
            loss = self.loss_fn(logits.float(), targets).mean()
            if self.extra_loss is not None:
                loss = loss + self.extra_loss(logits.float(), batch)
        self.optimizer.zero_grad(set_to_none=True)
        self.accelerator.backward(loss)
        self.optimizer.step()
        return {
            "loss": loss.detach(),
            "logits": logits.detach(),
            "index": batch["index"],
            "y": batch["y"],
        }
