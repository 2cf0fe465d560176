"""The pieces most methods build the same way from their config: networks, SGD with a
step schedule, and the evaluators of the test set (and of a dataset's extra test sets and a
held-out validation set)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from ..data import DATASETS, NoisyData, load_extra_eval_sets, make_eval_loader
from ..engine import create_evaluator, to_channels_last
from ..models import build_model

__all__ = ["new_network", "sgd_with_schedule", "test_evaluators"]

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
