"""Stopping a run whose loss is no longer finite, with what is known of where it diverged."""

from __future__ import annotations

import torch
from ignite.engine import Engine, Events

__all__ = ["DivergenceGuard", "RunDiverged"]


class RunDiverged(RuntimeError):
    """The training loss became NaN or infinite; ``details`` has epoch, iteration and the last
    finite loss."""

    def __init__(self, details: dict) -> None:
        self.details = details
        last = details["last_finite_loss"]
        super().__init__(
            f"the training loss is not finite since epoch {details['epoch']}, iteration "
            f"{details['iteration']} (last finite loss: "
            f"{'none' if last is None else f'{last:.6g}'}): the run diverged; lower the "
            "learning rate or check the data")


class DivergenceGuard:
    """Watches ``output["loss"]`` and raises :class:`RunDiverged` once it is not finite.

    Every iteration only updates device tensors (the first non-finite iteration and the last
    finite loss); the host reads them every ``every`` iterations and at the end of each epoch,
    before the evaluators and the checkpoint, so no checkpoint ever holds a diverged state.

    Args:
        every: iterations between host checks.

    Examples:
        >>> engine = Engine(lambda e, b: {"loss": torch.tensor(b)})
        >>> DivergenceGuard(every=2).attach(engine)
        >>> try:
        ...     engine.run([1.0, 0.5, float("nan"), 2.0], max_epochs=1)
        ... except RunDiverged as err:
        ...     err.details
        {'epoch': 1, 'iteration': 3, 'last_finite_loss': 0.5}
    """

    def __init__(self, every: int = 20) -> None:
        self.every = int(every)
        self._first_bad: torch.Tensor | None = None
        self._last_finite: torch.Tensor | None = None

    def attach(self, trainer: Engine) -> None:
        trainer.add_event_handler(Events.ITERATION_COMPLETED, self._track)
        trainer.add_event_handler(Events.ITERATION_COMPLETED(every=self.every), self.check)
        trainer.add_event_handler(Events.EPOCH_COMPLETED, self.check)

    def _track(self, engine: Engine) -> None:
        loss = torch.as_tensor(engine.state.output["loss"]).detach().float().reshape(())
        if self._first_bad is None:
            self._first_bad = torch.full((), -1, dtype=torch.long, device=loss.device)
            self._last_finite = torch.full((), float("nan"), device=loss.device)
        finite = torch.isfinite(loss)
        fresh = (~finite) & (self._first_bad < 0)
        self._first_bad = torch.where(fresh, engine.state.iteration, self._first_bad)
        self._last_finite = torch.where(finite & (self._first_bad < 0), loss, self._last_finite)

    def check(self, engine: Engine) -> None:
        """Raise :class:`RunDiverged` if a non-finite loss was seen (reads the device)."""
        if self._first_bad is None or int(self._first_bad) < 0:
            return
        iteration = int(self._first_bad)
        last = float(self._last_finite)
        epoch_length = engine.state.epoch_length or iteration
        raise RunDiverged({"epoch": (iteration - 1) // epoch_length + 1, "iteration": iteration,
                           "last_finite_loss": None if last != last else last})
