"""Co-teaching (Han et al., NeurIPS 2018): two networks, each updated on the small-loss samples
of the other (:class:`~ignoise.steps.CoTeachingStep`), the fraction dropped ramped up to the
forget rate over the first epochs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..config import ConfigError, TrainingConfig, param
from .gss_ce import DirectionPoolOptions
from .registry import register

__all__ = ["ForgetRateConfig", "CoTeachingConfig", "REAL_NOISE_DATASETS", "build"]

#: Datasets whose labels are noisy as given: their noise rate is unknown to the config, so
#: the forget rate must be set (with each estimate a paper used).
REAL_NOISE_DATASETS = ("cifar10n", "cifar100n", "animal10n", "clothing1m", "webvision")


@dataclass
class ForgetRateConfig(TrainingConfig):
    """The small-loss selection's hyper-parameters, Co-teaching's (the paper's section 3 and
    Algorithm 1), which Co-teaching+, JoCoR and MentorNet share."""

    forget_rate: float | None = param(
        None, "tau, the fraction of each batch dropped once the ramp is over (null: the noise "
        "rate; required on real-noise datasets)", low=0.0, high=1.0, high_open=True)
    num_gradual: int = param(10, "T_k, the epochs over which the forget rate ramps up to tau",
                             low=0)
    exponent: float = param(1.0, "c of the Co-teaching+ code: the ramp ends at tau ** c",
                            low=0.0, low_open=True)
    topk: int | None = param(None, "also report top-k test accuracy (mini-WebVision: 5)", low=1)
    # Optimization: the Adam of the Co-teaching, Co-teaching+ and JoCoR codes (bhanML/Co-teaching,
    # xingruiyu/coteaching_plus, hongxin001/JoCoR main.py: lr 0.001, beta1 0.9, no weight decay,
    # adjust_learning_rate's linear decay from epoch_decay_start 80 of 200).
    optimizer: Literal["sgd", "adam"] = param(
        "adam", "adam: the Co-teaching codes' Adam (lr, weight_decay, lr_decay_start); sgd: "
        "SGD (lr, momentum, weight_decay, lr_milestones, lr_gamma)")
    lr: float = param(0.001, "initial learning rate (the Co-teaching codes' Adam: 0.001)",
                      low=0.0, low_open=True)
    weight_decay: float = param(0.0, "weight decay (the Co-teaching codes' Adam: none)",
                                low=0.0)
    lr_decay_start: int | None = param(
        80, "Adam: the epoch from which the lr falls linearly to 0 at the last epoch and beta1 "
        "is 0.1 (the Co-teaching codes' epoch_decay_start: 80, CIFAR-100 100 in Co-teaching's "
        "and JoCoR's; null: no decay; sgd: must be null)", low=0)

    def validate(self) -> None:
        super().validate()
        if self.optimizer == "sgd" and self.lr_decay_start is not None:
            raise ConfigError(
                f"{type(self).__name__}: lr_decay_start = {self.lr_decay_start} with optimizer "
                "= 'sgd': the linear decay is the Adam schedule's; SGD's lr follows "
                "lr_milestones. Set lr_decay_start to null, or optimizer to 'adam'")
        if (self.forget_rate is None and self.dataset in REAL_NOISE_DATASETS
                and self.noise == "none"):
            raise ConfigError(
                f"{type(self).__name__}: forget_rate = null on {self.dataset}, whose noise rate "
                "is not known: set forget_rate to an estimate of its noise rate, a float in "
                "[0, 1) (e.g. Animal-10N 0.08, Clothing1M 0.385, mini-WebVision 0.2)")

    def effective_forget_rate(self) -> float:
        """``tau``: ``forget_rate``, or the synthetic noise rate when it is null."""
        return self.noise_rate if self.forget_rate is None else self.forget_rate


@dataclass
class CoTeachingConfig(ForgetRateConfig, DirectionPoolOptions):
    """Co-teaching's hyper-parameters, and where its per-sample losses point: the given labels
    or, with ``targets: gss``, targets drawn from GSS's direction pools (the poster's "GSS with
    various frameworks")."""

    targets: Literal["given", "gss"] = param(
        "given", "rank and train on the given labels, or on targets drawn from GSS direction "
        "pools (rebuilt each epoch from network A's predictions)")


@register("coteaching", CoTeachingConfig, default_config="coteaching.yaml",
          description="Co-teaching: two networks, each trained on the other's small-loss "
                      "samples (Han et al. 2018)")
def build(run, data, cfg: CoTeachingConfig, model=None):
    """Two independently initialized networks and a Co-teaching step
    (:func:`~ignoise.methods.pair_selection.build_selection_pair`); with ``targets: gss`` a
    direction pool, rebuilt after every epoch from network A's softmax outputs, draws the
    labels both networks rank and learn from."""
    from ..steps import CoTeachingStep, forget_rate_schedule
    from .gss_ce import direction_pool
    from .pair_selection import build_selection_pair

    tau = cfg.effective_forget_rate()
    schedule = forget_rate_schedule(tau, cfg.num_gradual, cfg.exponent)
    if cfg.targets == "gss" and cfg.original_weight == "clean_prob":
        raise ConfigError("original_weight = clean_prob needs a co-divide (gss_ssl); "
                          "Co-teaching's pool has no clean probability: use given_prob")
    pool = direction_pool(run, data, cfg) if cfg.targets == "gss" else None
    parts = build_selection_pair(
        run, data, cfg, model=model, scalar_keys=("loss", "loss_a", "loss_b"),
        make_step=lambda a, b, opt_a, opt_b, acc: CoTeachingStep(
            a, b, opt_a, opt_b, acc, forget_rate=schedule,
            targets=pool.draw_targets if pool is not None else None),
        extra_results=lambda: {"forget_rate": tau, "targets": cfg.targets,
                               "forget_rate_by_epoch": [schedule(e) for e in range(cfg.epochs)]})
    if pool is not None:
        pool.attach(parts.trainer,
                    output_transform=lambda o: (o["logits"].float().softmax(1), o["index"]))
        parts.to_save["pool"] = pool
        parts.history_sources.append(lambda: {"switched_fraction": pool.switched_fraction()})
        parts.evidence_signals["switched_label"] = lambda: pool.drawn
    return parts
