"""Co-teaching (Han et al., NeurIPS 2018): two networks, each updated on the small-loss samples
of the other (:class:`~ignoise.steps.CoTeachingStep`), the fraction dropped ramped up to the
forget rate over the first epochs."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import ConfigError, TrainingConfig, param
from .registry import register

__all__ = ["CoTeachingConfig", "REAL_NOISE_DATASETS", "build"]

#: Datasets whose labels are noisy as given: their noise rate is unknown to the config, so
#: the forget rate must be set (with each estimate a paper used).
REAL_NOISE_DATASETS = ("cifar10n", "cifar100n", "animal10n", "clothing1m", "webvision")


@dataclass
class CoTeachingConfig(TrainingConfig):
    """Co-teaching's hyper-parameters (the paper's section 3 and Algorithm 1)."""

    forget_rate: float | None = param(
        None, "tau, the fraction of each batch dropped once the ramp is over (null: the noise "
        "rate; required on real-noise datasets)", low=0.0, high=1.0, high_open=True)
    num_gradual: int = param(10, "T_k, the epochs over which the forget rate ramps up to tau",
                             low=0)
    exponent: float = param(1.0, "c of the Co-teaching+ code: the ramp ends at tau ** c",
                            low=0.0, low_open=True)
    topk: int | None = param(None, "also report top-k test accuracy (mini-WebVision: 5)", low=1)

    def validate(self) -> None:
        super().validate()
        if (self.forget_rate is None and self.dataset in REAL_NOISE_DATASETS
                and self.noise == "none"):
            raise ConfigError(
                f"{type(self).__name__}: forget_rate = null on {self.dataset}, whose noise rate "
                "is not known: set forget_rate to an estimate of its noise rate, a float in "
                "[0, 1) (e.g. Animal-10N 0.08, Clothing1M 0.385, mini-WebVision 0.2)")

    def effective_forget_rate(self) -> float:
        """``tau``: ``forget_rate``, or the synthetic noise rate when it is null."""
        return self.noise_rate if self.forget_rate is None else self.forget_rate


@register("coteaching", CoTeachingConfig, default_config="coteaching.yaml",
          description="Co-teaching: two networks, each trained on the other's small-loss "
                      "samples (Han et al. 2018)")
def build(run, data, cfg: CoTeachingConfig, model=None):
    """Two independently initialized networks, a Co-teaching step, A's test accuracy reported
    (``test_accuracy``) and B's beside it (``test_b_accuracy``)."""
    from ..data import build_loaders, loader_sampler
    from ..engine import create_evaluator, create_trainer
    from ..steps import CoTeachingStep, forget_rate_schedule
    from .components import new_network, sgd_with_schedule, test_evaluators
    from .one_network import train_eval_loader
    from .parts import MethodParts

    acc = run.accelerator
    tau = cfg.effective_forget_rate()
    schedule = forget_rate_schedule(tau, cfg.num_gradual, cfg.exponent)

    # Two networks initialized apart (the paper's f and g differ from the start).
    net_a, net_b = new_network(cfg, data, model), new_network(cfg, data, model)
    (opt_a, sched_a), (opt_b, sched_b) = sgd_with_schedule(cfg, net_a), sgd_with_schedule(cfg,
                                                                                          net_b)
    net_a, net_b, opt_a, opt_b = acc.prepare(net_a, net_b, opt_a, opt_b)
    plain_a, plain_b = acc.unwrap_model(net_a), acc.unwrap_model(net_b)

    # Both networks read the same batches.
    train_loader, test_loader = build_loaders(
        cfg.loader, data.train, data.test, batch_size=run.per_process(cfg.batch_size),
        eval_batch_size=cfg.eval_batch_size, num_workers=cfg.num_workers, device=run.device,
        dataset_name=data.name, cache_dir=cfg.cache_dir, **run.shard)
    sampler = loader_sampler(train_loader)

    step = CoTeachingStep(net_a, net_b, opt_a, opt_b, acc, forget_rate=schedule)
    trainer = create_trainer(step, epoch_samplers=[sampler], lr_schedulers=[sched_a, sched_b])

    evaluators = test_evaluators(run, cfg, data, plain_a, test_loader, models=[plain_a],
                                 topk=cfg.topk)
    evaluators["test_b"] = (create_evaluator(plain_b, acc, models=[plain_b], topk=cfg.topk),
                            test_loader)
    to_save = {"model_a": net_a, "model_b": net_b, "optimizer_a": opt_a, "optimizer_b": opt_b,
               "scheduler_a": sched_a, "scheduler_b": sched_b, "sampler": sampler}

    def extra_results(history) -> dict:
        return {"noise_report": data.noise.summary(), "reported_network": "a",
                "forget_rate": tau,
                "forget_rate_by_epoch": [schedule(e) for e in range(cfg.epochs)]}

    return MethodParts(trainer, train_loader, evaluators, to_save,
                       scalar_keys=("loss", "loss_a", "loss_b"), extra_results=extra_results,
                       predict_probs=lambda x: plain_a(x).softmax(1),
                       train_eval=train_eval_loader(run, cfg, data), predict_models=[plain_a])
