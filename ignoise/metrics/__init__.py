"""Ignite metrics and metric trackers."""

from .accuracy_history import AccuracyHistory
from .sample_count import SampleCount

__all__ = ["AccuracyHistory", "SampleCount"]
