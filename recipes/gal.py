"""Gradient agreement learning (GAL): the composition the three dataset recipes share.

Warm-up: one network trained with cross-entropy, copied into A and B (and C) at the end of each
warm-up epoch. Main phase: CDAS paired batches, agreement updating of A and B, and C distilled
from their joint prediction. ``--variant`` selects the ablations of the paper's Table 4 and
the contrast experiment of Figure 1; ``--sampling`` those of Table 5.

    python recipes/gal_cifar.py --dataset digits --noise sym --noise-rate 0.5
"""

from __future__ import annotations

import copy
import warnings
from pathlib import Path

import torch

from ignoise.data import (
    SAMPLING_MODES,
    ClassDistributionAgreementSampler,
    build_loaders,
    build_noisy_data,
    eval_transform,
    loader_sampler,
)
from ignoise.engine import Run, create_evaluator, create_trainer, recipe_parser, resolve_config
from ignoise.handlers import AgreementRatio, PhaseSwitch, PseudoLabels
from ignoise.models import build_model
from ignoise.steps import (
    AGREEMENT_GRANULARITIES,
    AGREEMENT_READINGS,
    MASKED_UPDATES,
    AgreementStep,
    DistillationStep,
    PhasedStep,
    RandomUpdateStep,
    SupervisedStep,
    joint_probabilities,
)

#: networks trained, A/B update rule after the warm-up, whether C is distilled, what
#: ``test_accuracy`` reports ("c", "a" or "joint" = A+B). Table 4 rows and Figure 1.
VARIANTS = {
    "gal": (2, "agreement", True, "c"),
    "ce": (1, None, False, "a"),
    "random_update": (1, "random", False, "a"),
    "ab_ce": (2, "all", False, "joint"),
    "ab_random": (2, "random", False, "joint"),
    "ab_agreement": (2, "agreement", False, "joint"),
    "contrast": (2, "all", False, "joint"),  # Figure 1: identical warm-up batches, then CDAS
}
CHOICES = {"variant": tuple(VARIANTS), "sampling": SAMPLING_MODES,
           "agreement_reading": AGREEMENT_READINGS,
           "agreement_granularity": AGREEMENT_GRANULARITIES, "masked_update": MASKED_UPDATES,
           "pseudo_labels": ("epoch", "online"), "c_init": ("warmup", "scratch")}


def parse(argv, config: Path, description: str | None = None):
    parser = recipe_parser(description or __doc__)
    add = parser.add_argument
    for name in CHOICES:
        add("--" + name.replace("_", "-"), choices=CHOICES[name])
    add("--warmup-epochs", type=int)
    add("--agreement-threshold", type=float, help="tau of eq. 5 (paper: 0.4)")
    add("--pseudo-label-threshold", type=float, help="epsilon of eq. 9 (paper: 0.8)")
    add("--random-keep", type=float, help="fraction updated by random updating (default 1 - rate)")
    cfg = resolve_config(parser.parse_args(argv), config)
    for name, choices in CHOICES.items():
        if getattr(cfg, name) not in choices:
            raise ValueError(f"{name} {getattr(cfg, name)!r}: expected one of {choices}")
    if not isinstance(cfg.warmup_epochs, int) or cfg.warmup_epochs < 0:
        raise ValueError(f"warmup_epochs must be a non-negative integer, got {cfg.warmup_epochs!r}")
    if cfg.random_keep is None:
        cfg.random_keep = 1.0 - float(cfg.noise_rate)
    return cfg


