"""Stateful objects attached to engines: co-divide, the GSS direction pool, gradient bias, GAL's
phase switch, agreement ratio, pseudo-labels and the per-sample evidence of label quality."""

from .agreement_ratio import AgreementRatio
from .co_divide import CoDivide, clean_probability
from .direction_pool import (
    PREDICTED_CONFIDENCE,
    REDRAW,
    DirectionPool,
    pool_probabilities,
    strategy_values,
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
           "strategy_values", "PREDICTED_CONFIDENCE", "REDRAW", "GradientBias",
           "drawn_label_distribution", "final_layer_gradient", "final_linear",
           "given_label_distribution", "gradient_deviation", "screened_distribution",
           "AgreementRatio", "PhaseSwitch", "PseudoLabels", "SampleEvidence",
           "predict_training_set"]
