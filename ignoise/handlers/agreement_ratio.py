"""The agreement ratio of GAL's Figure 1: the fraction of parameters whose two networks'
gradients agree, recorded at every iteration without reading the device each time."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from ignite.engine import Engine, Events

__all__ = ["AgreementRatio"]


class AgreementRatio:
    """Collects the step's agreement ratios every iteration and reads them once per epoch.

    Each iteration the 0-d device tensors under ``keys`` of the step output are kept; at the end
    of the epoch they are stacked and copied to the host in one transfer. The per-iteration
    curve (for the Figure 1 plot and ``results.json``) and each epoch's mean (for the history)
    are checkpointed, so a resumed run reports the whole curve.

    Args:
        keys: step-output entries to record (iterations without them are skipped; GAL's
            warm-up reports a ratio of 1, the identical pair it stands for).

    Examples:
        >>> from ignite.engine import Engine
        >>> trainer = Engine(lambda e, b: {"agreement_ratio": torch.tensor(b)})
        >>> ratio = AgreementRatio(keys=("agreement_ratio",)); ratio.attach(trainer)
        >>> _ = trainer.run([1.0, 0.5], max_epochs=1)
        >>> ratio.summary(), ratio.curve["agreement_ratio"]
        ({'agreement_ratio': 0.75}, [1.0, 0.5])
    """

    def __init__(self, keys: Sequence[str] = ("agreement_ratio", "agreement_ratio_tensors")):
        self.keys = tuple(keys)
        self.iterations: list[int] = []
        self.curve: dict[str, list[float]] = {key: [] for key in self.keys}
        self.epoch_means: dict[str, float] = {}
        self._pending: list[tuple[int, list[torch.Tensor]]] = []

    def attach(self, trainer: Engine) -> None:
        trainer.add_event_handler(Events.ITERATION_COMPLETED, self._collect)
        trainer.add_event_handler(Events.EPOCH_COMPLETED, self)

    def _collect(self, trainer: Engine) -> None:
        out = trainer.state.output
        if isinstance(out, dict) and all(key in out for key in self.keys):
            self._pending.append((trainer.state.iteration, [out[key] for key in self.keys]))

    def __call__(self, _: Engine) -> None:
        self.epoch_means = {}
        if not self._pending:
            return
        values = torch.stack([torch.stack([v.float() for v in row]) for _, row in self._pending])
        values = values.cpu()  # the epoch's one read of the device
        self.iterations.extend(it for it, _ in self._pending)
        for j, key in enumerate(self.keys):
            self.curve[key].extend(values[:, j].tolist())
            self.epoch_means[key] = float(values[:, j].mean())
        self._pending = []

    def summary(self) -> dict[str, float]:
        """The means over the last epoch (empty if that epoch recorded none)."""
        return dict(self.epoch_means)

    def state_dict(self) -> dict:
        return {"iterations": list(self.iterations), "curve": {k: list(v) for k, v in
                                                               self.curve.items()}}

    def load_state_dict(self, state: dict) -> None:
        self.iterations = [int(i) for i in state["iterations"]]
        self.curve = {k: [float(x) for x in v] for k, v in state["curve"].items()}
