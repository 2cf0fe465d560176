"""Stepping the optimizers of a pair of networks trained from one backward pass."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["step_together"]


def step_together(accelerator, optimizers: Iterable) -> None:
    """Step every optimizer of ``optimizers``, once each.

    Accelerate's prepared optimizer updates the fp16 loss scaler after each step, so a second
    optimizer would unscale with a scale its gradients were not made with: with a scaler, step
    each through it, then update it once.
    """
    scaler = getattr(accelerator, "scaler", None)
    if scaler is None:
        for optimizer in optimizers:
            optimizer.step()
        return
    for optimizer in optimizers:
        scaler.step(getattr(optimizer, "optimizer", optimizer))
    scaler.update()
