"""The gradient switching strategy (GSS) and its framework, DivideMix: the composition that the
DivideMix, GSS and gradient-bias recipes share.

``--variant`` picks the method: ``dividemix`` (co-divide + MixMatch over two networks),
``gss_ssl`` (DivideMix whose targets are drawn from a direction pool), ``gss_ce`` (cross-entropy
on targets drawn from a direction pool), ``ce`` and ``screening`` (cross-entropy on the samples
a GMM on the losses judges clean), the last two as references of the gradient-bias table.

    python recipes/gss_cifar.py --dataset digits --noise sym --noise-rate 0.5
"""

from __future__ import annotations

from pathlib import Path

import torch

from ignoise.data import (
    CoDivideBatchSampler,
    TwoViewDataset,
    build_loaders,
    build_noisy_data,
    eval_transform,
    load_extra_eval_sets,
    loader_sampler,
    make_codivide_loader,
    make_eval_loader,
)
from ignoise.engine import Run, create_evaluator, create_trainer, recipe_parser, resolve_config
from ignoise.handlers import (
    CoDivide,
    DirectionPool,
    GradientBias,
    drawn_label_distribution,
    given_label_distribution,
    screened_distribution,
)
from ignoise.handlers.direction_pool import PREDICTED_CONFIDENCE, REDRAW
from ignoise.losses import screened_cross_entropy
from ignoise.models import build_model
from ignoise.steps import SWITCHABLE_TARGETS, DivideMixStep, SupervisedStep

#: variant -> (framework, uses a direction pool)
VARIANTS = {"dividemix": ("dividemix", False), "gss_ssl": ("dividemix", True),
            "ce": ("ce", False), "gss_ce": ("ce", True), "screening": ("ce", False)}


def parse(argv, config: Path, description: str | None = None):
    parser = recipe_parser(description or __doc__)
    add = parser.add_argument
    add("--variant", choices=tuple(VARIANTS))
    add("--warmup-epochs", type=int)
    add("--lambda-u", type=float, help="unlabeled loss weight (default: per noise level)")
    add("--lambda1", type=float, help="scale of GSS's predicted strategy")
    add("--lambda2", type=float, help="scale of GSS's random strategy")
    add("--redraw", choices=REDRAW, help="draw GSS targets per epoch or per iteration")
    add("--predicted-confidence", choices=PREDICTED_CONFIDENCE)
    add("--gss-switched", nargs="+", choices=SWITCHABLE_TARGETS,
        help="where GSS-SSL uses drawn targets")
    add("--gradient-bias", action="store_true", default=None, help="probe the gradient bias")
    cfg = resolve_config(parser.parse_args(argv), config)
    if not 1 <= cfg.warmup_epochs < cfg.epochs:
        raise ValueError(f"warmup_epochs {cfg.warmup_epochs} is outside [1, epochs={cfg.epochs}): "
                         "pass --warmup-epochs")
    if cfg.lambda_u is None and VARIANTS[cfg.variant][0] == "dividemix":
        cfg.lambda_u = _per_noise(cfg.lambda_u_by_noise, cfg.noise, cfg.noise_rate, config)
    if cfg.confidence_penalty == "auto":
        cfg.confidence_penalty = cfg.noise == "asym"
    return cfg


def _per_noise(table: dict, noise: str, rate: float, config: Path) -> float:
    """A value by noise type and rate, e.g. DivideMix's lambda_u."""
    by_rate = (table or {}).get(noise, {})
    for key, value in by_rate.items():
        if abs(float(key) - float(rate)) < 1e-9:
            return float(value)
    raise ValueError(f"{config} has no lambda_u for {noise} noise at rate {rate} "
                     f"(lambda_u_by_noise.{noise} holds {sorted(by_rate)}): pass --lambda-u")


def _optimizer(cfg, model):
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                                weight_decay=cfg.weight_decay)
    return optimizer, torch.optim.lr_scheduler.MultiStepLR(optimizer, cfg.lr_milestones,
                                                           cfg.lr_gamma)


