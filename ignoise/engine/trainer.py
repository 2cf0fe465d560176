"""Turning a step into an Ignite trainer."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ignite.engine import Engine, Events

__all__ = ["create_trainer"]


def create_trainer(
    step: Callable,
    *,
    epoch_samplers: Iterable = (),
    lr_schedulers: Iterable = (),
) -> Engine:
    """An Ignite trainer whose process function is ``step``.

    Args:
        step: a callable ``(engine, batch) -> dict`` (see :mod:`ignoise.steps`).
        epoch_samplers: objects with ``set_epoch(e)`` (samplers, device-resident and FFCV loaders);
            at the start of epoch ``e`` (1-based in Ignite) they get ``e - 1``. Because the order
            is a function of the epoch, a resumed run draws what an uninterrupted one would.
        lr_schedulers: torch LR schedulers stepped once at the end of every epoch.

    Examples:
        >>> trainer = create_trainer(lambda engine, batch: {"loss": 0.0})
        >>> trainer.run([0, 1], max_epochs=1).epoch
        1
    """
    trainer = Engine(step)
    samplers = list(epoch_samplers)
    schedulers = list(lr_schedulers)

    @trainer.on(Events.EPOCH_STARTED)
    def _set_epoch(engine: Engine) -> None:
        for sampler in samplers:
            sampler.set_epoch(engine.state.epoch - 1)

    @trainer.on(Events.EPOCH_COMPLETED)
    def _step_schedulers(engine: Engine) -> None:
        for scheduler in schedulers:
            scheduler.step()

    return trainer
