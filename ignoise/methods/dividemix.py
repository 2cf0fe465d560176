"""DivideMix and GSS-SSL: two networks, a per-epoch co-divide by a GMM on their losses, and
MixMatch with label co-refinement and co-guessing; GSS-SSL draws the labeled targets from
per-sample direction pools."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..config import ConfigError, param
from .ce import CEConfig
from .gss_ce import ClassBalance, DirectionPoolOptions, class_balance_param
from .registry import register

__all__ = ["DivideMixConfig", "GSSSSLConfig", "build_dividemix", "build_gss_ssl",
           "ASYMMETRIC_NOISE"]

#: Noise kinds under which DivideMix adds the confidence penalty to the warm-up ("auto"):
#: class-dependent flips, where a network grows over-confident fastest.
ASYMMETRIC_NOISE = ("asym", "pairflip")


@dataclass
class DivideMixConfig(CEConfig):
    """DivideMix's hyper-parameters (Li et al., ICLR 2020, section 4.1 and its public code);
    defaults are its CIFAR-10 settings."""

    epochs: int = param(300, "training epochs", low=1)
    batch_size: int = param(64, "batch of one network per iteration, over all processes",
                            low=1)
    lr_milestones: list[int] = param([150], "epochs after which the lr is multiplied by "
                                     "lr_gamma")

    warmup_epochs: int = param(10, "epochs of cross-entropy warm-up (CIFAR-100: 30)", low=1)
    lambda_u: float | None = param(None, "weight of the unlabeled loss L_u (null: from "
                                   "lambda_u_by_noise)", low=0.0)
    lambda_u_by_noise: dict = param(
        {"sym": {0.2: 0, 0.5: 25, 0.8: 25, 0.9: 50}, "asym": {0.4: 0}},
        "lambda_u by noise kind and rate, as DivideMix published it (CIFAR-10)")
    temperature: float = param(0.5, "sharpening temperature T", low=0.0, low_open=True)
    alpha: float = param(4.0, "mixup's Beta(alpha, alpha)", low=0.0, low_open=True)
    p_threshold: float | None = param(
        None, "clean-probability threshold tau of the co-divide (null: DivideMix's, 0.6 at "
        "90% symmetric noise, else 0.5)", low=0.0, high=1.0, low_open=True, high_open=True)
    rampup_epochs: int = param(16, "epochs of the linear ramp-up of lambda_u", low=0)
    loss_history: int | None = param(
        None, "epochs of losses averaged for the GMM (null: DivideMix's, 5 at 90% symmetric "
        "noise, else 1)", low=1)
    confidence_penalty: bool | Literal["auto"] = param(
        "auto", "negative-entropy penalty in the warm-up (auto: under asym and pair-flip noise)")
    epoch_length: int | None = param(None, "iterations per epoch (null: one warm-up pass)",
                                     low=1)
    labeled_rows_only: bool = param(
        False, "forward and train only the mixed labeled rows (DivideMix's Clothing1M and "
        "WebVision code); false forwards all four views whatever lambda_u, as its CIFAR code")
    alternate: Literal["epoch", "iteration"] = param(
        "epoch", "train network A for a whole epoch, then B, as DivideMix; or A then B on "
        "every iteration")
    test_ensemble: Literal["logits", "probabilities"] = param(
        "logits", "test on the sum of the two networks' logits, as DivideMix; or on the mean "
        "of their softmax outputs")
    division_subset: int | None = param(
        None, "each epoch, divide each network on a fresh class-balanced subset of this many "
        "training samples and train the other on it, as DivideMix's Clothing1M code (32000: "
        "num_batches x batch_size); warm-up batches come from subsets twice that size. null: "
        "the whole training set every epoch", low=1)
    symmetric_includes_true_class: bool = param(
        True, "symmetric noise redraws a corrupted label among all K classes, the true one "
        "included, as DivideMix's code (its CIFAR-10 80% flips 72%); false: among the K - 1 "
        "others, ignoise's default")

    def validate(self) -> None:
        super().validate()
        if self.warmup_epochs >= self.epochs:
            raise ConfigError(f"warmup_epochs = {self.warmup_epochs} must be below epochs = "
                              f"{self.epochs}")
        self.effective_lambda_u()
        if self.division_subset is not None and self.effective_loss_history() != 1:
            raise ConfigError(f"loss_history = {self.effective_loss_history()} averages a "
                              "sample's losses over epochs, but division_subset = "
                              f"{self.division_subset} divides a different subset each epoch: "
                              "set loss_history: 1 or division_subset: null")

    def effective_lambda_u(self) -> float:
        """``lambda_u``, or the ``lambda_u_by_noise`` entry of this noise kind and rate."""
        if self.lambda_u is not None:
            return float(self.lambda_u)
        by_rate = (self.lambda_u_by_noise or {}).get(self.noise, {})
        if not isinstance(by_rate, dict):
            raise ConfigError(f"lambda_u_by_noise.{self.noise} = {by_rate!r}: expected a "
                              "mapping of noise rate to lambda_u")
        for rate, value in by_rate.items():
            try:
                rate, value = float(rate), float(value)
            except (TypeError, ValueError):
                raise ConfigError(f"lambda_u_by_noise.{self.noise} holds {rate!r}: {value!r}; "
                                  "expected noise rate: lambda_u, both numbers") from None
            if abs(rate - float(self.noise_rate)) < 1e-9:
                return value
        held = sorted(map(float, by_rate))
        raise ConfigError(f"lambda_u_by_noise has no entry for {self.noise} noise at rate "
                          f"{self.noise_rate} (it holds {self.noise}: {held}): set lambda_u")

    def effective_noise_options(self) -> dict:
        """``noise_options`` with DivideMix's symmetric-noise convention unless they set it."""
        options = super().effective_noise_options()
        if self.noise == "sym":
            options.setdefault("include_true_class", self.symmetric_includes_true_class)
        return options

    def effective_p_threshold(self) -> float:
        """``p_threshold``, or DivideMix's: 0.6 at 90% symmetric noise (its CIFAR code's
        ``--p_threshold`` for that setting), else 0.5."""
        if self.p_threshold is not None:
            return float(self.p_threshold)
        return 0.6 if self._at_ninety_percent_symmetric() else 0.5

    def effective_loss_history(self) -> int:
        """``loss_history``, or DivideMix's: the losses of the last 5 epochs averaged at 90%
        symmetric noise (its ``eval_train``), else the latest epoch's."""
        if self.loss_history is not None:
            return int(self.loss_history)
        return 5 if self._at_ninety_percent_symmetric() else 1

    def _at_ninety_percent_symmetric(self) -> bool:
        return self.noise == "sym" and float(self.noise_rate) >= 0.9 - 1e-9

    def effective_confidence_penalty(self) -> bool:
        if self.confidence_penalty == "auto":
            return self.noise in ASYMMETRIC_NOISE
        return bool(self.confidence_penalty)


