"""A 2-process run in which rank 1 stops answering: rank 0's collective must time out."""

import sys
import time

import torch

from ignoise.engine import create_accelerator


def main(timeout_s: int) -> None:
    accelerator = create_accelerator(cpu=True, timeout_s=timeout_s)
    if accelerator.process_index == 1:
        time.sleep(120)  # a stuck rank
    start = time.perf_counter()
    try:
        torch.distributed.all_reduce(torch.ones(1))
    finally:
        print(f"rank {accelerator.process_index} waited {time.perf_counter() - start:.1f} s",
              flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]))
