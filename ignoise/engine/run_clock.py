"""Wall time of a run, summed over resumed segments."""

from __future__ import annotations

import time

from ignite.engine import Engine, Events

__all__ = ["RunClock"]


class RunClock:
    """Counts the training wall time; checkpointed, so a resumed run reports its total."""

    def __init__(self) -> None:
        self.elapsed = 0.0
        self._since: float | None = None

    def attach(self, trainer: Engine) -> None:
        trainer.add_event_handler(Events.STARTED, self._start)
        trainer.add_event_handler(Events.EPOCH_COMPLETED, self._lap)

    def _start(self, _: Engine) -> None:
        self._since = time.perf_counter()

    def _lap(self, _: Engine) -> None:
        now = time.perf_counter()
        if self._since is not None:
            self.elapsed += now - self._since
        self._since = now

    def state_dict(self) -> dict:
        return {"elapsed": self.elapsed}

    def load_state_dict(self, state: dict) -> None:
        self.elapsed = float(state["elapsed"])
