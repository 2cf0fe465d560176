"""F-div (Wei & Liu, ICLR 2021, "When optimizing f-divergence is robust with label noise"): one
network warmed up with cross-entropy, then trained to maximize the variational f-divergence
between the joint distribution of inputs and noisy labels and the product of their marginals
(:class:`~ignoise.losses.FDivergenceLoss`)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import Literal

from ..config import ConfigError, TrainingConfig, param
from .registry import register

__all__ = ["FDivConfig", "build", "phased_lr_factor"]


@dataclass
class FDivConfig(TrainingConfig):
    """F-div's hyper-parameters (the paper and its public code,
    github.com/UCSC-REAL/Robust-f-divergence-measures); defaults are its CIFAR-10 settings."""

    epochs: int = param(340, "training epochs (the authors' CIFAR: 240 of CE, then 100)", low=1)
    lr: float = param(0.1, "initial learning rate (SGD) of the cross-entropy warm-up", low=0.0,
                      low_open=True)
    lr_milestones: list[int] = param([60, 120, 180], "warm-up epochs after which the lr is "
                                     "multiplied by lr_gamma")

    divergence: Literal["total_variation", "jensen_shannon", "pearson", "kl", "jeffrey",
                        "reverse_kl", "squared_hellinger"] = param(
        "total_variation", "the f-divergence maximized (g and f* of the paper's Table 1; the "
        "authors' suggested five: total_variation, jensen_shannon, pearson, kl, jeffrey)")
    warmup_epochs: int = param(240, "epochs of cross-entropy before the f-div loss (the "
                               "authors' CIFAR CE run: 240 epochs)", low=0)
    product_labels: Literal["permuted", "uniform"] = param(
        "permuted", "labels of the product-of-marginals pairs: another sample's given label "
        "(CIFAR code) or a uniformly random class (Clothing1M code)")
    main_lrs: list[float] = param(
        [0.01, 0.001, 1e-4, 1e-5], "learning rate from the switch on and after each of "
        "main_lr_milestones (the authors restart the f-div stage at lr 0.01; empty: lr, "
        "lr_milestones and lr_gamma for the whole run)")
    main_lr_milestones: list[int] = param(
        [30, 60, 90], "epochs after the switch at which the next of main_lrs starts")
    topk: int | None = param(None, "also report top-k test accuracy (mini-WebVision: 5)", low=1)

    def validate(self) -> None:
        super().validate()
        where = type(self).__name__
        if self.warmup_epochs >= self.epochs:
            raise ConfigError(f"{where}: warmup_epochs = {self.warmup_epochs} must be below "
                              f"epochs = {self.epochs} (no epoch would train the f-div loss)")
        if self.main_lrs:
            if len(self.main_lrs) != len(self.main_lr_milestones) + 1:
                raise ConfigError(
                    f"{where}: main_lrs = {self.main_lrs!r} and main_lr_milestones = "
                    f"{self.main_lr_milestones!r}: expected one more learning rate than "
                    "milestones (the first applies from the switch)")
            if any(lr <= 0 for lr in self.main_lrs):
                raise ConfigError(f"{where}: main_lrs = {self.main_lrs!r}: expected positive "
                                  "learning rates")
            m = self.main_lr_milestones
            if any(e < 1 for e in m) or any(a >= b for a, b in zip(m, m[1:])):
                raise ConfigError(f"{where}: main_lr_milestones = {m!r}: expected increasing "
                                  "positive epochs")


def phased_lr_factor(cfg: FDivConfig):
    """``epoch -> lr / cfg.lr`` for :class:`torch.optim.lr_scheduler.LambdaLR`, ``epoch`` the
    number of completed epochs: ``lr_gamma`` per passed ``lr_milestones`` during the warm-up
    (and, without ``main_lrs``, afterwards); from the switch on, ``main_lrs[j]`` with ``j`` the
    number of passed ``main_lr_milestones`` (counted from the switch).

    Examples:
        >>> cfg = FDivConfig(epochs=8, warmup_epochs=4, lr=0.1, lr_milestones=[2],
        ...                  main_lrs=[0.01, 0.001], main_lr_milestones=[2])
        >>> [round(0.1 * phased_lr_factor(cfg)(e), 6) for e in range(8)]
        [0.1, 0.1, 0.01, 0.01, 0.01, 0.01, 0.001, 0.001]
    """
    warmup, lr = cfg.warmup_epochs, cfg.lr
    milestones, gamma = list(cfg.lr_milestones), cfg.lr_gamma
    main_lrs, main_milestones = list(cfg.main_lrs), list(cfg.main_lr_milestones)

    def factor(epoch: int) -> float:
        if epoch < warmup or not main_lrs:
            return gamma ** bisect.bisect_right(milestones, epoch)
        return main_lrs[bisect.bisect_right(main_milestones, epoch - warmup)] / lr

    return factor


@register("fdiv", FDivConfig, default_config="fdiv.yaml",
          description="F-div: maximize the variational f-divergence between the joint and the "
                      "product of inputs and noisy labels (Wei & Liu 2021)")
def build(run, data, cfg: FDivConfig, model=None):
    """One network; a :class:`~ignoise.steps.PhasedStep` runs cross-entropy for
    ``warmup_epochs`` epochs, then the f-div loss, each a
    :class:`~ignoise.steps.SupervisedStep` on the same network and optimizer. The f-div loss's
    generator is checkpointed (``fdiv_loss``)."""
    import torch

    from ..engine import create_trainer
    from ..losses import FDivergenceLoss
    from ..steps import PhasedStep, SupervisedStep
    from .components import new_network, test_evaluators, train_test_loaders
    from .one_network import train_eval_loader
    from .parts import MethodParts

    acc = run.accelerator
    net = new_network(cfg, data, model)
    optimizer = torch.optim.SGD(net.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                                weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, phased_lr_factor(cfg))
    net, optimizer = acc.prepare(net, optimizer)
    plain = acc.unwrap_model(net)

    train_loader, test_loader, sampler = train_test_loaders(run, cfg, data)

    # Each rank draws its own product pairs within its own batch.
    fdiv_loss = FDivergenceLoss(cfg.divergence, num_classes=data.num_classes,
                                product_labels=cfg.product_labels,
                                seed=cfg.seed + 1000 * acc.process_index, device=acc.device)
    step = PhasedStep(lambda epoch: "warmup" if epoch <= cfg.warmup_epochs else "main", {
        "warmup": SupervisedStep(net, optimizer, acc),
        "main": SupervisedStep(net, optimizer, acc, loss_fn=fdiv_loss),
    })
    trainer = create_trainer(step, epoch_samplers=[sampler], lr_schedulers=[scheduler])
    to_save = {"model": net, "optimizer": optimizer, "scheduler": scheduler, "sampler": sampler,
               "fdiv_loss": fdiv_loss}

    def extra_results(history) -> dict:
        return {"noise_report": data.noise.summary(), "divergence": cfg.divergence,
                "warmup_epochs": cfg.warmup_epochs}

    return MethodParts(trainer, train_loader,
                       test_evaluators(run, cfg, data, plain, test_loader, models=[plain],
                                       topk=cfg.topk),
                       to_save, extra_results=extra_results,
                       predict_probs=lambda x: plain(x).softmax(1),
                       train_eval=train_eval_loader(run, cfg, data), predict_models=[plain])
