"""Per-sample losses and regularizers (``reduction="none"`` wherever a loss is per sample)."""

from .co_regularization import co_regularization, jocor_loss
from .confidence_penalty import confidence_penalty
from .contrastive import nt_xent
from .elr import ELR_CLAMP, clamped_probabilities, elr_loss, elr_regularizer
from .f_divergence import DIVERGENCES, FDivergenceLoss, f_divergence_terms, product_partners
from .generalized_cross_entropy import generalized_cross_entropy
from .label_smoothing import label_smoothed_cross_entropy
from .mixmatch import probability_mse, soft_cross_entropy, uniform_prior_penalty
from .screened_cross_entropy import SCREENED_OUT, screened_cross_entropy
from .structural_similarity import pairwise_gaussian_similarity, structural_similarity
from .symmetric_cross_entropy import reverse_cross_entropy, symmetric_cross_entropy

__all__ = ["confidence_penalty", "probability_mse", "soft_cross_entropy", "uniform_prior_penalty",
           "SCREENED_OUT", "screened_cross_entropy", "generalized_cross_entropy",
           "reverse_cross_entropy", "symmetric_cross_entropy", "label_smoothed_cross_entropy",
           "co_regularization", "jocor_loss",
           "nt_xent", "pairwise_gaussian_similarity", "structural_similarity",
           "DIVERGENCES", "FDivergenceLoss", "f_divergence_terms", "product_partners",
           "ELR_CLAMP", "clamped_probabilities", "elr_loss", "elr_regularizer"]
