"""Cross-entropy baseline: one network trained on the given (noisy) labels.

    python recipes/ce.py --dataset digits --noise sym --noise-rate 0.4 --output-dir runs/ce
    accelerate launch recipes/ce.py --dataset cifar10 --data-root data --noise sym --noise-rate 0.5
"""

from pathlib import Path

import torch

from ignoise.data import build_noisy_data, loader_sampler
from ignoise.engine import Run, create_evaluator, create_trainer, recipe_parser, resolve_config
from ignoise.models import build_model
from ignoise.steps import SupervisedStep

CONFIG = Path(__file__).parent / "configs" / "ce.yaml"


def main(argv=None) -> dict:
    cfg = resolve_config(recipe_parser(__doc__).parse_args(argv), CONFIG)
    run = Run(cfg, method="ce")

    data = build_noisy_data(cfg.dataset, cfg.data_root, noise=cfg.noise, noise_rate=cfg.noise_rate,
                            seed=cfg.seed, download=cfg.download, noise_options=cfg.noise_options)
    train_loader, test_loader = run.loaders(data)

    model = build_model(cfg.model, data.num_classes, in_channels=data.in_channels)
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                                weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, cfg.lr_milestones, cfg.lr_gamma)
    model, optimizer = run.accelerator.prepare(model, optimizer)

    trainer = create_trainer(SupervisedStep(model, optimizer, run.accelerator),
                             epoch_samplers=[loader_sampler(train_loader)],
                             lr_schedulers=[scheduler])
    evaluator = create_evaluator(model, run.accelerator)
    run.attach(trainer, evaluators={"test": (evaluator, test_loader)},
               to_save={"model": model, "optimizer": optimizer, "scheduler": scheduler,
                        "sampler": loader_sampler(train_loader)})
    return run.execute(trainer, train_loader, extra_results=lambda: {"noise_report":
                                                                     data.noise.summary()})


if __name__ == "__main__":
    main()
