"""One process of the 2-process FFCV test (``tests/data/loaders/test_ffcv.py``), started with

    accelerate launch --multi_gpu --num_processes 2 ... ffcv_eval_worker.py BETON RESULT CACHE

Each rank reads its evaluation slice of the digits test ``.beton`` and its training shard; the
counts are summed with an all-reduce, so rank 0 can check that every test sample was counted
exactly once and that the training shards cover the set. It also builds the factory's ffcv
loaders into an empty cache folder, which makes rank 0 write while rank 1 waits at the barrier.
"""

import json
import sys

import torch
import torch.distributed as dist
from accelerate import Accelerator

from ignoise.data import build_loaders, load_digits_dataset
from ignoise.data.loaders.ffcv_loader import ffcv_eval_loader, ffcv_train_loader
from ignoise.data.transforms import NORMALIZATION
from ignoise.engine import end_process_group


def all_sum(tensor: torch.Tensor) -> torch.Tensor:
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def main(beton: str, result: str, cache_dir: str) -> None:
    accelerator = Accelerator(cpu=True)
    rank, world_size = accelerator.process_index, accelerator.num_processes
    norm = NORMALIZATION["digits"]
    n = len(load_digits_dataset(train=False))

    seen = torch.zeros(n, dtype=torch.int64)
    for batch in ffcv_eval_loader(beton, 64, normalization=norm, rank=rank,
                                  world_size=world_size, num_workers=1):
        seen += torch.bincount(batch["index"], minlength=n)
    covered = torch.zeros(n, dtype=torch.int64)
    for batch in ffcv_train_loader(beton, 64, normalization=norm, seed=1, rank=rank,
                                   world_size=world_size, augmentation="none", num_workers=1):
        covered += torch.bincount(batch["index"], minlength=n)
    seen, covered = all_sum(seen), all_sum(covered)

    _, test = build_loaders("ffcv", load_digits_dataset(), load_digits_dataset(train=False),
                            batch_size=64, device="cpu", dataset_name="digits", rank=rank,
                            world_size=world_size, num_workers=1, cache_dir=cache_dir)
    factory_count = all_sum(torch.tensor([sum(len(b["index"]) for b in test)]))

    if accelerator.is_main_process:
        counts = {
            "world_size": world_size,
            "distributed_type": str(accelerator.distributed_type),
            "eval_samples": int(seen.sum()),
            "eval_seen_once": bool((seen == 1).all()),
            "train_covers_all": bool((covered >= 1).all()),
            "factory_eval_samples": int(factory_count),
        }
        with open(result, "w") as f:
            json.dump(counts, f)
    accelerator.wait_for_everyone()


if __name__ == "__main__":
    main(*sys.argv[1:4])
    end_process_group()
