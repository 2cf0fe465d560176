"""The composition Co-teaching+, JoCoR and Decoupling share: two independently initialized
networks read the same batches through one selection step; network A's test accuracy is
reported (``test_accuracy``) and B's beside it (``test_b_accuracy``), as Co-teaching's."""

from __future__ import annotations

from collections.abc import Callable

from ..data import build_loaders, loader_sampler
from ..engine import create_evaluator, create_trainer
from .components import new_network, optimizer_with_schedule, test_evaluators
from .one_network import train_eval_loader
from .parts import MethodParts

__all__ = ["build_selection_pair"]


def build_selection_pair(run, data, cfg, *, make_step: Callable, scalar_keys: tuple[str, ...],
                         extra_results: Callable[[], dict], model=None) -> MethodParts:
    """Two networks, their optimizers and schedules
    (:func:`~ignoise.methods.components.optimizer_with_schedule`: ``cfg.optimizer``, SGD for a
    config without one, as Decoupling's), and the step
    ``make_step(net_a, net_b, opt_a, opt_b, accelerator)``.

    Args:
        run, data, cfg, model: as for every method's ``build``.
        make_step: builds the pair's step from the prepared networks and optimizers.
        scalar_keys: the step's outputs averaged per epoch into the history.
        extra_results: ``() -> dict`` of the method's figures for ``results.json``.
    """
    acc = run.accelerator
    # Two networks initialized apart (each paper's two networks differ from the start).
    net_a, net_b = new_network(cfg, data, model), new_network(cfg, data, model)
    (opt_a, sched_a), (opt_b, sched_b) = (optimizer_with_schedule(cfg, net)
                                          for net in (net_a, net_b))
    net_a, net_b, opt_a, opt_b = acc.prepare(net_a, net_b, opt_a, opt_b)
    plain_a, plain_b = acc.unwrap_model(net_a), acc.unwrap_model(net_b)

    train_loader, test_loader = build_loaders(
        cfg.loader, data.train, data.test, batch_size=run.per_process(cfg.batch_size),
        eval_batch_size=cfg.eval_batch_size, num_workers=cfg.num_workers, device=run.device,
        dataset_name=data.name, cache_dir=cfg.cache_dir, **run.shard)
    sampler = loader_sampler(train_loader)

    step = make_step(net_a, net_b, opt_a, opt_b, acc)
    trainer = create_trainer(step, epoch_samplers=[sampler], lr_schedulers=[sched_a, sched_b])

    evaluators = test_evaluators(run, cfg, data, plain_a, test_loader, models=[plain_a],
                                 topk=cfg.topk)
    evaluators["test_b"] = (create_evaluator(plain_b, acc, models=[plain_b], topk=cfg.topk),
                            test_loader)
    to_save = {"model_a": net_a, "model_b": net_b, "optimizer_a": opt_a, "optimizer_b": opt_b,
               "scheduler_a": sched_a, "scheduler_b": sched_b, "sampler": sampler}

    def results(history) -> dict:
        return {"noise_report": data.noise.summary(), "reported_network": "a", **extra_results()}

    return MethodParts(trainer, train_loader, evaluators, to_save, scalar_keys=scalar_keys,
                       extra_results=results, predict_probs=lambda x: plain_a(x).softmax(1),
                       train_eval=train_eval_loader(run, cfg, data), predict_models=[plain_a])
