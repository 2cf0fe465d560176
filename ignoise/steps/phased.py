"""A step that delegates to another step chosen by the training phase (warm-up, main, ...)."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["PhasedStep"]


class PhasedStep:
    """Runs ``steps[phase(epoch)]`` each iteration.

    The phase is a function of the epoch only, so a resumed run picks the step an
    uninterrupted one would (see :class:`ignoise.handlers.PhaseSwitch`).

    Args:
        phase: maps the trainer's (1-based) epoch to a key of ``steps``.
        steps: phase name -> step ``(engine, batch) -> dict``.

    Examples:
        >>> from types import SimpleNamespace
        >>> steps = {"warmup": lambda e, b: {"loss": 0}, "main": lambda e, b: {"loss": 1}}
        >>> step = PhasedStep(lambda epoch: "warmup" if epoch <= 2 else "main", steps)
        >>> step(SimpleNamespace(state=SimpleNamespace(epoch=3)), None)
        {'loss': 1}
    """

    def __init__(self, phase: Callable[[int], str], steps: dict[str, Callable]) -> None:
        self.phase = phase
        self.steps = dict(steps)

    def __call__(self, engine, batch: dict) -> dict:
        return self.steps[self.phase(engine.state.epoch)](engine, batch)
