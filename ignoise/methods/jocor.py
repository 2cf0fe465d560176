"""JoCoR (Wei et al., CVPR 2020): two networks trained together on the small-loss samples of
a joint loss, their cross-entropies plus a co-regularization that pulls their predictions
together (:class:`~ignoise.steps.JoCoRStep`)."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import param
from .coteaching import ForgetRateConfig
from .registry import register

__all__ = ["JoCoRConfig", "build"]


@dataclass
class JoCoRConfig(ForgetRateConfig):
    """JoCoR's hyper-parameters (the paper's Section 3 and Algorithm 1, the authors' code and
    README): the weight ``lambda`` of the co-regularization, and Co-teaching's forget rate
    ``tau`` and ramp ``T_k`` (``num_gradual``, 10) for the small-loss selection."""

    co_lambda: float | None = param(
        None, "lambda, the co-regularization's weight in the joint loss (null: the authors' "
        "README, 0.9, or 0.65 at 80% symmetric noise; CIFAR-100 sets 0.85)", low=0.0,
        high=1.0)

    def effective_co_lambda(self) -> float:
        """``co_lambda``, or the README's CIFAR-10 values: 0.65 at 80% symmetric noise or
        more, else 0.9."""
        if self.co_lambda is not None:
            return float(self.co_lambda)
        return 0.65 if self.noise == "sym" and self.noise_rate >= 0.8 - 1e-9 else 0.9

    def effective_forget_rate(self) -> float:
        """``tau``: ``forget_rate``, else the synthetic noise rate, halved under asymmetric
        noise as the authors' code (its asymmetric noise flips ``rate`` of half the CIFAR-10
        classes; it halves the rate on CIFAR-100 too, whose every class flips)."""
        if self.forget_rate is None and self.noise == "asym":
            return self.noise_rate / 2
        return super().effective_forget_rate()


@register("jocor", JoCoRConfig, default_config="jocor.yaml",
          description="JoCoR: two networks trained together on the small-loss samples of a "
                      "co-regularized joint loss (Wei et al. 2020)")
def build(run, data, cfg: JoCoRConfig, model=None):
    """Two networks and a JoCoR step; A's test accuracy reported, B's beside it."""
    from ..steps import JoCoRStep, forget_rate_schedule
    from .pair_selection import build_selection_pair

    tau, co_lambda = cfg.effective_forget_rate(), cfg.effective_co_lambda()
    schedule = forget_rate_schedule(tau, cfg.num_gradual, cfg.exponent)
    return build_selection_pair(
        run, data, cfg, model=model,
        make_step=lambda a, b, opt_a, opt_b, acc: JoCoRStep(
            a, b, opt_a, opt_b, acc, forget_rate=schedule, co_lambda=co_lambda),
        scalar_keys=("loss", "loss_a", "loss_b", "co_regularization"),
        extra_results=lambda: {"forget_rate": tau, "co_lambda": co_lambda,
                               "forget_rate_by_epoch": [schedule(e) for e in range(cfg.epochs)]})
