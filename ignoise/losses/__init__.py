"""Per-sample losses and regularizers (``reduction="none"`` wherever a loss is per sample)."""

from .confidence_penalty import confidence_penalty
from .generalized_cross_entropy import generalized_cross_entropy
from .label_smoothing import label_smoothed_cross_entropy
from .mixmatch import probability_mse, soft_cross_entropy, uniform_prior_penalty
from .screened_cross_entropy import SCREENED_OUT, screened_cross_entropy
from .symmetric_cross_entropy import reverse_cross_entropy, symmetric_cross_entropy

__all__ = ["confidence_penalty", "probability_mse", "soft_cross_entropy", "uniform_prior_penalty",
           "SCREENED_OUT", "screened_cross_entropy", "generalized_cross_entropy",
           "reverse_cross_entropy", "symmetric_cross_entropy", "label_smoothed_cross_entropy"]
