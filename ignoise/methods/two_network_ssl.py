"""The composition DivideMix and GSS-SSL share: two networks, the co-divide handler, the
DivideMix step and, for GSS-SSL, a direction pool fed by the co-divide's predictions."""

from __future__ import annotations

import math

import torch

from ..config import ConfigError
from ..data import (
    BalancedSubsets,
    CoDivideBatchSampler,
    build_eval_loader,
    build_loaders,
    loader_sampler,
)
from ..engine import create_trainer
from ..handlers import CoDivide, GradientBias
from ..steps import DivideMixStep
from .components import new_network, sgd_with_schedule, test_evaluators
from .parts import MethodParts

__all__ = ["build_two_network_ssl", "DIVIDEMIX_SCALARS"]

#: The DivideMix step's outputs logged per epoch (the warm-up reports them too).
DIVIDEMIX_SCALARS = ("loss", "labeled_loss", "unlabeled_loss", "unlabeled_weight")


def build_two_network_ssl(run, data, cfg, *, model=None, pool=None) -> MethodParts:
    """DivideMix over two networks; ``pool(run, data, cfg)`` makes GSS-SSL's direction pool.

    Every loader kind gives the co-divide batches two augmented views (``x``, ``x2``); the
    per-epoch co-divide pass reads the training images through the same kind of loader."""
    acc, shard = run.accelerator, run.shard
    batch = run.per_process(cfg.batch_size)
    eval_batch = cfg.eval_batch_size or 2 * batch
    where = dict(num_workers=cfg.num_workers, device=run.device, dataset_name=data.name,
                 cache_dir=cfg.cache_dir, rank=shard["rank"], world_size=shard["world_size"])
    train_eval = build_eval_loader(cfg.loader, data.eval_train, batch_size=eval_batch,
                                   split="train", **where)
    n, k = len(data.train), data.num_classes
    given = torch.as_tensor(data.train.targets)

    nets = [new_network(cfg, data, model) for _ in range(2)]
    optimizers, schedulers = zip(*(sgd_with_schedule(cfg, net) for net in nets))
    prepared = acc.prepare(*nets, *optimizers)
    nets, optimizers = list(prepared[:2]), list(prepared[2:])
    plain = [acc.unwrap_model(net) for net in nets]
    pool = pool(run, data, cfg) if pool is not None else None

    subsets, epoch_length = None, cfg.epoch_length
    if cfg.division_subset is not None:
        try:
            subsets = BalancedSubsets(given, cfg.division_subset, seed=cfg.seed)
        except ValueError as err:  # before any training
            raise ConfigError(f"division_subset = {cfg.division_subset}: {err}") from None
        # One pass over a warm-up subset (twice the size, 2B per iteration), as DivideMix's
        # num_batches.
        per_iteration = batch * shard["world_size"]
        epoch_length = epoch_length or math.ceil(cfg.division_subset / per_iteration)
    sampler = CoDivideBatchSampler(n, batch, epoch_length=epoch_length,
                                   alternate=cfg.alternate, **shard)
    train_loader, test_loader = build_loaders(cfg.loader, data.train, data.test, batch_size=batch,
                                              eval_batch_size=eval_batch, seed=shard["seed"],
                                              codivide_sampler=sampler, views=2, **where)
    epochs = loader_sampler(train_loader)  # the co-divide sampler, or the loader that owns it
    division = CoDivide(nets, train_eval, num_samples=n, num_classes=k,
                        warmup_epochs=cfg.warmup_epochs, threshold=cfg.effective_p_threshold(),
                        sampler=sampler, loss_history=cfg.effective_loss_history(),
                        predictions_every_epoch=pool is not None, accelerator=acc, seed=cfg.seed,
                        subsets=subsets)
    lambda_u, penalty = cfg.effective_lambda_u(), cfg.effective_confidence_penalty()
    step = DivideMixStep(nets, optimizers, acc, division=division, num_classes=k,
                         warmup_epochs=cfg.warmup_epochs, lambda_u=lambda_u,
                         temperature=cfg.temperature, alpha=cfg.alpha,
                         rampup_epochs=cfg.rampup_epochs, confidence_penalty=penalty,
                         labeled_only=cfg.labeled_rows_only, alternate=cfg.alternate,
                         **({"targets": pool.draw_targets, "switched": cfg.gss_switched}
                            if pool is not None else {}))

    trainer = create_trainer(step, epoch_samplers=[epochs], lr_schedulers=schedulers)
    division.attach(trainer)
    to_save = {"sampler": epochs, "division": division}
    for i, (net, opt, sched) in enumerate(zip(nets, optimizers, schedulers)):
        to_save.update({f"model_{i}": net, f"optimizer_{i}": opt, f"scheduler_{i}": sched})
    sources = [lambda: division.summary(data.train.clean_targets, given)]
    if pool is not None:
        pool.attach(trainer, predictions=lambda: division.predictions,
                    clean_prob=lambda: division.clean_prob.mean(dim=0))
        to_save["pool"] = pool
        sources.append(lambda: {"switched_fraction": pool.switched_fraction()})
    bias = None
    if cfg.gradient_bias:
        bias = GradientBias(nets[0], train_eval, step.target_distribution,
                            optimizer=optimizers[0], given_targets=data.train.targets,
                            clean_targets=data.train.clean_targets,
                            max_tracked=cfg.bias_max_tracked, seed=cfg.seed, accelerator=acc)
        bias.attach(trainer)
        to_save["gradient_bias"] = bias

    # DivideMix tests the sum of the two networks' logits; the mean of their softmax outputs is
    # the other reading. Both rank classes alike per network; they differ only in the ensemble.
    if cfg.test_ensemble == "logits":
        predict_test = lambda x: plain[0](x) + plain[1](x)
    else:
        predict_test = lambda x: (plain[0](x).softmax(1) + plain[1](x).softmax(1)) / 2
    predict = lambda x: (plain[0](x).softmax(1) + plain[1](x).softmax(1)) / 2
    evaluators = test_evaluators(run, cfg, data, predict_test, test_loader, models=plain,
                                 topk=cfg.topk)
    extra = lambda history: {"noise_report": data.noise.summary(), "lambda_u": lambda_u,
                             "confidence_penalty": penalty,
                             "p_threshold": cfg.effective_p_threshold(),
                             "loss_history": cfg.effective_loss_history(),
                             **({"gradient_bias": bias.rows} if bias is not None else {})}
    signals = {"clean_prob": lambda: division.clean_prob.mean(dim=0)}
    if pool is not None:
        signals["switched_label"] = lambda: pool.drawn
    return MethodParts(trainer, train_loader, evaluators, to_save,
                       scalar_keys=DIVIDEMIX_SCALARS, history_sources=sources,
                       extra_results=extra, predict_probs=predict, train_eval=train_eval,
                       predict_models=plain, evidence_signals=signals)
