"""Update steps: one per training scheme, each a callable ``(engine, batch) -> dict``."""

from .supervised import SupervisedStep

__all__ = ["SupervisedStep"]
