"""ELR+ (Liu et al., NeurIPS 2020): two networks, each with a weight-averaged copy; each network
is trained with mixup and the early-learning regularization toward target estimates from the
averaged copy of the other; the two networks' mean logits predict
(:class:`~ignoise.steps.ELRPlusStep`)."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import TrainingConfig, param
from .registry import register

__all__ = ["ELRPlusConfig", "build"]


@dataclass
class ELRPlusConfig(TrainingConfig):
    """ELR+'s hyper-parameters, from the authors' configs (github.com/shengliu66/ELR,
    ``ELR_plus/config_*.json``; the defaults are CIFAR-10's)."""

    beta: float = param(0.7, "momentum of the target estimates (CIFAR-10 0.7, CIFAR-100 0.9)",
                        low=0.0, high=1.0, high_open=True)
    lambda_elr: float = param(3.0, "lambda, the weight of log(1 - <p, t>) (CIFAR-10 3, "
                              "CIFAR-100 7)", low=0.0)
    lambda_rampup_steps: int = param(0, "iterations of the sigmoid ramp-up of lambda (the "
                                     "code's coef_step: CIFAR-100 40000, else 0: none)", low=0)
    mixup_alpha: float = param(1.0, "alpha of mixup's Beta(alpha, alpha) (WebVision 1.5; 0: "
                               "no mixup)", low=0.0)
    ema_decay: float = param(0.997, "gamma, the decay of the weight average (Clothing1M "
                             "0.9999)", low=0.0, high=1.0, high_open=True)
    ema_rampup_steps: int | None = param(
        40000, "iterations of the sigmoid ramp-up of gamma (the code's ema_step with "
        "ema_update: true); null: Mean Teacher's min(1 - 1/(t + 1), gamma) (Clothing1M, "
        "WebVision)", low=1)
    weight_labels: bool = param(False, "multiply the mixed labels by the mixed target "
                                "estimates and renormalize (the code does so on CIFAR-100)")
    topk: int | None = param(None, "also report top-k test accuracy (mini-WebVision: 5)", low=1)


@register("elr_plus", ELRPlusConfig, default_config="elr_plus.yaml",
          description="ELR+: two networks with weight averaging, mixup and early-learning "
                      "regularization toward each other's targets (Liu et al. 2020)")
def build(run, data, cfg: ELRPlusConfig, model=None):
    """Networks A and B (initialized apart), their averaged copies (``ema_a``, ``ema_b``),
    their target estimates (``elr_targets_a``, ``elr_targets_b``), all checkpointed; the test
    accuracy is that of the mean logits of A and B (the authors' ``_test_epoch``)."""
    import copy

    import torch

    from ..engine import create_trainer
    from ..handlers import ELRTargets
    from ..steps import ELRPlusStep, ema_decay_schedule, sigmoid_rampup
    from .components import new_network, sgd_with_schedule, test_evaluators, train_test_loaders
    from .one_network import train_eval_loader
    from .parts import MethodParts

    acc = run.accelerator
    nets = [new_network(cfg, data, model), new_network(cfg, data, model)]
    # The averaged copies start as their networks (the authors' start from another random
    # initialization, which the decay's ramp-up forgets within the first iterations).
    emas = [copy.deepcopy(net).to(acc.device).requires_grad_(False) for net in nets]
    (opt_a, sched_a), (opt_b, sched_b) = (sgd_with_schedule(cfg, net) for net in nets)
    net_a, net_b, opt_a, opt_b = acc.prepare(*nets, opt_a, opt_b)
    plain_a, plain_b = acc.unwrap_model(net_a), acc.unwrap_model(net_b)

    train_loader, test_loader, sampler = train_test_loaders(run, cfg, data)

    batch = run.per_process(cfg.batch_size)
    estimates = [ELRTargets(len(data.train), data.num_classes, beta=cfg.beta, batch_size=batch,
                            device=acc.device) for _ in range(2)]
    step = ELRPlusStep(
        (net_a, net_b), (opt_a, opt_b), acc, ema_models=emas, estimates=estimates,
        lam=cfg.lambda_elr, mixup_alpha=cfg.mixup_alpha,
        lam_rampup=lambda iteration: sigmoid_rampup(iteration, cfg.lambda_rampup_steps),
        ema_decay=ema_decay_schedule(cfg.ema_decay, cfg.ema_rampup_steps),
        weight_labels=cfg.weight_labels)
    trainer = create_trainer(step, epoch_samplers=[sampler], lr_schedulers=[sched_a, sched_b])
    for table in estimates:
        table.attach(trainer)

    def predict(x):
        return 0.5 * (plain_a(x) + plain_b(x))

    evaluators = test_evaluators(run, cfg, data, predict, test_loader, models=[plain_a, plain_b],
                                 topk=cfg.topk)
    to_save = {"model_a": net_a, "model_b": net_b, "ema_a": emas[0], "ema_b": emas[1],
               "optimizer_a": opt_a, "optimizer_b": opt_b, "scheduler_a": sched_a,
               "scheduler_b": sched_b, "sampler": sampler, "elr_targets_a": estimates[0],
               "elr_targets_b": estimates[1]}

    def extra_results(history) -> dict:
        return {"noise_report": data.noise.summary(), "reported_network": "mean of a and b"}

    given = torch.as_tensor(data.train.targets)
    signals = {"elr_target_given": lambda: 0.5 * (estimates[0].weight_on(given)
                                                   + estimates[1].weight_on(given)).cpu()}

    return MethodParts(trainer, train_loader, evaluators, to_save,
                       scalar_keys=("loss", "loss_a", "loss_b"), extra_results=extra_results,
                       predict_probs=lambda x: predict(x).softmax(1),
                       train_eval=train_eval_loader(run, cfg, data),
                       predict_models=[plain_a, plain_b], evidence_signals=signals)
