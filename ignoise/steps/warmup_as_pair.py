"""GAL's warm-up as one network standing for the paper's identical pair, reporting what that pair
would: equal losses and gradients that agree everywhere."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from ..data import is_paired

__all__ = ["WarmupAsPairStep"]

#: The main-phase outputs the warm-up can stand in for (see :class:`WarmupAsPairStep`).
_FILLED = ("loss_a", "loss_b", "loss_c", "agreement_ratio", "agreement_ratio_tensors",
           "updated_ratio")


class WarmupAsPairStep:
    """Trains one network on the ``"a"`` half of a paired batch and reports the pair's outputs.

    In the paper's warm-up (section 3.2) A and B start equal and get identical batches, so
    they stay equal: their losses are equal and their gradients agree everywhere (the flat
    start of Figure 1). One network trained on A's half stands for that pair (the
    :class:`~ignoise.handlers.PhaseSwitch` clones it into A and B), and this step reports it as
    such, so that every epoch's step output has the same keys as the main phase's and the
    per-epoch history has no gaps:

    - ``loss_a``, ``loss_b`` and ``loss_c`` are the warm-up loss (C, when it is a copy of the
      warm-up network, is that network too);
    - ``agreement_ratio``, ``agreement_ratio_tensors`` and ``updated_ratio`` are 1 (identical
      gradients agree in every unit, and every unit is updated).

    Only the names in ``keys`` are added; other names (such as ``loss``, which the wrapped step
    returns itself) are ignored, so the tuple of the run's logged scalars can be given as is.
    An unpaired batch is trained on as it is.

    Args:
        step: the warm-up network's step (e.g. :class:`~ignoise.steps.SupervisedStep`),
            returning at least ``loss``.
        keys: the main-phase outputs to report (of ``loss_a``, ``loss_b``, ``loss_c``,
            ``agreement_ratio``, ``agreement_ratio_tensors``, ``updated_ratio``).

    Returns (per call): the wrapped step's output plus those of ``keys``, detached tensors on
    the loss's device; nothing here reads the device.

    Examples:
        >>> from accelerate import Accelerator
        >>> from ignoise.steps import SupervisedStep
        >>> model = torch.nn.Linear(4, 3)
        >>> warm = SupervisedStep(model, torch.optim.SGD(model.parameters(), 0.1),
        ...                       Accelerator(cpu=True))
        >>> step = WarmupAsPairStep(warm, keys=("loss", "loss_a", "loss_b", "agreement_ratio"))
        >>> half = {"x": torch.randn(8, 4), "y": torch.randint(0, 3, (8,)),
        ...         "index": torch.arange(8)}
        >>> out = step(None, {"a": half, "b": half})
        >>> bool(out["loss_a"] == out["loss"]), float(out["agreement_ratio"])
        (True, 1.0)
    """

    def __init__(self, step: Callable, keys: Sequence[str]) -> None:
        if isinstance(keys, str):
            raise ValueError(f"keys must be a sequence of output names, got the string {keys!r}")
        self.step = step
        self.keys = tuple(key for key in keys if key in _FILLED)

    def __call__(self, engine, batch: dict) -> dict:
        out = self.step(engine, batch["a"] if is_paired(batch) else batch)
        loss = out["loss"]
        one = torch.ones((), device=loss.device)
        filled = {"loss_a": loss, "loss_b": loss, "loss_c": loss, "agreement_ratio": one,
                  "agreement_ratio_tensors": one, "updated_ratio": one}
        return {**out, **{key: filled[key] for key in self.keys}}
