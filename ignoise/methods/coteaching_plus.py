"""Co-teaching+ (Yu et al., ICML 2019): Co-teaching's cross update of small-loss samples,
restricted to the samples on which the two networks' predictions disagree
(:class:`~ignoise.steps.CoTeachingPlusStep`), after ``init_epoch`` epochs of Co-teaching."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import param
from .coteaching import ForgetRateConfig
from .registry import register

__all__ = ["CoTeachingPlusConfig", "build"]


@dataclass
class CoTeachingPlusConfig(ForgetRateConfig):
    """Co-teaching+'s hyper-parameters (the paper's Algorithm 1 and the authors' ``main.py``):
    Co-teaching's forget rate ``tau`` (the noise rate, or an estimate on real-noise data) and
    ramp ``E_k`` (``num_gradual``), applied to the disagreement set, and ``init_epoch``."""

    init_epoch: int = param(
        20, "epochs of Co-teaching before the disagreement update (the authors' code: "
        "MNIST 0, CIFAR-10 20, CIFAR-100 5)", low=0)
    min_batch_fraction: float = param(
        1.0, "each network's loss is its summed loss over the kept disagreeing samples / "
        "max(their number, this x batch): 1 weighs each as in a plain SGD step, 0 is the "
        "plain mean (the paper leaves it open; the authors' Adam makes it moot)", low=0.0,
        high=1.0)


@register("coteaching_plus", CoTeachingPlusConfig, default_config="coteaching_plus.yaml",
          description="Co-teaching+: Co-teaching on the samples the two networks disagree on "
                      "(Yu et al. 2019)")
def build(run, data, cfg: CoTeachingPlusConfig, model=None):
    """Two networks and a Co-teaching+ step; A's test accuracy reported, B's beside it."""
    from ..steps import CoTeachingPlusStep, forget_rate_schedule
    from .pair_selection import build_selection_pair

    tau = cfg.effective_forget_rate()
    schedule = forget_rate_schedule(tau, cfg.num_gradual, cfg.exponent)
    return build_selection_pair(
        run, data, cfg, model=model,
        make_step=lambda a, b, opt_a, opt_b, acc: CoTeachingPlusStep(
            a, b, opt_a, opt_b, acc, forget_rate=schedule, init_epoch=cfg.init_epoch,
            min_batch_fraction=cfg.min_batch_fraction),
        scalar_keys=("loss", "loss_a", "loss_b", "disagreement"),
        extra_results=lambda: {"forget_rate": tau, "init_epoch": cfg.init_epoch,
                               "min_batch_fraction": cfg.min_batch_fraction,
                               "forget_rate_by_epoch": [schedule(e) for e in range(cfg.epochs)]})
