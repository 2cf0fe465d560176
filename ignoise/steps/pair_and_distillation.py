"""One main-phase iteration of GAL: networks A and B on the paired batch, then network C
distilled from their joint prediction on A's half."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["PairAndDistillationStep"]


class PairAndDistillationStep:
    """Runs the pair's step, then C's :class:`~ignoise.steps.DistillationStep`.

    The pair step (:class:`~ignoise.steps.AgreementStep`,
    :class:`~ignoise.steps.RandomUpdateStep`, :class:`~ignoise.steps.FrozenPairStep` or any step
    returning ``loss``) runs first, so that C's online pseudo-labels come from the pair as it is
    after this iteration's update (Algorithm 2 follows Algorithm 1). The distillation step
    gets the whole paired batch and trains C on its ``"a"`` half, which covers the training set
    once per epoch.

    Args:
        pair_step: the step of A and B, ``(engine, batch) -> dict`` with at least ``loss``.
        distillation: C's step, returning ``loss``, ``loss_kl``, ``loss_pseudo`` and
            ``confident_fraction``.

    Returns (per call): the pair step's output with ``loss`` replaced by the pair's loss plus
    C's, and ``loss_c`` (C's loss), ``loss_kl``, ``loss_pseudo``, ``confident_fraction`` added;
    all detached tensors, nothing read from the device.

    Examples:
        >>> import torch
        >>> from accelerate import Accelerator
        >>> from ignoise.steps import AgreementStep, DistillationStep
        >>> a, b, c = (torch.nn.Linear(4, 3) for _ in range(3))
        >>> sgd = lambda m: torch.optim.SGD(m.parameters(), 0.1)
        >>> acc = Accelerator(cpu=True)
        >>> step = PairAndDistillationStep(
        ...     AgreementStep(a, b, sgd(a), sgd(b), acc),
        ...     DistillationStep(c, sgd(c), acc, teachers=[a, b]))
        >>> half = {"x": torch.randn(8, 4), "y": torch.randint(0, 3, (8,)),
        ...         "index": torch.arange(8)}
        >>> out = step(None, {"a": half, "b": half})
        >>> torch.allclose(out["loss"], out["loss_a"] + out["loss_b"] + out["loss_c"])
        True
    """

    def __init__(self, pair_step: Callable, distillation: Callable) -> None:
        self.pair_step = pair_step
        self.distillation = distillation

    def __call__(self, engine, batch: dict) -> dict:
        out = self.pair_step(engine, batch)
        c = self.distillation(engine, batch)
        return {**out, "loss": out["loss"] + c["loss"], "loss_c": c["loss"],
                "loss_kl": c["loss_kl"], "loss_pseudo": c["loss_pseudo"],
                "confident_fraction": c["confident_fraction"]}
