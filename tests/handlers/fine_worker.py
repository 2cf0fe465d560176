"""One process of the 2-process FINE test (``tests/handlers/test_fine_selection.py``), started
with

    accelerate launch --multi_gpu --num_processes 2 ... fine_worker.py OUT_DIR

It trains a digits CNN with cross-entropy on FINE's selection (warm-up 1 epoch, a selection at
the start of epochs 2 and 3) and keeps the model, optimizer, selection and trainer state after
epoch 2; then it restores that state into a fresh selection and trainer and runs epoch 3 again.
Both final selections go to ``rank<r>.pt``. The training batches use the evaluation transform,
so that nothing random happens outside the saved state.
"""

import copy
import sys
from pathlib import Path

import torch
from ignite.engine import Events

from ignoise.data import build_noisy_data, eval_transform, make_eval_loader, make_train_loader
from ignoise.engine import create_accelerator, create_trainer, end_process_group, seed_everything
from ignoise.handlers import FineSelection
from ignoise.losses import screened_cross_entropy
from ignoise.models import build_model
from ignoise.steps import SupervisedStep


def main(out: Path) -> None:
    acc = create_accelerator(cpu=True)
    seed_everything(0)
    rank, world = acc.process_index, acc.num_processes
    data = build_noisy_data("digits", noise="sym", noise_rate=0.4, seed=0)
    k = data.num_classes
    plain = data.train.with_transform(eval_transform("digits"))
    train_eval = make_eval_loader(plain, 256, rank=rank, world_size=world)
    loader = make_train_loader(plain, 32, seed=0, rank=rank, world_size=world)
    net = build_model("digits_cnn", k, in_channels=1)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    net, opt = acc.prepare(net, opt)

    def new_run():
        fine = FineSelection(net, train_eval, data.train.targets, k, warmup_epochs=1, every=1,
                             accelerator=acc)
        step = SupervisedStep(net, opt, acc, targets=fine.screen, loss_fn=screened_cross_entropy)
        trainer = create_trainer(step, epoch_samplers=[loader.sampler])
        fine.attach(trainer)
        return fine, trainer

    fine, trainer = new_run()
    saved = {}

    @trainer.on(Events.EPOCH_COMPLETED(once=2))
    def _checkpoint(engine):
        saved.update(copy.deepcopy({"model": net.state_dict(), "optimizer": opt.state_dict(),
                                    "fine": fine.state_dict(), "trainer": engine.state_dict()}))

    trainer.run(loader, max_epochs=3)
    uninterrupted = fine.state_dict()

    net.load_state_dict(saved["model"])
    opt.load_state_dict(saved["optimizer"])
    resumed_fine, resumed = new_run()
    resumed_fine.load_state_dict(saved["fine"])
    resumed.load_state_dict(saved["trainer"])
    resumed.run(loader)
    assert resumed.state.epoch == 3

    torch.save({"world_size": world, "uninterrupted": uninterrupted,
                "resumed": resumed_fine.state_dict()}, out / f"rank{rank}.pt")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
    end_process_group()
