"""Evaluators: accuracy of a model (or of any prediction function) over a test loader."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from ignite.engine import Engine, Events
from ignite.metrics import Accuracy, TopKCategoricalAccuracy

from ..data.batch import move_batch
from ..metrics.sample_count import SampleCount

__all__ = ["create_evaluator"]


def create_evaluator(
    predict: Callable[[torch.Tensor], torch.Tensor] | torch.nn.Module,
    accelerator,
    *,
    models: Iterable[torch.nn.Module] = (),
    topk: int | None = None,
) -> Engine:
    """An evaluator that computes ``accuracy`` (and ``top{k}`` if asked) of ``predict``, and
    ``num_samples``, the number of test samples counted over all processes.

    Args:
        predict: maps a batch of inputs to scores (logits or probabilities): a model (unwrapped
            from DDP here), or a function such as the mean softmax of two networks (give it
            ``accelerator.unwrap_model``-ed networks: a DDP forward is a collective, and the
            ranks of a rank-split evaluation may run different numbers of batches).
        accelerator: the run's Accelerator (device and autocast).
        models: modules to switch to eval mode before each run (``predict`` itself when it is a
            module).
        topk: also compute top-k accuracy as metric ``f"top{topk}"`` (mini-WebVision: 5).

    Ignite's metrics all-reduce their counts across processes, so with the rank-split evaluation
    loaders of :mod:`ignoise.data.loaders` every test sample counts exactly once.
    """
    if isinstance(predict, torch.nn.Module):
        # A DDP-wrapped forward is a collective: with rank-split evaluation the ranks may run
        # different numbers of batches, so evaluate the plain module.
        predict = accelerator.unwrap_model(predict)
    models = list(models) + ([predict] if isinstance(predict, torch.nn.Module) else [])

    @torch.no_grad()
    def evaluate_batch(engine: Engine, batch: dict):
        batch = move_batch(batch, accelerator.device)
        with accelerator.autocast():
            scores = predict(batch["x"])
        return scores.float(), batch["y"]

    evaluator = Engine(evaluate_batch)

    @evaluator.on(Events.STARTED)
    def _eval_mode(engine: Engine) -> None:
        for model in models:
            model.eval()

    Accuracy().attach(evaluator, "accuracy")
    SampleCount().attach(evaluator, "num_samples")
    if topk:
        TopKCategoricalAccuracy(k=topk).attach(evaluator, f"top{topk}")
    return evaluator
