"""ELR (Liu, Niles-Weed, Razavian & Fernandez-Granda, NeurIPS 2020, "Early-learning
regularization prevents memorization of noisy labels"): one network trained with cross-entropy
plus ``lambda log(1 - <p, t>)``, where ``t`` is a per-sample running average of its own
predictions (:class:`~ignoise.steps.ELRStep`, :class:`~ignoise.handlers.ELRTargets`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..config import TrainingConfig, param
from .gss_ce import DirectionPoolOptions
from .registry import register

__all__ = ["ELRConfig", "build"]


@dataclass
class ELRConfig(TrainingConfig, DirectionPoolOptions):
    """ELR's hyper-parameters (the paper's loss and target estimation; values from the authors'
    configs, github.com/shengliu66/ELR, ``ELR/config_*.json``), the target source, and the
    direction pool's (read only with ``targets: gss``)."""

    beta: float = param(0.7, "momentum of the target estimates, t <- beta t + (1 - beta) p "
                        "(the authors': CIFAR-10 0.7, CIFAR-100 0.9)", low=0.0,
                        high=1.0, high_open=True)
    lambda_elr: float = param(3.0, "lambda, the weight of the regularization log(1 - <p, t>) "
                              "(the authors': CIFAR-10 3, CIFAR-100 7)", low=0.0)
    targets: Literal["given", "gss"] = param(
        "given", "cross-entropy toward the given labels, or toward targets drawn from GSS "
        "direction pools")
    topk: int | None = param(None, "also report top-k test accuracy (mini-WebVision: 5)", low=1)


@register("elr", ELRConfig, default_config="elr.yaml",
          description="early-learning regularization toward running averages of the "
                      "predictions (Liu et al. 2020)")
def build(run, data, cfg: ELRConfig, model=None):
    """One network, an :class:`~ignoise.steps.ELRStep` and the table of target estimates
    (checkpointed as ``elr_targets``); with ``targets: gss`` the cross-entropy's labels are
    drawn from a direction pool fed by the step's predictions (checkpointed as ``pool``)."""
    import torch

    from ..engine import create_trainer
    from ..handlers import ELRTargets
    from ..steps import ELRStep
    from .components import prepared_network, test_evaluators, train_test_loaders
    from .gss_ce import pool_targets
    from .one_network import train_eval_loader
    from .parts import MethodParts

    acc = run.accelerator
    train_eval = train_eval_loader(run, cfg, data)
    net, optimizer, scheduler, plain = prepared_network(run, cfg, data, model)
    train_loader, test_loader, sampler = train_test_loaders(run, cfg, data)

    estimates = ELRTargets(len(data.train), data.num_classes, beta=cfg.beta,
                           batch_size=run.per_process(cfg.batch_size), device=acc.device)
    source = pool_targets(run, data, cfg)(net, train_eval) if cfg.targets == "gss" else None
    step = ELRStep(net, optimizer, acc, estimates=estimates, lam=cfg.lambda_elr,
                   targets=source.targets if source is not None else None)
    trainer = create_trainer(step, epoch_samplers=[sampler], lr_schedulers=[scheduler])
    estimates.attach(trainer)
    to_save = {"model": net, "optimizer": optimizer, "scheduler": scheduler, "sampler": sampler,
               "elr_targets": estimates}
    given = torch.as_tensor(data.train.targets)
    signals = {"elr_target_given": lambda: estimates.weight_on(given).cpu()}
    sources = []
    if source is not None:
        source.attach(trainer)
        to_save[source.name] = source.handler
        sources.append(source.history_row)
        signals.update(source.signals)

    def extra_results(history) -> dict:
        return {"noise_report": data.noise.summary(), "targets": cfg.targets}

    return MethodParts(
        trainer, train_loader,
        test_evaluators(run, cfg, data, plain, test_loader, models=[plain], topk=cfg.topk),
        to_save, scalar_keys=("loss", "regularizer"), history_sources=sources,
        extra_results=extra_results, predict_probs=lambda x: plain(x).softmax(1),
        train_eval=train_eval, predict_models=[plain], evidence_signals=signals)
