"""Co-learning (Tan, Xia, Wu & Li, ACM MM 2021): one encoder shared by a classifier trained on the
noisy labels and a projection head trained contrastively on two views, the classifier's relations
across the batch pulled toward the projection head's (:class:`~ignoise.steps.CoLearningStep`).

Hyper-parameters from the authors' code (``configs/colearning.py``,
``algorithms/Colearning.py``); the paper's text was not at hand (see
:mod:`ignoise.steps.colearning` for what is reconstructed and how)."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import TrainingConfig, param
from .registry import register

__all__ = ["CoLearningConfig", "build"]


@dataclass
class CoLearningConfig(TrainingConfig):
    """Co-learning's hyper-parameters (the authors' code)."""

    temperature: float = param(0.5, "NT-Xent temperature of the contrastive (intrinsic "
                               "similarity) loss (the code's 0.5)", low=0.0, low_open=True)
    projection_dim: int = param(512, "width of the projection head's output (configs/"
                                "colearning.py feature_dim 512; its model's default 128)", low=1)
    mixup_alpha: float = param(5.0, "Beta(a, a) of the supervised loss's mixup (the code's 5.0; "
                               "0: plain cross-entropy)", low=0.0)
    contrastive_weight: float = param(1.0, "weight of the contrastive loss (the code: 1)",
                                      low=0.0)
    structure_weight: float = param(1.0, "weight of the structural similarity loss, which "
                                    "trains the classifier head only (the code: 1)", low=0.0)
    topk: int | None = param(None, "also report top-k test accuracy (mini-WebVision: 5)", low=1)


@register("colearning", CoLearningConfig, default_config="colearning.yaml",
          description="Co-learning: a classifier and a contrastive projection head on one "
                      "encoder, their batch relations aligned (Tan et al. 2021)")
def build(run, data, cfg: CoLearningConfig, model=None):
    """The network with a projection head, two augmented views per batch (every loader kind),
    a Co-learning step; the classifier's test accuracy is reported."""
    from ..data import build_loaders, loader_sampler
    from ..engine import create_trainer
    from ..steps import CoLearningNetwork, CoLearningStep
    from .components import new_network, sgd_with_schedule, test_evaluators
    from .one_network import train_eval_loader
    from .parts import MethodParts

    acc = run.accelerator
    net = CoLearningNetwork(new_network(cfg, data, model), projection_dim=cfg.projection_dim)
    optimizer, scheduler = sgd_with_schedule(cfg, net)
    net, optimizer = acc.prepare(net, optimizer)
    plain = acc.unwrap_model(net)

    train_loader, test_loader = build_loaders(
        cfg.loader, data.train, data.test, batch_size=run.per_process(cfg.batch_size),
        eval_batch_size=cfg.eval_batch_size, num_workers=cfg.num_workers, device=run.device,
        dataset_name=data.name, cache_dir=cfg.cache_dir, views=2, **run.shard)
    sampler = loader_sampler(train_loader)

    step = CoLearningStep(net, optimizer, acc, num_classes=data.num_classes,
                          temperature=cfg.temperature, mixup_alpha=cfg.mixup_alpha,
                          contrastive_weight=cfg.contrastive_weight,
                          structure_weight=cfg.structure_weight)
    trainer = create_trainer(step, epoch_samplers=[sampler], lr_schedulers=[scheduler])
    to_save = {"model": net, "optimizer": optimizer, "scheduler": scheduler, "sampler": sampler}

    return MethodParts(trainer, train_loader,
                       test_evaluators(run, cfg, data, plain, test_loader, models=[plain],
                                       topk=cfg.topk),
                       to_save, scalar_keys=("loss", "supervised_loss", "contrastive_loss",
                                             "structural_loss"),
                       extra_results=lambda history: {"noise_report": data.noise.summary()},
                       predict_probs=lambda x: plain(x).softmax(1),
                       train_eval=train_eval_loader(run, cfg, data), predict_models=[plain])
