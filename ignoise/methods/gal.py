"""Gradient agreement learning (GAL): a cross-entropy warm-up of one network, cloned into A and
B (and C); then class distribution agreement sampling (CDAS), agreement updating of A and B
(eq. 4-5) and C distilled from their joint prediction (eq. 6-11).

``variant`` selects the ablations of the paper's Table 4, the frozen-pair ablation and the
contrast experiment of Figure 1; ``sampling`` those of Table 5.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

from ..config import TrainingConfig, param
from .registry import register

__all__ = ["GALConfig", "GALVariant", "VARIANTS", "build", "scalar_keys"]


class GALVariant(NamedTuple):
    """What a variant trains: networks (1 or 2), A and B's rule after the warm-up (``None``:
    plain CE throughout; ``"freeze"``: A and B stop learning), whether C is distilled, and the
    network ``test_accuracy`` reports (``"c"``, ``"a"`` or ``"joint"`` = mean softmax of A, B)."""

    networks: int
    update: str | None
    distill: bool
    report: str


#: Table 4 rows, the frozen pair, and Figure 1's contrast (identical warm-up batches, then CDAS
#: with both networks trained on everything).
VARIANTS = {
    "gal": GALVariant(2, "agreement", True, "c"),
    "ce": GALVariant(1, None, False, "a"),
    "random_update": GALVariant(1, "random", False, "a"),
    "ab_ce": GALVariant(2, "all", False, "joint"),
    "ab_random": GALVariant(2, "random", False, "joint"),
    "ab_agreement": GALVariant(2, "agreement", False, "joint"),
    "ab_freeze": GALVariant(2, "freeze", True, "c"),
    "contrast": GALVariant(2, "all", False, "joint"),
}


@dataclass
class GALConfig(TrainingConfig):
    """GAL's hyper-parameters; defaults are the paper's CIFAR settings (section 4.1.2)."""

    epochs: int = param(200, "training epochs", low=1)
    lr: float = param(0.06, "initial learning rate (SGD)", low=0.0, low_open=True)
    lr_milestones: list[int] = param([80, 150], "epochs after which the lr is multiplied by "
                                     "lr_gamma (the first ends the warm-up)")
    warmup_epochs: int = param(80, "epochs of cross-entropy warm-up of one network", low=0)
    variant: Literal[tuple(VARIANTS)] = param(
        "gal", "gal, or an ablation: ce, random_update, ab_ce, ab_random, ab_agreement, "
        "ab_freeze (Table 4), contrast (Figure 1)")
    sampling: Literal["cdas", "cdas_no_reversal", "random", "identical"] = param(
        "cdas", "how A's and B's batches are paired (Table 5)")
    agreement_threshold: float = param(0.4, "tau of eq. 5", low=-1.0, high=1.0)
    agreement_reading: Literal["gradient", "literal", "update"] = param(
        "gradient", "what eq. 4 compares: the gradients, P + lr grad (literal) or the steps")
    agreement_granularity: Literal["tensor", "channel", "element"] = param(
        "tensor", "the unit P_i whose agreement is measured (paper: a parameter tensor)")
    masked_update: Literal["freeze", "zero_grad"] = param(
        "freeze", "a disagreeing unit keeps its value and optimizer state, or only loses its "
        "gradient")
    random_keep: float | None = param(None, "fraction updated by random updating (null: 1 - "
                                      "noise rate, as Table 4)", low=0.0, high=1.0)
    pseudo_label_threshold: float = param(0.8, "epsilon of eq. 9", low=0.0, high=1.0,
                                          high_open=True)
    pseudo_labels: Literal["epoch", "online"] = param(
        "epoch", "C's targets: A and B's predictions refreshed per epoch, or per batch")
    c_init: Literal["warmup", "scratch"] = param("warmup", "C starts as the warm-up network, or "
                                                 "from scratch")


def scalar_keys(variant: GALVariant, c_is_warm_copy: bool) -> tuple[str, ...]:
    """The step outputs averaged per epoch into the history: those every phase reports."""
    keys = ["loss"]
    if variant.networks == 2:
        keys += ["loss_a", "loss_b", "agreement_ratio", "agreement_ratio_tensors"]
    if variant.update is not None:
        keys += ["updated_ratio"]
    return tuple(keys + (["loss_c"] if c_is_warm_copy else []))


@register("gal", GALConfig, default_config="gal_cifar.yaml",
          description="GAL: agreement-masked updates of two networks, a third distilled")
def build(run, data, cfg: GALConfig, model=None):
    """Data, networks, steps and handlers of a GAL run, top to bottom."""
    import copy

    import torch

    from ..data import ClassDistributionAgreementSampler, build_loaders, loader_sampler
    from ..engine import create_evaluator, create_trainer
    from ..handlers import AgreementRatio, PhaseSwitch, PseudoLabels
    from ..steps import (
        AgreementStep,
        DistillationStep,
        FrozenPairStep,
        PairAndDistillationStep,
        PhasedStep,
        RandomUpdateStep,
        SupervisedStep,
        WarmupAsPairStep,
        joint_probabilities,
    )
    from .components import new_network, sgd_with_schedule, test_evaluators
    from .parts import MethodParts

    variant = VARIANTS[cfg.variant]
    acc = run.accelerator
    contrast = cfg.variant == "contrast"
    warmup = 0 if contrast else (cfg.epochs if variant.update is None else cfg.warmup_epochs)
    random_keep = 1.0 - cfg.noise_rate if cfg.random_keep is None else cfg.random_keep

    # Data: warm-up batches are plain random ones, the same for both networks (section 3.2);
    # a single network never leaves them.
    sampler = ClassDistributionAgreementSampler(
        data.train.targets, cfg.batch_size, mode=cfg.sampling, num_classes=data.num_classes,
        identical_epochs=cfg.epochs if variant.networks == 1 else cfg.warmup_epochs, **run.shard)
    shared = dict(batch_size=run.per_process(cfg.batch_size),
                  eval_batch_size=cfg.eval_batch_size, num_workers=cfg.num_workers,
                  device=run.device, dataset_name=data.name, cache_dir=cfg.cache_dir,
                  **run.shard)
    train_loader, test_loader = build_loaders(cfg.loader, data.train, data.test,
                                              paired_sampler=sampler, **shared)
    _, train_eval_loader = build_loaders(cfg.loader, data.train, data.eval_train, **shared)

    # Networks: A and B start identical (section 3.2); C from the warm-up network or scratch.
    net_a = new_network(cfg, data, model)
    models = {"a": net_a}
    if variant.networks == 2:
        models["b"] = copy.deepcopy(net_a)
    if variant.distill:
        models["c"] = (copy.deepcopy(net_a) if cfg.c_init == "warmup"
                       else new_network(cfg, data, model))
    optimizers, schedulers = {}, {}
    for k, m in models.items():
        optimizers[k], schedulers[k] = sgd_with_schedule(cfg, m)
    prepared = acc.prepare(*models.values(), *optimizers.values())
    models = dict(zip(models, prepared[:len(models)]))
    optimizers = dict(zip(optimizers, prepared[len(models):]))
    a = models["a"]
    plain = {k: acc.unwrap_model(m) for k, m in models.items()}  # no DDP collectives in eval

    # Steps: the warm-up network is cloned into B (and C) by the phase switch, which also steps
    # every scheduler (a C from scratch follows A's schedule until it starts training).
    cloned = [k for k in models if k == "b" or (k == "c" and cfg.c_init == "warmup")]
    late = [(optimizers[k], schedulers[k]) for k in models if k != "a" and k not in cloned]
    switch = PhaseSwitch(warmup, source=(a, optimizers["a"], schedulers["a"]),
                         targets=[(models[k], optimizers[k], schedulers[k]) for k in cloned],
                         late=late)
    scalars = scalar_keys(variant, variant.distill and cfg.c_init == "warmup")
    warm = WarmupAsPairStep(SupervisedStep(a, optimizers["a"], acc), scalars)
    if variant.update is None:  # plain CE: the whole run is the warm-up
        main_step = warm
    elif variant.networks == 1:
        main_step = RandomUpdateStep(a, optimizers["a"], acc, keep=random_keep,
                                     granularity=cfg.agreement_granularity, seed=cfg.seed)
    elif variant.update == "freeze":
        main_step = FrozenPairStep((a, models["b"]), acc)
    else:
        main_step = AgreementStep(
            a, models["b"], optimizers["a"], optimizers["b"], acc,
            agreement_threshold=cfg.agreement_threshold, reading=cfg.agreement_reading,
            granularity=cfg.agreement_granularity, update=variant.update,
            masked_update=cfg.masked_update, random_keep=random_keep, seed=cfg.seed)
    pseudo = None
    if variant.distill:
        if cfg.pseudo_labels == "epoch":
            pseudo = PseudoLabels((plain["a"], plain["b"]), train_eval_loader, len(data.train),
                                  data.num_classes, acc,
                                  pseudo_label_threshold=cfg.pseudo_label_threshold,
                                  clean_targets=data.train.clean_targets, start_epoch=warmup + 1)
        distillation = DistillationStep(
            models["c"], optimizers["c"], acc, pseudo_label_threshold=cfg.pseudo_label_threshold,
            **({"joint": pseudo.lookup} if pseudo else {"teachers": (a, models["b"])}))
        main_step = PairAndDistillationStep(main_step, distillation)
    step = PhasedStep(switch.phase, {"warmup": warm, "main": main_step})

    # Trainer and handlers; the switch steps every scheduler.
    trainer = create_trainer(step, epoch_samplers=[loader_sampler(train_loader)])
    switch.attach(trainer)
    ratio = AgreementRatio()
    ratio.attach(trainer)
    if pseudo is not None:
        pseudo.attach(trainer)

    predict = {"a": plain["a"], "c": plain.get("c"),
               "joint": lambda x: joint_probabilities((plain["a"], plain["b"]), x)}
    evaluators = test_evaluators(run, cfg, data, predict[variant.report], test_loader,
                                 models=models.values())
    if variant.networks == 2 and variant.report != "joint":
        evaluators["joint"] = (create_evaluator(predict["joint"], acc, models=models.values()),
                               test_loader)
    to_save = {**{f"model_{k}": m for k, m in models.items()},
               **{f"optimizer_{k}": o for k, o in optimizers.items()},
               **{f"scheduler_{k}": s for k, s in schedulers.items()},
               "sampler": loader_sampler(train_loader), "agreement_ratio": ratio,
               **({"pseudo_labels": pseudo} if pseudo is not None else {})}

    def extra_results(history) -> dict:
        joint = history.values("joint_accuracy")
        return {"noise_report": data.noise.summary(), "variant": cfg.variant,
                "reported_network": variant.report, "random_keep": random_keep,
                "joint_acc_best": max(joint) if joint else None,
                "joint_acc_last": joint[-1] if joint else None,
                "agreement_ratio_curve": {"iteration": ratio.iterations, **ratio.curve},
                "pseudo_labels": pseudo.summary() if pseudo else None}

    probs = {"a": lambda x: plain["a"](x).softmax(1), "c": lambda x: plain["c"](x).softmax(1),
             "joint": predict["joint"]}
    signals = {}
    if pseudo is not None:
        given = torch.as_tensor(data.train.targets, device=acc.device).unsqueeze(1)
        signals = {"joint_prob_given": lambda: pseudo.joint.gather(1, given).squeeze(1),
                   "joint_label": lambda: pseudo.joint.argmax(dim=1)}
    return MethodParts(trainer, train_loader, evaluators, to_save, scalar_keys=scalars,
                       history_sources=[pseudo.summary] if pseudo is not None else [],
                       extra_results=extra_results,
                       method_name="gal" if cfg.variant == "gal" else f"gal_{cfg.variant}",
                       predict_probs=probs[variant.report], train_eval=train_eval_loader,
                       predict_models=list(plain.values()), evidence_signals=signals)
