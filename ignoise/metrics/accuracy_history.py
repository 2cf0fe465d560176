"""Per-epoch history of evaluation metrics with best and last values."""

from __future__ import annotations

import math

from ignite.engine import Engine, Events

__all__ = ["AccuracyHistory"]


class AccuracyHistory:
    """Runs nothing itself: after each trainer epoch it records the metrics of evaluators that
    have just run, and keeps best and last accuracy.

    Attach it after the handlers that run the evaluators. Its state is checkpointed, so a resumed
    run reports the whole history.

    Args:
        evaluators: name -> evaluator; the history row for epoch ``e`` holds
            ``{f"{name}_{metric}": value}`` for each metric of each evaluator.
        primary: the key whose best and last are reported (e.g. ``"test_accuracy"``).

    Examples:
        >>> history = AccuracyHistory({}, primary="test_accuracy")
        >>> history.record(1, {"test_accuracy": 0.5}); history.record(2, {"test_accuracy": 0.4})
        >>> history.best, history.last
        (0.5, 0.4)
    """

    def __init__(self, evaluators: dict[str, Engine], primary: str = "test_accuracy") -> None:
        self.evaluators = dict(evaluators)
        self.primary = primary
        self.rows: list[dict] = []
        self.extra_sources: list = []

    def attach(self, trainer: Engine) -> None:
        trainer.add_event_handler(Events.EPOCH_COMPLETED, self)

    def add_source(self, source) -> None:
        """Add a callable ``() -> dict`` whose values join each epoch's row (e.g. train loss)."""
        self.extra_sources.append(source)

    def __call__(self, trainer: Engine) -> None:
        row = {}
        for name, evaluator in self.evaluators.items():
            for metric, value in evaluator.state.metrics.items():
                row[f"{name}_{metric}"] = float(value)
        for source in self.extra_sources:
            row.update(source())
        self.record(trainer.state.epoch, row)

    def record(self, epoch: int, row: dict) -> None:
        self.rows.append({"epoch": int(epoch), **row})

    def values(self, key: str | None = None) -> list[float]:
        key = key or self.primary
        return [row[key] for row in self.rows if key in row]

    def best_row(self, key: str) -> dict | None:
        """The first row with the highest finite ``key`` (``None`` when no row has one): the
        epoch a selection by ``key`` (e.g. ``"val_accuracy"``) picks.

        Examples:
            >>> history = AccuracyHistory({})
            >>> for epoch, val in enumerate([0.5, 0.7, 0.7], 1):
            ...     history.record(epoch, {"val_accuracy": val, "test_accuracy": epoch / 10})
            >>> history.best_row("val_accuracy")
            {'epoch': 2, 'val_accuracy': 0.7, 'test_accuracy': 0.2}
        """
        rows = [row for row in self.rows if math.isfinite(row.get(key, math.nan))]
        return max(rows, key=lambda row: row[key]) if rows else None

    @property
    def best(self) -> float | None:
        values = self.values()
        return max(values) if values else None

    @property
    def last(self) -> float | None:
        values = self.values()
        return values[-1] if values else None

    def state_dict(self) -> dict:
        return {"rows": [dict(r) for r in self.rows]}

    def load_state_dict(self, state: dict) -> None:
        self.rows = [dict(r) for r in state["rows"]]
