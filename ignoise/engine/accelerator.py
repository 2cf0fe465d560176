"""Creating the run's one Accelerator and seeding every generator from one seed."""

from __future__ import annotations

import os
import random
from datetime import timedelta

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import InitProcessGroupKwargs

__all__ = ["create_accelerator", "seed_everything", "end_process_group", "check_launch"]

_PRECISIONS = ("no", "fp16", "bf16")


def create_accelerator(mixed_precision: str = "no", cpu: bool = False,
                       timeout_s: int | None = None) -> Accelerator:
    """The run's Accelerator; create it before anything else (docs/concepts.rst, "Distributed
    runs and mixed precision").

    ``accelerate launch`` decides the number of processes and the device; ``mixed_precision``
    set here applies when the launcher does not set one. Without CUDA the Accelerator is made
    with ``cpu=True``: that is what makes ``accelerate launch --num_processes N`` on a CPU-only
    machine a real N-process (gloo) run rather than N unrelated single-process runs.

    ``timeout_s`` bounds how long a process waits for the others in a collective: a stuck or
    dead rank then stops every rank with an error instead of a silent hang (torch's default is
    30 minutes on gloo and NCCL alike).
    """
    if mixed_precision not in _PRECISIONS:
        raise ValueError(
            f"mixed precision {mixed_precision!r} is not one of {', '.join(_PRECISIONS)}"
        )
    handlers = []
    if timeout_s is not None:
        handlers.append(InitProcessGroupKwargs(timeout=timedelta(seconds=int(timeout_s))))
    return Accelerator(mixed_precision=mixed_precision, cpu=cpu or not torch.cuda.is_available(),
                       kwargs_handlers=handlers)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) alike on every rank.

    Every rank uses the same seed, so identically built models start from the same weights;
    samplers shard from the same seed (see :mod:`ignoise.data.samplers`).
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def end_process_group() -> None:
    """Destroy the process group of a multi-process run, if there is one.

    Call it once a process has finished all its runs (the ``train`` command does): a gloo
    process group still alive when the interpreter exits can abort the process ("terminate
    called without an active exception"), which fails the whole launch.
    """
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def check_launch(num_processes: int) -> None:
    """Stop a CPU launch that asked for several processes but started one.

    ``accelerate launch --cpu --num_processes N`` uses accelerate's simple launcher, which
    starts a single process and does not pass N on; the run would silently train alone. The
    launcher's own command line (the parent process's, on Linux) shows what was asked.

    Raises:
        ConfigError: naming the launch flags to use instead.
    """
    if num_processes > 1 or os.environ.get("ACCELERATE_USE_CPU", "").lower() != "true":
        return
    asked = _asked_processes(_parent_command_line())
    if asked is not None and asked > 1:
        from ..config import ConfigError

        raise ConfigError(
            f"accelerate launch --cpu --num_processes {asked} started 1 process (accelerate's "
            f"simple launcher does not start more): launch with --multi_gpu --num_processes "
            f"{asked}, which runs {asked} CPU processes (gloo) on a machine without a GPU")


def _parent_command_line() -> list[str]:
    try:
        with open(f"/proc/{os.getppid()}/cmdline", "rb") as f:
            return f.read().decode(errors="replace").split("\0")
    except OSError:  # not Linux, or no access: nothing to check
        return []


def _asked_processes(argv: list[str]) -> int | None:
    """The ``--num_processes`` value of an ``accelerate launch`` command line, if any.

    Examples:
        >>> _asked_processes(["python", "-m", "accelerate.commands.launch", "--cpu",
        ...                   "--num_processes", "2", "train.py"])
        2
        >>> _asked_processes(["accelerate", "launch", "--num-processes=4", "x.py"])
        4
        >>> _asked_processes(["python", "train.py", "--num_processes", "2"]) is None
        True
    """
    if not any("accelerate" in part for part in argv[:3]):
        return None
    for i, part in enumerate(argv):
        for flag in ("--num_processes", "--num-processes"):
            value = (argv[i + 1] if part == flag and i + 1 < len(argv)
                     else part[len(flag) + 1:] if part.startswith(flag + "=") else None)
            if value is not None:
                return int(value) if value.isdigit() else None
    return None
