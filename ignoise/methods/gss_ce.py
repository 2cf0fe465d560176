"""GSS with cross-entropy: one network trained on targets drawn from per-sample direction
pools, rebuilt after every epoch from the network's own training predictions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..config import ConfigError, param
from .ce import CEConfig
from .registry import register

__all__ = ["DirectionPoolOptions", "GSSCEConfig", "ClassBalance", "class_balance_param", "build",
           "direction_pool", "pool_targets"]


#: The class frequencies the pool's predictions are aligned to (DirectionPool's class_balance).
ClassBalance = Literal["none", "uniform", "given"]


def class_balance_param(default: str):
    """The ``class_balance`` field; each method declares its own default."""
    return param(default, "align the predictions to equal or to the given labels' class "
                 "frequencies before the pool reads them (none: the poster; docs/gss.rst)")


@dataclass
class DirectionPoolOptions:
    """The direction pool's hyper-parameters (:class:`ignoise.handlers.DirectionPool`). The
    poster gives the strategies' forms but no values; lambda1 and lambda2 are ours
    (docs/gss.rst)."""

    lambda1: float = param(1.0, "scale of the predicted strategy, v_pr = c lambda1 t", low=0.0)
    lambda2: float = param(0.1, "scale of the random strategy, v_rd = lambda2 t", low=0.0)
    redraw: Literal["epoch", "iteration"] = param("epoch", "draw targets once per epoch or "
                                                  "every iteration")
    predicted_confidence: Literal["predicted", "given"] = param(
        "predicted", "c of v_pr: the probability of the predicted class, or of the given one")
    pool_momentum: float = param(0.0, "moving average of the pool over epochs", low=0.0,
                                 high=1.0, high_open=True)
    max_progress: float = param(1.0, "the schedules stop at t = min(e / E, max_progress) "
                                "(1: the poster, v_or fades out)", low=0.0, high=1.0,
                                low_open=True)
    confidence_gate: float = param(0.0, "v_pr only where max p reaches it (0: never gated)",
                                   low=0.0, high=1.0, high_open=True)
    keep_given: float | None = param(None, "samples whose original weight reaches it keep "
                                     "their given label (null: all switch)", low=0.0, high=1.0,
                                     low_open=True)
    original_weight: Literal["given_prob", "clean_prob"] = param(
        "given_prob", "weight of v_or: p of the given label, or the co-divide's clean "
        "probability (GSS-SSL only)")
    class_balance: ClassBalance = class_balance_param("none")


@dataclass
class GSSCEConfig(CEConfig, DirectionPoolOptions):
    """GSS-CE's hyper-parameters: CE's and the direction pool's."""

    # Aligned to equal class frequencies (docs/gss.rst, "GSS with cross-entropy"): the poster's
    # pool collapsed to a few classes at 80% noise with both digits networks; aligned, it did
    # not, and it was level at 40-50% noise.
    class_balance: ClassBalance = class_balance_param("uniform")

    def validate(self) -> None:
        super().validate()
        if self.original_weight == "clean_prob":
            raise ConfigError("original_weight = clean_prob needs a co-divide (gss_ssl); "
                              "one-network GSS has no clean probability: use given_prob")


def direction_pool(run, data, cfg):
    """The direction pool of every training sample, on the run's device."""
    import torch

    from ..handlers import DirectionPool

    return DirectionPool(torch.as_tensor(data.train.targets), data.num_classes,
                         total_epochs=cfg.epochs, lambda1=cfg.lambda1, lambda2=cfg.lambda2,
                         redraw=cfg.redraw, predicted_confidence=cfg.predicted_confidence,
                         momentum=cfg.pool_momentum, max_progress=cfg.max_progress,
                         confidence_gate=cfg.confidence_gate, keep_given=cfg.keep_given,
                         original_weight=cfg.original_weight, class_balance=cfg.class_balance,
                         seed=cfg.seed, device=run.device)


@register("gss_ce", GSSCEConfig, default_config="gss_ce.yaml",
          description="GSS: cross-entropy on targets drawn from per-sample direction pools")
def build(run, data, cfg: GSSCEConfig, model=None):
    """A supervised step whose targets the pool draws; the pool collects the step's softmax
    outputs over each epoch and is rebuilt from them at its end."""
    from .one_network import build_one_network

    return build_one_network(run, data, cfg, model=model, bias_targets=None,
                             targets_from=pool_targets(run, data, cfg))


def pool_targets(run, data, cfg):
    """``(net, train_eval) -> TargetSource``: the direction pool as a one-network method's
    target source (GSS-CE's, and ``targets: gss`` of the loss baselines)."""
    from ..handlers import drawn_label_distribution
    from .one_network import TargetSource

    if cfg.original_weight == "clean_prob":
        raise ConfigError("original_weight = clean_prob needs a co-divide (gss_ssl); a "
                          "one-network method's pool has no clean probability: use given_prob")

    def source(net, train_eval) -> TargetSource:
        pool = direction_pool(run, data, cfg)
        attach = lambda trainer: pool.attach(
            trainer, output_transform=lambda o: (o["logits"].float().softmax(1), o["index"]))
        return TargetSource(pool.draw_targets, drawn_label_distribution(pool), pool, attach,
                            lambda: {"switched_fraction": pool.switched_fraction()}, "pool",
                            signals={"switched_label": lambda: pool.drawn})

    return source
