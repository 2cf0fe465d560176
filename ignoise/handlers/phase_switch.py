"""GAL's switch from the warm-up phase (one network, cross-entropy) to the main phase (networks
A and B under agreement updating, C distilled from them)."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from ignite.engine import Engine, Events

__all__ = ["PhaseSwitch"]


class PhaseSwitch:
    """Knows the phase of each epoch and clones the warm-up network at the end of the warm-up.

    Epochs ``1 .. warmup_epochs`` are ``"warmup"``, later ones ``"main"``. In the paper's
    warm-up both networks start equal and get identical batches, so they stay equal: training
    one network and cloning it saves half the cost (the paper's own remark). At the end of
    every warm-up epoch the source network's weights, and its optimizer state, are copied into
    the targets; the last copy is the switch. Copying every warm-up epoch rather than once
    keeps the targets' evaluators meaningful during the warm-up and makes the state after any
    epoch a function of that epoch, so a resumed run matches an uninterrupted one.

    Attach it before the evaluators and the checkpoint (both also run at the end of an epoch).

    Args:
        warmup_epochs: number of warm-up epochs (0: no warm-up).
        source: ``(model, optimizer)`` trained during the warm-up.
        targets: ``(model, optimizer)`` pairs that receive copies (``optimizer`` may be None
            to copy only the weights); each model must have the source's architecture.

    Examples:
        >>> switch = PhaseSwitch(2, source=(torch.nn.Linear(2, 2), None), targets=[])
        >>> [switch.phase(e) for e in (1, 2, 3)]
        ['warmup', 'warmup', 'main']
    """

    def __init__(self, warmup_epochs: int, source: tuple, targets: Sequence[tuple]) -> None:
        if not isinstance(warmup_epochs, int) or warmup_epochs < 0:
            raise ValueError(f"warmup_epochs must be a non-negative integer, got {warmup_epochs!r}")
        self.warmup_epochs = warmup_epochs
        self.source = source
        self.targets = list(targets)

    def phase(self, epoch: int) -> str:
        """``"warmup"`` for epochs ``1 .. warmup_epochs``, else ``"main"``."""
        return "warmup" if epoch <= self.warmup_epochs else "main"

    def attach(self, trainer: Engine) -> None:
        trainer.add_event_handler(
            Events.EPOCH_COMPLETED(event_filter=lambda _, epoch: epoch <= self.warmup_epochs),
            self,
        )

    def __call__(self, _: Engine) -> None:
        self.clone()

    @torch.no_grad()
    def clone(self) -> None:
        """Copy the source's weights (and optimizer state) into every target."""
        model, optimizer = self.source
        weights = model.state_dict()
        # A deep copy: Optimizer.load_state_dict keeps tensors already on the right device, so
        # without it the target would share the source's momentum buffers.
        state = copy.deepcopy(optimizer.state_dict()) if optimizer is not None else None
        for target_model, target_optimizer in self.targets:
            target_model.load_state_dict(weights)
            if target_optimizer is not None and state is not None:
                target_optimizer.load_state_dict(copy.deepcopy(state))
