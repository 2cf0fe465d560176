"""One process of the 2-process GSS test (``tests/handlers/test_gss_distributed.py``), started
with

    accelerate launch --multi_gpu --num_processes 2 ... gss_pool_worker.py OUT_DIR

It trains GSS-SSL (DivideMix with a direction pool fed by the co-divide's predictions), then
GSS-CE (a pool fed by the step's outputs, per-iteration draws), then DivideMix divided on
per-epoch class-balanced subsets (each rank reads its share of the subsets only), on the digits
for a few short epochs, and saves its own copy of the pools and of the co-divide states to
``rank<r>.pt``.
"""

import sys
from pathlib import Path

import torch

from ignoise.data import (
    BalancedSubsets,
    CoDivideBatchSampler,
    TwoViewDataset,
    build_noisy_data,
    eval_transform,
    make_codivide_loader,
    make_eval_loader,
    make_train_loader,
)
from ignoise.engine import create_accelerator, create_trainer, end_process_group, seed_everything
from ignoise.handlers import CoDivide, DirectionPool
from ignoise.models import build_model
from ignoise.steps import DivideMixStep, SupervisedStep


def main(out: Path) -> None:
    acc = create_accelerator(cpu=True)
    seed_everything(0)
    rank, world = acc.process_index, acc.num_processes
    data = build_noisy_data("digits", noise="sym", noise_rate=0.4, seed=0)
    n, k = len(data.train), data.num_classes
    given = torch.as_tensor(data.train.targets)
    train_eval = make_eval_loader(data.train.with_transform(eval_transform("digits")), 256,
                                  rank=rank, world_size=world)
    nets = [build_model("digits_cnn", k, in_channels=1) for _ in range(2)]
    opts = [torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9) for net in nets]
    prepared = acc.prepare(*nets, *opts)
    nets, opts = list(prepared[:2]), list(prepared[2:])

    sampler = CoDivideBatchSampler(n, 16, epoch_length=5, seed=0, rank=rank, world_size=world)
    division = CoDivide(nets, train_eval, num_samples=n, num_classes=k, warmup_epochs=1,
                        sampler=sampler, predictions_every_epoch=True, accelerator=acc)
    pool = DirectionPool(given, k, total_epochs=3, lambda2=0.3, device=acc.device)
    step = DivideMixStep(nets, opts, acc, division=division, num_classes=k, warmup_epochs=1,
                         lambda_u=25.0, targets=pool.draw_targets,
                         switched=("warmup", "labeled", "unlabeled"))
    trainer = create_trainer(step, epoch_samplers=[sampler])
    division.attach(trainer)
    pool.attach(trainer, predictions=lambda: division.predictions)
    trainer.run(make_codivide_loader(TwoViewDataset(data.train), sampler), max_epochs=3)

    loader = make_train_loader(data.train, 64, seed=0, rank=rank, world_size=world)
    ce_pool = DirectionPool(given, k, total_epochs=2, redraw="iteration", seed=1,
                            device=acc.device)
    ce = create_trainer(SupervisedStep(nets[0], opts[0], acc, targets=ce_pool.draw_targets),
                        epoch_samplers=[loader.sampler])
    ce_pool.attach(ce, output_transform=lambda o: (o["logits"].float().softmax(1), o["index"]))
    ce.run(loader, max_epochs=2, epoch_length=4)

    subsets = BalancedSubsets(given, 300, seed=0)
    sampler = CoDivideBatchSampler(n, 16, epoch_length=3, seed=0, rank=rank, world_size=world)
    on_subsets = CoDivide(nets, train_eval, num_samples=n, num_classes=k, warmup_epochs=1,
                          sampler=sampler, accelerator=acc, subsets=subsets)
    step = DivideMixStep(nets, opts, acc, division=on_subsets, num_classes=k, warmup_epochs=1,
                         lambda_u=25.0)
    trainer = create_trainer(step, epoch_samplers=[sampler])
    on_subsets.attach(trainer)
    trainer.run(make_codivide_loader(TwoViewDataset(data.train), sampler), max_epochs=3)

    torch.save({"world_size": world, "pool": pool.state_dict(), "division": division.state_dict(),
                "ce_pool": ce_pool.state_dict(), "on_subsets": on_subsets.state_dict()},
               out / f"rank{rank}.pt")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
    end_process_group()
