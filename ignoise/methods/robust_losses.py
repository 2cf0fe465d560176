"""The loss baselines: one network trained with a noise-robust per-sample loss (GCE, SCE,
label smoothing), toward the given labels or, with ``targets: gss``, toward targets drawn from
GSS's direction pools (the poster's "GSS with various frameworks")."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Literal

from ..config import param
from .ce import CEConfig
from .gss_ce import DirectionPoolOptions
from .registry import register

__all__ = ["RobustLossConfig", "GCEConfig", "SCEConfig", "LabelSmoothingConfig", "build_gce",
           "build_sce", "build_label_smoothing"]


@dataclass
class RobustLossConfig(CEConfig, DirectionPoolOptions):
    """What every loss baseline shares: CE's hyper-parameters, the target source, and the
    direction pool's (read only with ``targets: gss``)."""

    targets: Literal["given", "gss"] = param(
        "given", "train toward the given labels, or toward targets drawn from GSS direction pools")


@dataclass
class GCEConfig(RobustLossConfig):
    """GCE's hyper-parameters (Zhang & Sabuncu 2018)."""

    q: float = param(0.7, "exponent of the L_q loss (the paper's 0.7)", low=0.0, high=1.0,
                     low_open=True)


@dataclass
class SCEConfig(RobustLossConfig):
    """SCE's hyper-parameters (Wang et al. 2019; alpha, beta per dataset)."""

    alpha: float = param(0.1, "weight of cross-entropy (paper: CIFAR-10 0.1, CIFAR-100 6.0)",
                         low=0.0)
    beta: float = param(1.0, "weight of reverse cross-entropy (paper: CIFAR-10 1.0, "
                        "CIFAR-100 0.1)", low=0.0)
    log_zero: float = param(-4.0, "A, the value of log 0 in reverse cross-entropy (paper: -4; "
                            "the authors' code: ln 1e-4 = -9.21)", high=0.0, high_open=True)


@dataclass
class LabelSmoothingConfig(RobustLossConfig):
    """Label smoothing's hyper-parameter (Szegedy et al. 2016; Lukasik et al. 2020)."""

    smoothing: float = param(0.1, "eps: weight of the uniform distribution in the target",
                             low=0.0, high=1.0)


def build_with_loss(run, data, cfg: RobustLossConfig, loss_fn, model=None):
    """The one-network composition with ``loss_fn``, on the given labels or the pool's."""
    from ..handlers import given_label_distribution
    from .gss_ce import pool_targets
    from .one_network import build_one_network

    if cfg.targets == "gss":
        return build_one_network(run, data, cfg, model=model, bias_targets=None,
                                 targets_from=pool_targets(run, data, cfg), loss_fn=loss_fn)
    return build_one_network(run, data, cfg, model=model, bias_targets=given_label_distribution,
                             loss_fn=loss_fn)


@register("gce", GCEConfig, default_config="gce.yaml",
          description="generalized cross-entropy, the L_q loss (Zhang & Sabuncu 2018)")
def build_gce(run, data, cfg: GCEConfig, model=None):
    from ..losses import generalized_cross_entropy

    return build_with_loss(run, data, cfg, partial(generalized_cross_entropy, q=cfg.q), model)


@register("sce", SCEConfig, default_config="sce.yaml",
          description="symmetric cross-entropy, alpha CE + beta reverse CE (Wang et al. 2019)")
def build_sce(run, data, cfg: SCEConfig, model=None):
    from ..losses import symmetric_cross_entropy

    loss = partial(symmetric_cross_entropy, alpha=cfg.alpha, beta=cfg.beta,
                   log_zero=cfg.log_zero)
    return build_with_loss(run, data, cfg, loss, model)


@register("label_smoothing", LabelSmoothingConfig, default_config="label_smoothing.yaml",
          description="cross-entropy toward label-smoothed targets (Szegedy et al. 2016)")
def build_label_smoothing(run, data, cfg: LabelSmoothingConfig, model=None):
    from ..losses import label_smoothed_cross_entropy

    loss = partial(label_smoothed_cross_entropy, smoothing=cfg.smoothing)
    return build_with_loss(run, data, cfg, loss, model)