def main(argv=None, config: Path | str = Path(__file__).parent / "configs" / "gal_cifar.yaml",
         description: str | None = None) -> dict:
    # B's and C's schedulers step through the warm-up, in which only the warm-up network's
    # optimizer steps, so that their milestones stay aligned with A's.
    warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler.step\(\)` before")
    cfg = parse(argv, Path(config), description)
    nets, update, distill, report = VARIANTS[cfg.variant]
    run = Run(cfg, method="gal" if cfg.variant == "gal" else f"gal_{cfg.variant}")
    contrast = cfg.variant == "contrast"
    warmup = 0 if contrast else (cfg.epochs if update is None else cfg.warmup_epochs)

    data = build_noisy_data(cfg.dataset, cfg.data_root, noise=cfg.noise, noise_rate=cfg.noise_rate,
                            seed=cfg.seed, download=cfg.download, noise_options=cfg.noise_options)
    # Warm-up batches are plain random ones, the same for both networks (section 3.2); a single
    # network never leaves them.
    sampler = ClassDistributionAgreementSampler(
        data.train.targets, cfg.batch_size, mode=cfg.sampling, num_classes=data.num_classes,
        identical_epochs=cfg.epochs if nets == 1 else cfg.warmup_epochs, **run.shard)
    shared = dict(batch_size=cfg.batch_size // run.accelerator.num_processes,
                  eval_batch_size=cfg.eval_batch_size, num_workers=cfg.num_workers,
                  device=run.device, dataset_name=cfg.dataset, **run.shard)
    train_loader, test_loader = build_loaders(cfg.loader, data.train, data.test,
                                              paired_sampler=sampler, **shared)
    # The training set in a fixed order without augmentation, for the per-epoch pseudo-labels.
    _, train_eval_loader = build_loaders(cfg.loader, data.train,
                                         data.train.with_transform(eval_transform(cfg.dataset)),
                                         **shared)

    net_a = build_model(cfg.model, data.num_classes, data.in_channels, **cfg.model_options)
    models = {"a": net_a}
    if nets == 2:
        models["b"] = copy.deepcopy(net_a)  # A and B start identical (section 3.2)
    if distill:
        models["c"] = (copy.deepcopy(net_a) if cfg.c_init == "warmup" else
                       build_model(cfg.model, data.num_classes, data.in_channels,
                                   **cfg.model_options))
    optimizers = {k: torch.optim.SGD(m.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                                     weight_decay=cfg.weight_decay) for k, m in models.items()}
    schedulers = {k: torch.optim.lr_scheduler.MultiStepLR(o, cfg.lr_milestones, cfg.lr_gamma)
                  for k, o in optimizers.items()}
    prepared = run.accelerator.prepare(*models.values(), *optimizers.values())
    models = dict(zip(models, prepared[:len(models)]))
    optimizers = dict(zip(optimizers, prepared[len(models):]))
    a, acc = models["a"], run.accelerator
    plain = {k: acc.unwrap_model(m) for k, m in models.items()}  # no DDP collectives in eval

    copies = [(models[k], optimizers[k]) for k in models
              if k == "b" or (k == "c" and cfg.c_init == "warmup")]
    switch = PhaseSwitch(warmup, source=(a, optimizers["a"]), targets=copies)
    warm = SupervisedStep(a, optimizers["a"], acc)
    if nets == 1:
        main_step = (lambda e, b: warm(e, b["a"])) if update is None else RandomUpdateStep(
            a, optimizers["a"], acc, keep=cfg.random_keep,
            granularity=cfg.agreement_granularity, seed=cfg.seed)
    else:
        main_step = AgreementStep(
            a, models["b"], optimizers["a"], optimizers["b"], acc,
            agreement_threshold=cfg.agreement_threshold, reading=cfg.agreement_reading,
            granularity=cfg.agreement_granularity, update=update,
            masked_update=cfg.masked_update, random_keep=cfg.random_keep, seed=cfg.seed)
    pseudo = None
    if distill:
        teachers = (a, models["b"])
        if cfg.pseudo_labels == "epoch":
            pseudo = PseudoLabels((plain["a"], plain["b"]), train_eval_loader, len(data.train),
                                  data.num_classes, acc,
                                  pseudo_label_threshold=cfg.pseudo_label_threshold,
                                  clean_targets=data.train.clean_targets, start_epoch=warmup + 1)
        distillation = DistillationStep(
            models["c"], optimizers["c"], acc, pseudo_label_threshold=cfg.pseudo_label_threshold,
            **({"joint": pseudo.lookup} if pseudo else {"teachers": teachers}))
        main_step = _with_distillation(main_step, distillation)
    scalars = _scalar_keys(nets, update, distill and cfg.c_init == "warmup")
    step = PhasedStep(switch.phase, {"warmup": _warmup_step(warm, scalars), "main": main_step})

    trainer = create_trainer(step, epoch_samplers=[loader_sampler(train_loader)],
                             lr_schedulers=schedulers.values())
    switch.attach(trainer)
    ratio = AgreementRatio()
    ratio.attach(trainer)
    if pseudo is not None:
        pseudo.attach(trainer)

    predict = {"a": plain["a"], "c": plain.get("c"),
               "joint": lambda x: joint_probabilities((plain["a"], plain["b"]), x)}
    evaluators = {"test": (create_evaluator(predict[report], acc, models=models.values()),
                           test_loader)}
    if nets == 2 and report != "joint":
        evaluators["joint"] = (create_evaluator(predict["joint"], acc, models=models.values()),
                               test_loader)
    to_save = {**{f"model_{k}": m for k, m in models.items()},
               **{f"optimizer_{k}": o for k, o in optimizers.items()},
               **{f"scheduler_{k}": s for k, s in schedulers.items()},
               "sampler": loader_sampler(train_loader), "agreement_ratio": ratio,
               **({"pseudo_labels": pseudo} if pseudo is not None else {})}
    handlers = run.attach(trainer, evaluators=evaluators, to_save=to_save, scalar_keys=scalars)
    if pseudo is not None:
        handlers.history.add_source(pseudo.summary)

    def extra_results() -> dict:
        joint = handlers.history.values("joint_accuracy")
        return {"noise_report": data.noise.summary(), "variant": cfg.variant,
                "reported_network": report,
                "joint_acc_best": max(joint) if joint else None,
                "joint_acc_last": joint[-1] if joint else None,
                "agreement_ratio_curve": {"iteration": ratio.iterations, **ratio.curve},
                "pseudo_labels": pseudo.summary() if pseudo else None}

    return run.execute(trainer, train_loader, extra_results=extra_results)


def _scalar_keys(nets: int, update, c_is_warm_copy: bool) -> tuple[str, ...]:
    """The step outputs averaged per epoch into the history and logged to TensorBoard: those
    that every phase reports."""
    keys = ["loss"]
    if nets == 2:
        keys += ["loss_a", "loss_b", "agreement_ratio", "agreement_ratio_tensors"]
    if update is not None:
        keys += ["updated_ratio"]
    return tuple(keys + (["loss_c"] if c_is_warm_copy else []))


def _warmup_step(warm, keys: tuple[str, ...]):
    """The warm-up trains one network on A's half of the batch. It stands for the paper's pair
    of identical networks on identical batches, whose losses are equal and whose gradients
    agree everywhere (the flat start of Figure 1), and it reports them as such."""

    def step(engine, batch: dict) -> dict:
        out = warm(engine, batch["a"])
        one = torch.ones((), device=out["loss"].device)
        filled = {"loss_a": out["loss"], "loss_b": out["loss"], "loss_c": out["loss"],
                  "agreement_ratio": one, "agreement_ratio_tensors": one, "updated_ratio": one}
        return {**out, **{k: v for k, v in filled.items() if k in keys}}

    return step


def _with_distillation(pair_step, distillation):
    """One main-phase iteration: A and B on the pair, then C on A's half of it."""

    def step(engine, batch: dict) -> dict:
        out = pair_step(engine, batch)
        c = distillation(engine, batch)
        return {**out, "loss": out["loss"] + c["loss"], "loss_c": c["loss"],
                "loss_kl": c["loss_kl"], "loss_pseudo": c["loss_pseudo"],
                "confident_fraction": c["confident_fraction"]}

    return step


if __name__ == "__main__":
    main()
