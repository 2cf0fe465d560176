"""What the steps of two networks trained on the same batch share (Co-teaching, Co-teaching+,
JoCoR, Decoupling): the pair of networks and optimizers, the forward of both, and the one
backward pass that updates both."""

from __future__ import annotations

import torch

from .pair_optimizers import step_together

__all__ = ["PairStep"]


class PairStep:
    """The plumbing of a step of networks A and B on the same batch; a subclass's ``__call__``
    chooses what each network learns on.

    Args:
        model_a, model_b: the two networks (prepared by Accelerate).
        optimizer_a, optimizer_b: their optimizers (prepared).
        accelerator: the run's Accelerator.

    Examples:
        >>> from accelerate import Accelerator
        >>> a, b = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
        >>> pair = PairStep(a, b, torch.optim.SGD(a.parameters(), 0.1),
        ...                 torch.optim.SGD(b.parameters(), 0.1), Accelerator(cpu=True))
        >>> logits_a, logits_b = pair.forward_pair(torch.randn(8, 4))
        >>> pair.backward_and_step(logits_a.square().mean() + logits_b.square().mean())
        >>> PairStep.completed_epochs(None)  # called outside an engine: the first epoch
        0
    """

    def __init__(self, model_a: torch.nn.Module, model_b: torch.nn.Module,
                 optimizer_a: torch.optim.Optimizer, optimizer_b: torch.optim.Optimizer,
                 accelerator) -> None:
        self.model_a, self.model_b = model_a, model_b
        self.optimizer_a, self.optimizer_b = optimizer_a, optimizer_b
        self.accelerator = accelerator

    @staticmethod
    def completed_epochs(engine) -> int:
        """The epochs completed before this iteration's (0 without an engine)."""
        return engine.state.epoch - 1 if engine is not None else 0

    def forward_pair(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Both networks' fp32 logits of ``x``, in train mode, under the run's autocast."""
        self.model_a.train()
        self.model_b.train()
        with self.accelerator.autocast():
            return self.model_a(x).float(), self.model_b(x).float()

    def backward_and_step(self, loss: torch.Tensor) -> None:
        """One backward pass of ``loss`` and a step of both optimizers. ``loss`` may be one
        graph through both networks (JoCoR) or the sum of two separate ones, each network's
        gradients then its own loss's."""
        self.optimizer_a.zero_grad(set_to_none=True)
        self.optimizer_b.zero_grad(set_to_none=True)
        self.accelerator.backward(loss)
        self._step_optimizers()

    def _step_optimizers(self) -> None:
        step_together(self.accelerator, (self.optimizer_a, self.optimizer_b))