@dataclass
class GSSSSLConfig(DivideMixConfig, DirectionPoolOptions):
    """GSS-SSL's hyper-parameters: DivideMix's, the direction pool's, and where the drawn
    directions enter DivideMix."""

    gss_switched: list[Literal["warmup", "labeled", "unlabeled"]] = param(
        ["labeled"], "where drawn directions replace DivideMix's targets (docs/gss.rst)")
    # The pool GSS-SSL defaults to (docs/gss.rst, "Class collapse and the aligned pool"): the
    # predictions aligned to equal class frequencies, the predicted strategy only
    # where the aligned prediction is at least 0.5 sure, no random direction. The only pool
    # tried that is at least DivideMix's, paired by seed, on all five digits settings (CNN and
    # MLP; symmetric, pair-flip and instance noise), and above it at 80% noise.
    confidence_gate: float = param(0.5, "v_pr only where max p reaches it (0: never gated; "
                                   "GSS-SSL's default 0.5, docs/gss.rst)", low=0.0, high=1.0,
                                   high_open=True)
    lambda2: float = param(0.0, "scale of the random strategy, v_rd = lambda2 t (GSS-SSL's "
                           "default 0: docs/gss.rst)", low=0.0)
    class_balance: ClassBalance = class_balance_param("uniform")  # DivideMix's prior


@register("dividemix", DivideMixConfig, default_config="dividemix.yaml",
          description="DivideMix: co-divide by a GMM on the losses, MixMatch over two networks")
def build_dividemix(run, data, cfg: DivideMixConfig, model=None):
    from .two_network_ssl import build_two_network_ssl

    return build_two_network_ssl(run, data, cfg, model=model, pool=None)


@register("gss_ssl", GSSSSLConfig, default_config="gss_cifar.yaml",
          description="GSS-SSL: DivideMix whose targets are drawn from direction pools")
def build_gss_ssl(run, data, cfg: GSSSSLConfig, model=None):
    from .gss_ce import direction_pool
    from .two_network_ssl import build_two_network_ssl

    return build_two_network_ssl(run, data, cfg, model=model, pool=direction_pool)