def main(argv=None, config: Path | str = Path(__file__).parent / "configs" / "gss_cifar.yaml",
         description: str | None = None) -> dict:
    cfg = parse(argv, Path(config), description)
    framework, uses_pool = VARIANTS[cfg.variant]
    run = Run(cfg, method=cfg.variant)
    acc, shard = run.accelerator, run.shard

    data = build_noisy_data(cfg.dataset, cfg.data_root, noise=cfg.noise, noise_rate=cfg.noise_rate,
                            seed=cfg.seed, download=cfg.download, noise_options=cfg.noise_options)
    eval_bs = cfg.eval_batch_size or 2 * cfg.batch_size
    split = {"rank": shard["rank"], "world_size": shard["world_size"],
             "num_workers": cfg.num_workers}
    train_eval = make_eval_loader(data.train.with_transform(eval_transform(cfg.dataset)), eval_bs,
                                  **split)
    n, k = len(data.train), data.num_classes
    given = torch.as_tensor(data.train.targets)

    nets = [build_model(cfg.model, k, in_channels=data.in_channels, **cfg.model_options)
            for _ in range(2 if framework == "dividemix" else 1)]
    optimizers, schedulers = zip(*(_optimizer(cfg, net) for net in nets))
    prepared = acc.prepare(*nets, *optimizers)
    nets, optimizers = list(prepared[:len(nets)]), list(prepared[len(nets):])
    plain = [acc.unwrap_model(net) for net in nets]

    pool = None
    if uses_pool:
        pool = DirectionPool(given, k, total_epochs=cfg.epochs, lambda1=cfg.lambda1,
                             lambda2=cfg.lambda2, redraw=cfg.redraw,
                             predicted_confidence=cfg.predicted_confidence,
                             momentum=cfg.pool_momentum, seed=cfg.seed, device=run.device)

    if framework == "dividemix":
        if cfg.loader != "torch":
            raise ValueError("DivideMix needs two augmented views: --loader torch, got "
                             f"{cfg.loader!r}")
        sampler = CoDivideBatchSampler(n, cfg.batch_size, epoch_length=cfg.epoch_length, **shard)
        train_loader = make_codivide_loader(TwoViewDataset(data.train), sampler,
                                            num_workers=cfg.num_workers)
        test_loader = make_eval_loader(data.test, eval_bs, **split)
        division = CoDivide(nets, train_eval, num_samples=n, num_classes=k,
                            warmup_epochs=cfg.warmup_epochs, threshold=cfg.p_threshold,
                            sampler=sampler, loss_history=cfg.loss_history,
                            predictions_every_epoch=uses_pool, accelerator=acc, seed=cfg.seed)
        step = DivideMixStep(nets, optimizers, acc, division=division, num_classes=k,
                             warmup_epochs=cfg.warmup_epochs, lambda_u=cfg.lambda_u,
                             temperature=cfg.temperature, alpha=cfg.alpha,
                             rampup_epochs=cfg.rampup_epochs,
                             confidence_penalty=cfg.confidence_penalty,
                             targets=pool.draw_targets if pool else None,
                             switched=cfg.gss_switched)
        bias_targets = step.target_distribution
        # DivideMix tests the average of the two networks' predictions.
        predict = lambda x: (plain[0](x).softmax(1) + plain[1](x).softmax(1)) / 2
    else:
        train_loader, test_loader = build_loaders(
            cfg.loader, data.train, data.test, batch_size=cfg.batch_size,
            eval_batch_size=eval_bs, num_workers=cfg.num_workers, device=run.device,
            dataset_name=cfg.dataset, **shard)
        sampler = loader_sampler(train_loader)
        division = None
        targets, bias_targets = None, given_label_distribution
        if pool is not None:
            targets, bias_targets = pool.draw_targets, drawn_label_distribution(pool)
        if cfg.variant == "screening":  # CE on the samples its own GMM judges clean
            division = CoDivide(nets, train_eval, num_samples=n, num_classes=k,
                                warmup_epochs=cfg.warmup_epochs, threshold=cfg.p_threshold,
                                accelerator=acc, seed=cfg.seed)
            targets, bias_targets = division.screen, screened_distribution(division.kept)
        step = SupervisedStep(nets[0], optimizers[0], acc, targets=targets,
                              loss_fn=screened_cross_entropy)
        predict = plain[0]

    trainer = create_trainer(step, epoch_samplers=[sampler], lr_schedulers=schedulers)
    if division is not None:
        division.attach(trainer)
    if pool is not None:
        if division is not None:
            pool.attach(trainer, predictions=lambda: division.predictions)
        else:
            pool.attach(trainer, output_transform=lambda o: (o["logits"].float().softmax(1),
                                                             o["index"]))
    bias = None
    if cfg.gradient_bias:
        bias = GradientBias(nets[0], train_eval, bias_targets, optimizer=optimizers[0],
                            given_targets=data.train.targets,
                            clean_targets=data.train.clean_targets,
                            max_tracked=cfg.bias_max_tracked, seed=cfg.seed, accelerator=acc)
        bias.attach(trainer)

    evaluate = lambda: create_evaluator(predict, acc, models=plain, topk=cfg.topk)
    evaluators = {"test": (evaluate(), test_loader)}
    for name, extra in load_extra_eval_sets(cfg.dataset, cfg.data_root).items():
        evaluators[name] = (evaluate(), make_eval_loader(extra, eval_bs, **split))
    to_save = {"sampler": sampler}
    for i, (net, opt, sched) in enumerate(zip(nets, optimizers, schedulers)):
        to_save.update({f"model_{i}": net, f"optimizer_{i}": opt, f"scheduler_{i}": sched})
    to_save.update({name: obj for name, obj in (("division", division), ("pool", pool),
                                                ("gradient_bias", bias)) if obj is not None})
    scalars = ("loss", "labeled_loss", "unlabeled_loss", "unlabeled_weight")
    handlers = run.attach(trainer, evaluators=evaluators, to_save=to_save,
                          scalar_keys=scalars if framework == "dividemix" else scalars[:1])
    if division is not None:
        handlers.history.add_source(lambda: division.summary(data.train.clean_targets, given))
    if pool is not None:
        handlers.history.add_source(lambda: {"switched_fraction": pool.switched_fraction()})

    extra = lambda: {"noise_report": data.noise.summary(), "lambda_u": cfg.lambda_u,
                     **({"gradient_bias": bias.rows} if bias is not None else {})}
    return run.execute(trainer, train_loader, extra_results=extra)

