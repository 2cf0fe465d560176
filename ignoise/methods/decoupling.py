"""Decoupling (Malach & Shalev-Shwartz, NeurIPS 2017): two networks, each updated only on the
samples where their predictions disagree (:class:`~ignoise.steps.DecouplingStep`)."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import TrainingConfig, param
from .registry import register

__all__ = ["DecouplingConfig", "build"]


@dataclass
class DecouplingConfig(TrainingConfig):
    """Decoupling's hyper-parameters (the paper's Algorithm 1, update by disagreement, and the
    authors' ``train.py``); it needs nothing about the noise."""

    init_epochs: int = param(
        0, "epochs of updates on every sample before the disagreement rule (the paper: none; "
        "the code's init_iter, 0 by default)", low=0)
    min_batch_fraction: float = param(
        0.1, "the loss is sum over the disagreement set / max(its size, this x batch) (the "
        "code's min_batch_size; 0: the plain mean over the set)", low=0.0, high=1.0)
    topk: int | None = param(None, "also report top-k test accuracy (mini-WebVision: 5)", low=1)


@register("decoupling", DecouplingConfig, default_config="decoupling.yaml",
          description="Decoupling: two networks, each updated only where their predictions "
                      "disagree (Malach & Shalev-Shwartz 2017)")
def build(run, data, cfg: DecouplingConfig, model=None):
    """Two networks and a Decoupling step; A's test accuracy reported, B's beside it."""
    from ..steps import DecouplingStep
    from .pair_selection import build_selection_pair

    return build_selection_pair(
        run, data, cfg, model=model,
        make_step=lambda a, b, opt_a, opt_b, acc: DecouplingStep(
            a, b, opt_a, opt_b, acc, init_epochs=cfg.init_epochs,
            min_batch_fraction=cfg.min_batch_fraction),
        scalar_keys=("loss", "loss_a", "loss_b", "disagreement"),
        extra_results=lambda: {"init_epochs": cfg.init_epochs,
                               "min_batch_fraction": cfg.min_batch_fraction})
