"""Timing training steps against each other in one run, for the step benchmarks
(``agreement_step.py``, ``colearning_speed.py``, ``elr_plus_speed.py``,
``pair_selection_speed.py``).

Each call is one training step that returns a loss tensor. A timing synchronizes the device,
runs the call, reads the loss once (the one read of the device, after the step) and
synchronizes again. The calls are timed in rounds whose order rotates, so that other work on a
shared machine slows them alike and none always follows another.

Examples:
    >>> import torch
    >>> times = time_rounds({"a": lambda: torch.zeros(()), "b": lambda: torch.ones(())},
    ...                     rounds=2, device=torch.device("cpu"))
    >>> [len(t) for t in times.values()]
    [2, 2]
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import torch

__all__ = ["device_line", "sync", "time_rounds", "timed"]


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (a no-op off CUDA)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], torch.Tensor], device: torch.device) -> float:
    """Seconds of one call of ``fn``, from a synchronized device to a synchronized device."""
    sync(device)
    start = time.perf_counter()
    float(fn())  # the one read of the device, after the step
    sync(device)
    return time.perf_counter() - start


def time_rounds(calls: dict[str, Callable[[], torch.Tensor]], rounds: int,
                device: torch.device, *, warmups: int = 1,
                rotate: Sequence[str] | None = None) -> dict[str, list[float]]:
    """The seconds of each call in each of ``rounds`` rounds, after ``warmups`` untimed calls
    of each (allocations, kernels, momentum buffers).

    Args:
        calls: name to a step that returns a loss tensor, timed in this order in round 0.
        rounds: how many timed rounds.
        device: the device the steps run on.
        warmups: untimed calls of each step, one step's after another's.
        rotate: the names that take turns going first (round ``i`` starts at the ``i``-th of
            them, modulo their number); the other calls follow them in every round, in their
            order. Default: all calls.
    """
    for fn in calls.values():
        for _ in range(warmups):
            timed(fn, device)
    names = list(calls if rotate is None else rotate)
    rest = [name for name in calls if name not in names]
    times = {name: [] for name in calls}
    for i in range(rounds):
        shift = i % len(names)
        for name in names[shift:] + names[:shift] + rest:
            times[name].append(timed(calls[name], device))
    return times


def device_line(device: torch.device) -> str:
    """``device: ...`` with the CPU threads and, on CUDA, the GPU's name: a report's first line."""
    return (f"device: {device} ({torch.get_num_threads()} CPU threads)"
            f"{' ' + torch.cuda.get_device_name(device) if device.type == 'cuda' else ''}")
