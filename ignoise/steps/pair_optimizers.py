"""Stepping the optimizers of a pair of networks trained from one backward pass."""

from __future__ import annotations

from collections.abc import Iterable

import torch

__all__ = ["step_together"]


def step_together(accelerator, optimizers: Iterable) -> None:
    """Step every optimizer of ``optimizers``, once each.

    Accelerate's prepared optimizer updates the fp16 loss scaler after each step, so a second
    optimizer would unscale with a scale its gradients were not made with: with a scaler, step
    each through it, then update it once. When any of the gradients overflowed, none of the
    optimizers steps (the scaler then lowers its scale once).
    """
    scaler = getattr(accelerator, "scaler", None)
    if scaler is None:
        for optimizer in optimizers:
            optimizer.step()
        return
    plain = [getattr(optimizer, "optimizer", optimizer) for optimizer in optimizers]
    for optimizer in plain:
        scaler.unscale_(optimizer)
    # A pair updates together (GAL eq. 5): an overflow in either network's gradients skips
    # every optimizer's step, not only that network's. GradScaler keeps each optimizer's
    # overflow flags in ``_per_optimizer_states``; each gets the sum of all of them, on the
    # device (no host read here: ``scaler.step`` reads it as it always does).
    flags = [scaler._per_optimizer_states[id(optimizer)]["found_inf_per_device"]
             for optimizer in plain]
    values = [v for by_device in flags for v in by_device.values()]
    if values:
        anywhere = torch.stack([v.reshape(()).to(values[0].device) for v in values]).sum()
        for by_device in flags:
            for device in by_device:
                by_device[device] = anywhere.reshape(1).to(device)
    for optimizer in plain:
        scaler.step(optimizer)
    scaler.update()
