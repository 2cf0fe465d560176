"""GAL's switch from the warm-up phase (one network, cross-entropy) to the main phase (networks
A and B under agreement updating, C distilled from them)."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from ignite.engine import Engine, Events

__all__ = ["PhaseSwitch"]


class PhaseSwitch:
    """Knows the phase of each epoch, clones the warm-up network, and steps the LR schedulers.

    Epochs ``1 .. warmup_epochs`` are ``"warmup"``, later ones ``"main"``. In the paper's
    warm-up both networks start equal and get identical batches, so they stay equal: training
    one network and cloning it saves half the cost (the paper's own remark). At the end of
    every warm-up epoch the source network's weights, its optimizer state and its scheduler
    state are copied into the targets; the last copy is the switch. Copying every warm-up
    epoch rather than once keeps the targets' evaluators meaningful during the warm-up and
    makes the state after any epoch a function of that epoch, so a resumed run matches an
    uninterrupted one.

    The switch steps the schedulers it is given, once per epoch, in one ``EPOCH_COMPLETED``
    handler and in a fixed order, so the result does not depend on where other handlers sit:

    - warm-up epoch: the source's scheduler steps, then the clone copies the source's weights,
      optimizer state (which holds the stepped learning rate) and scheduler state into every
      target. The targets' schedulers are never stepped while their optimizers are idle
      (torch would warn that ``lr_scheduler.step()`` ran before ``optimizer.step()``), yet
      their milestones stay aligned with the source's.
    - main epoch: the source's scheduler, then every target's (and late network's), steps
      once.

    This equals a trainer that steps every scheduler at the end of each epoch followed by the
    clone. Schedulers are stepped without arguments (not ``ReduceLROnPlateau``). Do not also
    give them to ``create_trainer(lr_schedulers=...)``: they would step twice per epoch. The
    switch holds no state of its own; checkpoint the schedulers under their own keys.

    Attach it before the evaluators and the checkpoint (both also run at the end of an epoch).

    Args:
        warmup_epochs: number of warm-up epochs (0: no warm-up, every epoch is main).
        source: ``(model, optimizer, scheduler)`` trained during the warm-up; ``optimizer``
            and ``scheduler`` may be None. A 2-tuple ``(model, optimizer)`` means no scheduler.
        targets: ``(model, optimizer, scheduler)`` (or ``(model, optimizer)``) that receive
            copies; each model must have the source's architecture. ``optimizer`` None copies
            only the weights; a target's scheduler needs the source to have one.
        late: ``(optimizer, scheduler)`` of networks that start training after the warm-up
            from their own initialization (GAL's C with ``c_init="scratch"``): during the
            warm-up their scheduler state and learning rates follow the source's, without
            stepping; afterwards the switch steps them with the others.

    Examples:
        >>> source = torch.nn.Linear(2, 2)
        >>> optimizer = torch.optim.SGD(source.parameters(), lr=0.1)
        >>> scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
        >>> switch = PhaseSwitch(2, source=(source, optimizer, scheduler), targets=[])
        >>> [switch.phase(e) for e in (1, 2, 3)]
        ['warmup', 'warmup', 'main']
    """

    def __init__(self, warmup_epochs: int, source: tuple, targets: Sequence[tuple],
                 late: Sequence[tuple] = ()) -> None:
        if not isinstance(warmup_epochs, int) or warmup_epochs < 0:
            raise ValueError(f"warmup_epochs must be a non-negative integer, got {warmup_epochs!r}")
        self.warmup_epochs = warmup_epochs
        self.source = _triple(source, "source")
        self.targets = [_triple(target, f"targets[{i}]") for i, target in enumerate(targets)]
        idle = [i for i, target in enumerate(self.targets)
                if target[1] is None and target[2] is not None]
        if idle:
            raise ValueError(f"targets {idle} have a scheduler but no optimizer to schedule")
        if self.source[2] is None:
            lagging = [i for i, target in enumerate(self.targets) if target[2] is not None]
            if lagging:
                raise ValueError(
                    f"targets {lagging} have a scheduler but the source has none: their "
                    "scheduler state would not follow the warm-up; give the source's scheduler"
                )
        self.late = [tuple(entry) for entry in late]
        if self.late and (self.source[1] is None or self.source[2] is None):
            raise ValueError("late networks follow the source's learning rate: give the source's "
                             "optimizer and scheduler")
        if any(len(entry) != 2 or None in entry for entry in self.late):
            raise ValueError(f"late must hold (optimizer, scheduler) pairs, got {late!r}")

    @property
    def schedulers(self) -> list:
        """The schedulers the switch steps: the source's, the targets' (None skipped), then the
        late networks'."""
        own = [s for _, _, s in [self.source, *self.targets] if s is not None]
        return own + [scheduler for _, scheduler in self.late]

    def phase(self, epoch: int) -> str:
        """``"warmup"`` for epochs ``1 .. warmup_epochs``, else ``"main"``."""
        return "warmup" if epoch <= self.warmup_epochs else "main"

    def attach(self, trainer: Engine) -> None:
        """Step the schedulers and clone at ``EPOCH_COMPLETED``."""
        trainer.add_event_handler(Events.EPOCH_COMPLETED, self)

    def __call__(self, engine: Engine) -> None:
        if self.phase(engine.state.epoch) == "warmup":
            if self.source[2] is not None:
                self.source[2].step()
            self.clone()
        else:
            for scheduler in self.schedulers:
                scheduler.step()

    @torch.no_grad()
    def clone(self) -> None:
        """Copy the source's weights, optimizer state and scheduler state into every target."""
        model, optimizer, scheduler = self.source
        weights = model.state_dict()
        # Deep copies: Optimizer.load_state_dict keeps tensors already on the right device, so
        # without them the target would share the source's momentum buffers; a scheduler's
        # load_state_dict shares its lists (milestones, last lrs) with the source's.
        state = copy.deepcopy(optimizer.state_dict()) if optimizer is not None else None
        schedule = copy.deepcopy(scheduler.state_dict()) if scheduler is not None else None
        for target_model, target_optimizer, target_scheduler in self.targets:
            target_model.load_state_dict(weights)
            if target_optimizer is not None and state is not None:
                target_optimizer.load_state_dict(copy.deepcopy(state))
            if target_scheduler is not None:
                target_scheduler.load_state_dict(copy.deepcopy(schedule))
        for late_optimizer, late_scheduler in self.late:
            # The schedule and learning rates only: the late network's weights and optimizer
            # state stay its own.
            late_scheduler.load_state_dict(copy.deepcopy(schedule))
            for group, source_group in zip(late_optimizer.param_groups, optimizer.param_groups):
                group["lr"] = source_group["lr"]


def _triple(entry: tuple, name: str) -> tuple:
    """``(model, optimizer)`` or ``(model, optimizer, scheduler)`` as a 3-tuple."""
    if not isinstance(entry, (tuple, list)) or len(entry) not in (2, 3):
        raise ValueError(f"{name} must be (model, optimizer) or (model, optimizer, scheduler), "
                         f"got {entry!r}")
    model, optimizer, *rest = entry
    return model, optimizer, rest[0] if rest else None
