"""The composition CE, GSS-CE and screening share: one network, a supervised step whose
targets a handler may supply, and the optional gradient-bias probe."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..data import build_eval_loader
from ..engine import create_trainer
from ..handlers import GradientBias
from ..losses import screened_cross_entropy
from ..steps import SupervisedStep
from .components import prepared_network, test_evaluators, train_test_loaders
from .parts import MethodParts

__all__ = ["build_one_network", "train_eval_loader", "TargetSource"]


@dataclass
class TargetSource:
    """A handler that supplies per-sample training targets (GSS's direction pool, screening's
    division), and how the one-network composition wires it.

    Attributes:
        targets: ``batch -> (B,)`` the step's targets.
        bias_targets: the gradient-bias probe's view of those targets.
        handler: the handler, checkpointed under ``name``.
        attach: ``trainer -> None`` registers the handler.
        history_row: ``() -> dict`` joined to each epoch's history row.
        name: its checkpoint key.
        signals: its per-sample evidence, name -> ``() -> (N,)`` (see
            :class:`~ignoise.handlers.SampleEvidence`).
    """

    targets: Callable
    bias_targets: Callable
    handler: object
    attach: Callable
    history_row: Callable[[], dict]
    name: str
    signals: dict = field(default_factory=dict)


def train_eval_loader(run, cfg, data):
    """The training set in a fixed order without augmentation, sharded by rank, through the
    run's kind of loader: what per-epoch passes (co-divide, gradient bias) read."""
    batch = cfg.eval_batch_size or 2 * run.per_process(cfg.batch_size)
    return build_eval_loader(cfg.loader, data.eval_train, batch_size=batch, split="train",
                             num_workers=cfg.num_workers, device=run.device,
                             dataset_name=data.name, cache_dir=cfg.cache_dir,
                             rank=run.shard["rank"], world_size=run.shard["world_size"])


def build_one_network(run, data, cfg, *, model=None, bias_targets,
                      targets_from: Callable | None = None,
                      loss_fn: Callable | None = None) -> MethodParts:
    """One network trained by a :class:`~ignoise.steps.SupervisedStep`.

    Args:
        run, data, cfg, model: as for every method's ``build``.
        bias_targets: what the gradient-bias probe takes as the training targets.
        targets_from: ``(net, train_eval) -> TargetSource``, a per-sample target provider;
            ``None`` trains on the given labels.
        loss_fn: the step's per-sample loss ``(logits, targets) -> (B,)``; ``None`` is
            cross-entropy (with a target source, the screened cross-entropy, which skips
            screened-out samples).
    """
    acc = run.accelerator
    train_eval = train_eval_loader(run, cfg, data)
    net, optimizer, scheduler, plain = prepared_network(run, cfg, data, model)
    train_loader, test_loader, sampler = train_test_loaders(run, cfg, data)

    source = targets_from(net, train_eval) if targets_from is not None else None
    if source is None:
        step = SupervisedStep(net, optimizer, acc, loss_fn=loss_fn)
    else:  # screened_cross_entropy is cross-entropy that skips screened-out samples
        step = SupervisedStep(net, optimizer, acc, targets=source.targets,
                              loss_fn=loss_fn or screened_cross_entropy)
        bias_targets = source.bias_targets
    trainer = create_trainer(step, epoch_samplers=[sampler], lr_schedulers=[scheduler])
    to_save = {"model": net, "optimizer": optimizer, "scheduler": scheduler, "sampler": sampler}
    sources = []
    if source is not None:
        source.attach(trainer)
        to_save[source.name] = source.handler
        sources.append(source.history_row)
    bias = None
    if cfg.gradient_bias:
        bias = GradientBias(net, train_eval, bias_targets, optimizer=optimizer,
                            given_targets=data.train.targets,
                            clean_targets=data.train.clean_targets,
                            max_tracked=cfg.bias_max_tracked, seed=cfg.seed, accelerator=acc)
        bias.attach(trainer)
        to_save["gradient_bias"] = bias

    extra = lambda history: {"noise_report": data.noise.summary(),
                             **({"gradient_bias": bias.rows} if bias is not None else {})}
    return MethodParts(
        trainer, train_loader, test_evaluators(run, cfg, data, plain, test_loader, models=[plain],
                                               topk=cfg.topk),
        to_save, history_sources=sources, extra_results=extra,
        predict_probs=lambda x: plain(x).softmax(1), train_eval=train_eval,
        predict_models=[plain], evidence_signals=source.signals if source is not None else {})
