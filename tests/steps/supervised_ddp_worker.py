"""CE and GSS-CE trained in 2 processes equal one process (``test_supervised_distributed.py``).

Started by the test as

    accelerate launch --multi_gpu --num_processes 2 ... supervised_ddp_worker.py OUT_DIR

each rank trains on its shard of the digits (batch 32 per rank) and saves its weights (and GSS's
pool) to ``rank<r>.pt``; the test then calls :func:`train` in its own process, one process with
batch 64, and compares. The union of the ranks' batches at an iteration is the one process's
batch (the sampler deals one global permutation by position, and ``drop_last`` avoids the
padded last batch), and DDP averages the ranks' gradients, so the updates are the same up to the
order of float sums. The network has no BatchNorm: its statistics would be per rank.
"""

import sys
from pathlib import Path

import torch

from ignoise.data import build_noisy_data, make_train_loader
from ignoise.engine import create_accelerator, create_trainer, end_process_group
from ignoise.handlers import DirectionPool
from ignoise.steps import SupervisedStep

EPOCHS = 2  # GSS: the second epoch draws its targets from pools rebuilt after the first


def net() -> torch.nn.Module:
    with torch.random.fork_rng(devices=[]):  # the same weights, the caller's RNG untouched
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 32), torch.nn.ReLU(),
                                   torch.nn.Linear(32, 10))


def flat(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()]).cpu()


def train(accelerator, batch_size: int) -> dict:
    """CE, then GSS-CE (direction pool fed by the step's predictions, one draw per epoch), each
    from the same initial weights for ``EPOCHS`` epochs; their final weights and the pool."""
    rank, world = accelerator.process_index, accelerator.num_processes
    data = build_noisy_data("digits", noise="sym", noise_rate=0.4, seed=0)
    given = torch.as_tensor(data.train.targets)
    out = {"world_size": world}
    for method in ("ce", "gss_ce"):
        model = net()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
        model, optimizer = accelerator.prepare(model, optimizer)
        loader = make_train_loader(data.train, batch_size, seed=0, rank=rank, world_size=world,
                                   drop_last=True)
        pool = None
        if method == "gss_ce":
            pool = DirectionPool(given, 10, total_epochs=EPOCHS, lambda1=1.0, lambda2=0.3,
                                 device=accelerator.device)
        step = SupervisedStep(model, optimizer, accelerator,
                              targets=pool.draw_targets if pool else None)
        trainer = create_trainer(step, epoch_samplers=[loader.sampler])
        if pool is not None:
            pool.attach(trainer, output_transform=lambda o: (o["logits"].softmax(1), o["index"]))
        trainer.run(loader, max_epochs=EPOCHS)
        out[method] = flat(model)
        out["iterations"] = trainer.state.iteration
        if pool is not None:
            out["pool"] = pool.probs.cpu()
            out["switched_fraction"] = pool.switched_fraction()
    return out


def main(folder: Path) -> None:
    accelerator = create_accelerator(cpu=True)
    torch.save(train(accelerator, batch_size=32), folder / f"rank{accelerator.process_index}.pt")
    accelerator.wait_for_everyone()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
    end_process_group()
