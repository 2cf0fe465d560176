"""FINE (Kim, Ko, Kim & Yun, NeurIPS 2021, "FINE Samples for Learning with Noisy Labels"): one
network trained with cross-entropy on the samples whose features align with their labeled
class's principal eigenvector (:class:`~ignoise.handlers.FineSelection`), reselected during
training after a warm-up on every sample."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..config import ConfigError, param
from .ce import CEConfig
from .registry import register

__all__ = ["FineConfig", "build"]


@dataclass
class FineConfig(CEConfig):
    """FINE's hyper-parameters (the paper's Algorithm 1 and the authors' code,
    github.com/Kthyeon/FINE_official, ``dynamic_selection``); defaults are its CIFAR settings."""

    model: str = param("resnet34", "preact_resnet18, resnet34, resnet50 or digits_cnn")
    epochs: int = param(120, "training epochs (CIFAR-10: 120, CIFAR-100: 150)", low=1)
    lr: float = param(0.02, "initial learning rate (SGD)", low=0.0, low_open=True)
    weight_decay: float = param(1e-3, "SGD weight decay", low=0.0)
    lr_milestones: list[int] = param([40, 80], "epochs after which the lr is multiplied by "
                                     "lr_gamma (CIFAR-100: 80, 120)")
    lr_gamma: float = param(0.01, "lr factor at each milestone", low=0.0, high=1.0,
                            low_open=True)

    warmup_epochs: int = param(40, "epochs of cross-entropy on every sample before the first "
                               "selection (the authors' --warmup: CIFAR 40, Clothing1M 1)",
                               low=0)
    every: int = param(10, "epochs between selections after the warm-up (the authors' --every: "
                       "CIFAR 10, Clothing1M 1)", low=1)
    p_threshold: float = param(0.5, "zeta: a sample is selected when the mixture's "
                               "probability of its larger-mean component exceeds it", low=0.0,
                               high=1.0, low_open=True, high_open=True)
    eigen_from: Literal["selected", "all"] = param(
        "selected", "samples whose features build each class's gram matrix: those selected "
        "last time (the authors' code) or all of the class")
    score: Literal["squared", "absolute"] = param(
        "squared", "FINE score: <u, z/|z|>^2 (the paper's Algorithm 1) or |<u, z/|z|>| (the "
        "authors' code)")

    def validate(self) -> None:
        super().validate()
        if self.warmup_epochs >= self.epochs:
            raise ConfigError(f"{type(self).__name__}: warmup_epochs = {self.warmup_epochs} "
                              f"must be below epochs = {self.epochs} (no epoch would select)")


@register("fine", FineConfig, default_config="fine.yaml",
          description="FINE: cross-entropy on the samples aligned with their class's principal "
                      "eigenvector (Kim et al. 2021)")
def build(run, data, cfg: FineConfig, model=None):
    """The one-network composition with a :class:`~ignoise.handlers.FineSelection` as its
    target source: the step's targets mark the unselected samples, which
    :func:`~ignoise.losses.screened_cross_entropy` skips (a mean over the selected ones).

    The authors' code instead rebuilds its training loader over the selected samples after
    each selection (full batches, fewer iterations per epoch); here every epoch runs over the
    whole training set with the unselected samples masked out of each batch's mean, so the
    selected samples are seen as often but through smaller effective batches (and more
    optimizer steps)."""
    from ..handlers import FineSelection, screened_distribution
    from .one_network import TargetSource, build_one_network

    def select(net, train_eval) -> TargetSource:
        fine = FineSelection(net, train_eval, data.train.targets, data.num_classes,
                             warmup_epochs=cfg.warmup_epochs, every=cfg.every,
                             threshold=cfg.p_threshold, eigen_from=cfg.eigen_from,
                             score=cfg.score, accelerator=run.accelerator, seed=cfg.seed)
        return TargetSource(fine.screen, screened_distribution(fine.kept), fine, fine.attach,
                            lambda: fine.summary(data.train.clean_targets), "fine_selection",
                            signals={"fine_score": lambda: fine.scores,
                                     "fine_clean_prob": lambda: fine.clean_prob})

    return build_one_network(run, data, cfg, model=model, bias_targets=None, targets_from=select)
