"""The pieces most methods build the same way from their config: networks, SGD with a
step schedule (or the Co-teaching family's Adam with its linear decay), the training and test
loaders, and the evaluators of the test set (and of a
dataset's extra test sets and a held-out validation set)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from ..data import (
    DATASETS,
    NoisyData,
    build_loaders,
    load_extra_eval_sets,
    loader_sampler,
    make_eval_loader,
)
from ..engine import create_evaluator, to_channels_last
from ..models import build_model

__all__ = ["new_network", "sgd_with_schedule", "CoTeachingAdamSchedule", "adam_with_schedule",
           "optimizer_with_schedule", "prepared_network", "train_test_loaders", "test_evaluators"]

ModelFactory = Callable[[], torch.nn.Module]


def new_network(cfg, data: NoisyData, model: ModelFactory | None = None) -> torch.nn.Module:
    """A freshly initialized network: ``model()`` when a factory is given (a user's own
    network), else ``cfg.model`` from :func:`ignoise.models.build_model`; channels-last with
    ``cfg.channels_last`` (before ``accelerator.prepare``, and before any copy of it)."""
    if model is not None:
        net = model()
    else:
        net = build_model(cfg.model, data.num_classes, in_channels=data.in_channels,
                          **cfg.model_options)
    return to_channels_last(net) if getattr(cfg, "channels_last", False) else net


def sgd_with_schedule(cfg, model: torch.nn.Module):
    """``(optimizer, scheduler)``: SGD with ``cfg``'s lr, momentum and weight decay, and the lr
    multiplied by ``lr_gamma`` after each of ``lr_milestones`` epochs (stepped per epoch)."""
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                                weight_decay=cfg.weight_decay)
    return optimizer, torch.optim.lr_scheduler.MultiStepLR(optimizer, cfg.lr_milestones,
                                                           cfg.lr_gamma)


class CoTeachingAdamSchedule:
    """The Adam schedule of the Co-teaching codes (``adjust_learning_rate`` of Co-teaching's,
    Co-teaching+'s and JoCoR's ``main.py``): from epoch ``decay_start`` on, the lr falls
    linearly to 0 at ``epochs``, ``lr0 (epochs - e) / (epochs - decay_start)`` in epoch ``e``,
    and Adam's beta1 is ``beta1_after`` (0.1, the codes' ``mom2``) instead of 0.9.

    The values of epoch ``e`` (0-based, as :func:`~ignoise.steps.forget_rate_schedule`) are set
    on every parameter group before it trains: epoch 0's when built, the next epoch's at each
    :meth:`step` (the trainer steps it at the end of an epoch). beta2 is left as it is (the
    codes' 0.999). ``decay_start`` ``None``, or not before ``epochs``, keeps lr and beta1.

    Args:
        optimizer: an Adam-like optimizer (param groups with ``lr`` and ``betas``).
        epochs: the run's epochs, where the lr reaches 0.
        decay_start: the first epoch of the decay (the codes' ``epoch_decay_start``).
        beta1_after: beta1 from ``decay_start`` on.

    Examples:
        >>> net = torch.nn.Linear(2, 2)
        >>> opt = torch.optim.Adam(net.parameters(), lr=0.001)
        >>> schedule = CoTeachingAdamSchedule(opt, epochs=5, decay_start=2)
        >>> for _ in range(5):
        ...     group = opt.param_groups[0]
        ...     print(round(group["lr"], 6), group["betas"])
        ...     schedule.step()
        0.001 (0.9, 0.999)
        0.001 (0.9, 0.999)
        0.001 (0.1, 0.999)
        0.000667 (0.1, 0.999)
        0.000333 (0.1, 0.999)
    """

    def __init__(self, optimizer: torch.optim.Optimizer, *, epochs: int,
                 decay_start: int | None, beta1_after: float = 0.1) -> None:
        self.optimizer = optimizer
        self.epochs, self.decay_start, self.beta1_after = epochs, decay_start, beta1_after
        self.base = [(group["lr"], *group["betas"]) for group in optimizer.param_groups]
        self.epoch = 0
        self._apply()

    def decaying(self, epoch: int) -> bool:
        """Whether epoch ``epoch`` is in the decay."""
        start = self.decay_start
        return start is not None and start <= epoch and start < self.epochs

    def _apply(self) -> None:
        decaying = self.decaying(self.epoch)
        factor = (max(self.epochs - self.epoch, 0) / (self.epochs - self.decay_start)
                  if decaying else 1.0)
        for group, (lr, beta1, beta2) in zip(self.optimizer.param_groups, self.base):
            group["lr"] = lr * factor
            group["betas"] = (self.beta1_after if decaying else beta1, beta2)

    def step(self) -> None:
        """Set the next epoch's lr and beta1."""
        self.epoch += 1
        self._apply()

    def state_dict(self) -> dict:
        return {"epoch": self.epoch}

    def load_state_dict(self, state: dict) -> None:
        self.epoch = int(state["epoch"])
        self._apply()


def adam_with_schedule(cfg, model: torch.nn.Module):
    """``(optimizer, scheduler)``: Adam with ``cfg``'s lr and weight decay and betas (0.9,
    0.999), and :class:`CoTeachingAdamSchedule` from ``cfg.lr_decay_start`` over
    ``cfg.epochs`` (stepped per epoch). The fused kernel keeps Adam's step count on the device:
    no host read per iteration (the plain one reads it back for the bias correction)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(0.9, 0.999),
                                 weight_decay=cfg.weight_decay, fused=True)
    return optimizer, CoTeachingAdamSchedule(optimizer, epochs=cfg.epochs,
                                             decay_start=cfg.lr_decay_start)


def optimizer_with_schedule(cfg, model: torch.nn.Module):
    """``(optimizer, scheduler)`` of ``cfg.optimizer``: :func:`adam_with_schedule` for
    ``"adam"``, else :func:`sgd_with_schedule` (configs without the field: SGD)."""
    if getattr(cfg, "optimizer", "sgd") == "adam":
        return adam_with_schedule(cfg, model)
    return sgd_with_schedule(cfg, model)


def prepared_network(run, cfg, data: NoisyData, model: ModelFactory | None = None):
    """``(net, optimizer, scheduler, plain)``: a new network (:func:`new_network`) and its SGD
    (:func:`sgd_with_schedule`), both prepared by the run's accelerator, and ``plain``, the
    network unwrapped (what evaluators and predictions call)."""
    net = new_network(cfg, data, model)
    optimizer, scheduler = sgd_with_schedule(cfg, net)
    net, optimizer = run.accelerator.prepare(net, optimizer)
    return net, optimizer, scheduler, run.accelerator.unwrap_model(net)


def train_test_loaders(run, cfg, data: NoisyData):
    """``(train_loader, test_loader, sampler)``: ``cfg.loader``'s loaders of the training set
    (the per-process batch, sharded by rank) and of the test set, and what orders the training
    loader's epochs (:func:`~ignoise.data.loader_sampler`: the trainer steps it, the checkpoint
    saves it)."""
    train_loader, test_loader = build_loaders(
        cfg.loader, data.train, data.test, batch_size=run.per_process(cfg.batch_size),
        eval_batch_size=cfg.eval_batch_size, num_workers=cfg.num_workers, device=run.device,
        dataset_name=data.name, cache_dir=cfg.cache_dir, **run.shard)
    return train_loader, test_loader, loader_sampler(train_loader)


def test_evaluators(run, cfg, data: NoisyData, predict, test_loader, *,
                    models: Iterable[torch.nn.Module] = (), topk: int | None = None) -> dict:
    """``{"test": (evaluator, test_loader)}`` plus one evaluator per extra test set of the
    dataset (mini-WebVision's ImageNet validation images) and, when ``data.val`` holds a
    validation set (``--val-fraction``), ``"val"`` on its noisy labels; all of ``predict``,
    the extra sets read by rank-split evaluation loaders."""
    models = list(models)
    evaluate = lambda: create_evaluator(predict, run.accelerator, models=models, topk=topk)
    batch = cfg.eval_batch_size or 2 * run.per_process(cfg.batch_size)
    eval_loader = lambda dataset: make_eval_loader(dataset, batch, rank=run.shard["rank"],
                                                   world_size=run.shard["world_size"],
                                                   num_workers=cfg.num_workers)
    evaluators = {"test": (evaluate(), test_loader)}
    if data.name in DATASETS:  # a user's own data has no extra sets
        for name, extra in load_extra_eval_sets(data.name, cfg.data_root).items():
            evaluators[name] = (evaluate(), eval_loader(extra))
    if data.val is not None:
        evaluators["val"] = (evaluate(), eval_loader(data.val))
    return evaluators
