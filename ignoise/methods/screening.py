"""Sample screening: cross-entropy on the samples that a two-component GMM on the network's
own per-sample losses judges clean (the "sc" row of the GSS poster's gradient-bias table)."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import ConfigError, param
from .ce import CEConfig
from .registry import register

__all__ = ["ScreeningConfig", "build"]


@dataclass
class ScreeningConfig(CEConfig):
    """Screening's hyper-parameters: CE's, the warm-up before the first division and the
    clean-probability threshold (DivideMix's tau)."""

    warmup_epochs: int = param(10, "epochs of plain cross-entropy before screening", low=1)
    p_threshold: float = param(0.5, "clean-probability threshold of the GMM division",
                               low=0.0, high=1.0, low_open=True, high_open=True)

    def validate(self) -> None:
        super().validate()
        if self.warmup_epochs >= self.epochs:
            raise ConfigError(f"warmup_epochs = {self.warmup_epochs} must be below epochs = "
                              f"{self.epochs}")


@register("screening", ScreeningConfig, default_config="gss_ce.yaml",
          description="cross-entropy on the samples a GMM on the losses judges clean")
def build(run, data, cfg: ScreeningConfig, model=None):
    """A supervised step whose targets mark screened-out samples, which the loss skips; the
    division is refitted at the start of every epoch after the warm-up."""
    import torch

    from ..handlers import CoDivide, screened_distribution
    from .one_network import TargetSource, build_one_network

    def screen(net, train_eval) -> TargetSource:
        division = CoDivide([net], train_eval, num_samples=len(data.train),
                            num_classes=data.num_classes, warmup_epochs=cfg.warmup_epochs,
                            threshold=cfg.p_threshold, accelerator=run.accelerator,
                            seed=cfg.seed)
        given = torch.as_tensor(data.train.targets)
        return TargetSource(division.screen, screened_distribution(division.kept), division,
                            division.attach,
                            lambda: division.summary(data.train.clean_targets, given),
                            "division", signals={"clean_prob": lambda: division.clean_prob[0]})

    return build_one_network(run, data, cfg, model=model, bias_targets=None, targets_from=screen)
