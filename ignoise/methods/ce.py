"""Cross-entropy (CE): one network trained on the given, possibly noisy, labels."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import TrainingConfig, param
from .registry import register

__all__ = ["CEConfig", "build"]


@dataclass
class CEConfig(TrainingConfig):
    """CE's hyper-parameters: the shared ones, plus the evaluation and the gradient-bias probe
    (the GSS poster's table, :class:`ignoise.handlers.GradientBias`)."""

    topk: int | None = param(None, "also report top-k test accuracy (mini-WebVision: 5)", low=1)
    gradient_bias: bool = param(False, "probe the final-layer gradient bias each epoch")
    bias_max_tracked: int = param(1000, "samples the gradient-bias probe tracks", low=1)


@register("ce", CEConfig, description="cross-entropy on the given labels (the baseline)",
          default_config="ce.yaml")
def build(run, data, cfg: CEConfig, model=None):
    """A supervised step on one network; every epoch is evaluated on the test set."""
    from ..handlers import given_label_distribution
    from .one_network import build_one_network

    return build_one_network(run, data, cfg, model=model, bias_targets=given_label_distribution)
