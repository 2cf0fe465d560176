"""Random updating (GAL Table 4): one network whose step is kept only on a random subset of its
parameter units each iteration, the control for agreement updating."""

from __future__ import annotations

import torch

from ..data import epoch_generator, is_paired
from .agreement_masks import AgreementUnits
from .masked_update import MaskedUpdate
from .supervised import SupervisedStep

__all__ = ["RandomUpdateStep"]


class RandomUpdateStep:
    """A supervised step whose update is kept on a random ``keep`` fraction of the units.

    The other units get no update at all (value and optimizer state restored, as in
    :class:`ignoise.steps.AgreementStep`). A paired batch trains on its ``"a"`` half.

    Args:
        model: the network (prepared).
        optimizer: its optimizer (prepared).
        accelerator: the run's Accelerator.
        keep: fraction of units updated (the paper uses 1 - noise rate: 0.8, 0.5, 0.2 for 20,
            50, 80% symmetric noise and 0.6 for 40% asymmetric).
        granularity: ``tensor``, ``channel`` or ``element``.
        seed: seeds the masks together with the iteration (same on every rank and on resume).

    Returns (per call): the supervised step's output plus ``updated_ratio``.

    Examples:
        >>> from accelerate import Accelerator
        >>> model = torch.nn.Linear(4, 3)
        >>> step = RandomUpdateStep(model, torch.optim.SGD(model.parameters(), 0.1),
        ...                         Accelerator(cpu=True), keep=0.0)
        >>> before = model.weight.detach().clone()
        >>> _ = step(None, {"x": torch.randn(8, 4), "y": torch.zeros(8, dtype=torch.long),
        ...                 "index": torch.arange(8)})
        >>> torch.equal(before, model.weight)
        True
    """

    def __init__(self, model: torch.nn.Module, optimizer, accelerator, *, keep: float,
                 granularity: str = "tensor", seed: int = 0) -> None:
        if not 0.0 <= keep <= 1.0:
            raise ValueError(f"keep must lie in [0, 1], got {keep}")
        params = [p for p in model.parameters() if p.requires_grad]
        self.units = AgreementUnits([p.shape for p in params], granularity, params[0].device)
        self.keep, self.seed = float(keep), int(seed)
        self._masked = MaskedUpdate(optimizer, params)
        self._supervised = SupervisedStep(model, _Snapshotting(optimizer, self._masked),
                                          accelerator)
        self._calls = 0

    def __call__(self, engine, batch: dict) -> dict:
        iteration = engine.state.iteration if engine is not None else self._calls
        self._calls += 1
        out = self._supervised(engine, batch["a"] if is_paired(batch) else batch)
        draw = torch.rand(self.units.num_units, generator=epoch_generator(self.seed, iteration))
        kept = draw.to(self._masked.params[0].device, non_blocking=True) < self.keep
        self._masked.restore(self.units.split((~kept).float()))
        return {**out, "updated_ratio": self.units.element_fraction(kept)}


class _Snapshotting:
    """The optimizer as the supervised step sees it: a snapshot is taken before each step."""

    def __init__(self, optimizer, masked: MaskedUpdate) -> None:
        self.optimizer, self.masked = optimizer, masked

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        self.masked.snapshot()
        self.optimizer.step()
