"""Per-sample losses and regularizers (``reduction="none"`` wherever a loss is per sample)."""

from .confidence_penalty import confidence_penalty
from .mixmatch import probability_mse, soft_cross_entropy, uniform_prior_penalty
from .screened_cross_entropy import SCREENED_OUT, screened_cross_entropy

__all__ = ["confidence_penalty", "probability_mse", "soft_cross_entropy", "uniform_prior_penalty",
           "SCREENED_OUT", "screened_cross_entropy"]
