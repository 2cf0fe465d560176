"""Ignite metrics and metric trackers."""

from .accuracy_history import AccuracyHistory
from .epoch_mean import EpochMean
from .sample_count import SampleCount

__all__ = ["AccuracyHistory", "EpochMean", "SampleCount"]
