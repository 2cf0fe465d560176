"""Stateful objects attached to engines: co-divide, the GSS direction pool, gradient bias, GAL's
phase switch, agreement ratio, pseudo-labels, ELR's target estimates, FINE's selection and the
per-sample evidence of label quality."""

from .agreement_ratio import AgreementRatio
from .co_divide import CoDivide, clean_probability
from .direction_pool import (
    CLASS_BALANCE,
    ORIGINAL_WEIGHT,
    PREDICTED_CONFIDENCE,
    REDRAW,
    DirectionPool,
    align_to_prior,
    pool_probabilities,
    strategy_values,
)
from .elr_targets import ELRTargets
from .fine_selection import (
    EIGEN_FROM,
    FINE_SCORES,
    FineSelection,
    class_gram_matrices,
    fine_clean_probability,
    fine_scores,
    principal_directions,
)
from .gradient_bias import (
    GradientBias,
    drawn_label_distribution,
    final_layer_gradient,
    final_linear,
    given_label_distribution,
    gradient_deviation,
    screened_distribution,
)
from .phase_switch import PhaseSwitch
from .pseudo_labels import PseudoLabels
from .sample_evidence import SampleEvidence
from .training_set_predictions import predict_training_set

__all__ = ["CoDivide", "clean_probability", "DirectionPool", "pool_probabilities",
           "strategy_values", "align_to_prior", "PREDICTED_CONFIDENCE", "ORIGINAL_WEIGHT", "REDRAW",
           "CLASS_BALANCE", "GradientBias",
           "drawn_label_distribution", "final_layer_gradient", "final_linear",
           "given_label_distribution", "gradient_deviation", "screened_distribution",
           "AgreementRatio", "PhaseSwitch", "PseudoLabels", "SampleEvidence",
           "predict_training_set", "ELRTargets", "FineSelection", "class_gram_matrices",
           "principal_directions", "fine_scores", "fine_clean_probability", "FINE_SCORES",
           "EIGEN_FROM"]
