"""Speed options of a run's networks: the channels-last memory format and ``torch.compile``.

Both change how the same arithmetic is laid out and scheduled, not what is computed: results
move only by float rounding (docs/feeding_the_gpu.rst, "Speed options", measures it). The third
option, bf16 autocast, is Accelerate's mixed precision (``--mixed-precision bf16``), which every
step already runs under (``accelerator.autocast()``).

- **Channels last** (``--channels-last``) stores convolution weights (and so activations)
  ``NHWC``, the layout tensor cores read without transposes; apply it before
  ``accelerator.prepare`` (DDP builds its gradient buckets from the parameters' layout).
- **Compile** (``--compile``) compiles each network's forward in place with
  :meth:`torch.nn.Module.compile`: the module, its ``state_dict`` keys and every reference to it
  (optimizers, DDP, evaluators, checkpoints) stay as they are. Compilation happens at a
  network's first call; where it fails (no C++ compiler for the CPU backend, an unsupported
  platform, an op Dynamo cannot trace) that network warns once and runs eagerly. The steps
  themselves (the agreement masks' multi-tensor updates, DivideMix's mixup) stay eager.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import torch

__all__ = ["to_channels_last", "compile_networks", "compile_network", "is_compile_error"]


def to_channels_last(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` with its 4-d parameters and buffers in the channels-last layout (in place).

    Examples:
        >>> conv = to_channels_last(torch.nn.Conv2d(3, 8, 3))
        >>> conv.weight.is_contiguous(memory_format=torch.channels_last)
        True
    """
    return model.to(memory_format=torch.channels_last)


def is_compile_error(error: BaseException) -> bool:
    """Whether ``error`` comes from Dynamo or Inductor (tracing or code generation), rather
    than from the network's own computation."""
    return any(cls.__module__.startswith(("torch._dynamo", "torch._inductor"))
               for cls in type(error).__mro__)


def compile_network(model: torch.nn.Module, **options) -> torch.nn.Module:
    """Compile ``model``'s forward in place, falling back to eager execution with a warning if
    compiling fails at its first call.

    Args:
        model: the network (the module itself, not a DDP wrapper).
        **options: keyword arguments of :func:`torch.compile` (``mode``, ``backend``, ...).

    Examples:
        >>> net = compile_network(torch.nn.Linear(2, 2), backend="eager")
        >>> net(torch.ones(1, 2)).shape
        torch.Size([1, 2])
    """
    compiled = torch.compile(model._call_impl, **options)

    def call(*args, **kwargs):
        try:
            return compiled(*args, **kwargs)
        except Exception as error:
            if not is_compile_error(error):
                raise
            # Dynamo also reports the network's own errors (a wrong input shape): the eager
            # call raises those as they are; only a network that runs eagerly falls back.
            out = model._call_impl(*args, **kwargs)
            warnings.warn(f"torch.compile failed for {type(model).__name__} "
                          f"({type(error).__name__}: {str(error).splitlines()[0][:200]}); "
                          "it runs eagerly", stacklevel=2)
            model._compiled_call_impl = None
            return out

    # What nn.Module.compile sets: __call__ runs it instead of the eager _call_impl.
    model._compiled_call_impl = call
    return model


def compile_networks(modules: Iterable, **options) -> list[torch.nn.Module]:
    """Compile every distinct network among ``modules`` (DDP wrappers are unwrapped; other
    objects are ignored) and return them.

    Examples:
        >>> net = torch.nn.Linear(2, 2)
        >>> len(compile_networks([net, net, "not a module"], backend="eager"))
        1
    """
    seen: dict[int, torch.nn.Module] = {}
    for module in modules:
        module = getattr(module, "module", module)
        if isinstance(module, torch.nn.Module) and id(module) not in seen:
            seen[id(module)] = compile_network(module, **options)
    return list(seen.values())
