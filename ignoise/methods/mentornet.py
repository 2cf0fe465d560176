"""MentorNet, the self-paced curriculum baseline of the Co-teaching paper (Han et al., NeurIPS
2018, section 4: "we use self-paced MentorNet"; Jiang et al., ICML 2018): one network trained on
the samples whose loss is under a threshold that follows Co-teaching's forget-rate schedule
(:class:`~ignoise.steps.MentorNetStep`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..config import param
from .coteaching import ForgetRateConfig
from .registry import register

__all__ = ["MentorNetConfig", "build"]


@dataclass
class MentorNetConfig(ForgetRateConfig):
    """MentorNet's hyper-parameters: Co-teaching's schedule (``forget_rate``, ``num_gradual``,
    ``exponent``: lambda keeps the ``R(T)`` small-loss fraction, as the Co-teaching paper's
    baseline) and the curriculum's reading."""

    curriculum: Literal["small_loss", "moving_percentile"] = param(
        "small_loss", "lambda: the batch's R(T)-th smallest loss (the Co-teaching baseline) or "
        "a moving average of its 100 R(T)-th loss percentile (MentorNet's code)")
    percentile_decay: float = param(
        0.5, "decay of the moving percentile (MentorNet's loss_moving_average_decay flag: 0.5)",
        low=0.0, high=1.0, high_open=True)
    burn_in_epochs: int = param(0, "first epochs in which every sample is kept (MentorNet's "
                                "burn_in_epoch; Co-teaching's ramp already keeps all in epoch 1)",
                                low=0)


@register("mentornet", MentorNetConfig, default_config="mentornet.yaml",
          description="MentorNet (self-paced): one network trained on its small-loss samples "
                      "(Jiang et al. 2018, as Co-teaching's baseline)")
def build(run, data, cfg: MentorNetConfig, model=None):
    """One network, a MentorNet step with Co-teaching's forget-rate schedule; the kept fraction
    and the threshold lambda are logged per epoch, and lambda is checkpointed."""
    from ..engine import create_trainer
    from ..steps import MentorNetStep, forget_rate_schedule
    from .components import (
        new_network,
        optimizer_with_schedule,
        test_evaluators,
        train_test_loaders,
    )
    from .one_network import train_eval_loader
    from .parts import MethodParts

    acc = run.accelerator
    tau = cfg.effective_forget_rate()
    schedule = forget_rate_schedule(tau, cfg.num_gradual, cfg.exponent)

    net = new_network(cfg, data, model)
    optimizer, scheduler = optimizer_with_schedule(cfg, net)
    net, optimizer = acc.prepare(net, optimizer)
    plain = acc.unwrap_model(net)

    train_loader, test_loader, sampler = train_test_loaders(run, cfg, data)

    step = MentorNetStep(net, optimizer, acc, forget_rate=schedule, curriculum=cfg.curriculum,
                         decay=cfg.percentile_decay, burn_in_epochs=cfg.burn_in_epochs)
    trainer = create_trainer(step, epoch_samplers=[sampler], lr_schedulers=[scheduler])
    to_save = {"model": net, "optimizer": optimizer, "scheduler": scheduler, "sampler": sampler,
               "curriculum_threshold": step.threshold}

    def extra_results(history) -> dict:
        return {"noise_report": data.noise.summary(), "forget_rate": tau,
                "curriculum": cfg.curriculum,
                "forget_rate_by_epoch": [schedule(e) for e in range(cfg.epochs)]}

    return MethodParts(trainer, train_loader,
                       test_evaluators(run, cfg, data, plain, test_loader, models=[plain],
                                       topk=cfg.topk),
                       to_save, scalar_keys=("loss", "kept_fraction", "threshold"),
                       extra_results=extra_results,
                       predict_probs=lambda x: plain(x).softmax(1),
                       train_eval=train_eval_loader(run, cfg, data), predict_models=[plain])
