"""Epoch-seeded samplers that shard by rank: the same seed gives the same global order on any
number of processes, and ``set_epoch`` plus ``state_dict`` make a resumed run draw exactly what an
uninterrupted one would."""

from __future__ import annotations

import math

import torch

__all__ = ["ShardedRandomSampler", "ShardedEvalSampler", "epoch_generator"]


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    """A CPU generator seeded from ``(seed, epoch)``: every rank draws the same numbers."""
    g = torch.Generator()
    g.manual_seed(int(seed) * 1_000_003 + int(epoch))
    return g


class ShardedRandomSampler(torch.utils.data.Sampler[int]):
    """A random permutation per epoch, split across ranks.

    All ranks draw the same global permutation from ``(seed, epoch)``; rank ``r`` of ``w`` takes
    positions ``r, r + w, ...``. With ``w > 1`` the permutation is padded by wrapping around so
    that every rank runs the same number of iterations (DDP needs that); with one process it is
    a plain random permutation of all ``n`` indices.

    Args:
        n: dataset size.
        seed: shared seed.
        rank: this process's rank.
        world_size: number of processes.

    Examples:
        >>> s = ShardedRandomSampler(10, seed=0)
        >>> sorted(s) == list(range(10))
        True
    """

    def __init__(self, n: int, seed: int = 0, rank: int = 0, world_size: int = 1) -> None:
        if n <= 0:
            raise ValueError(f"cannot sample from an empty dataset (n={n})")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is outside [0, {world_size})")
        self.n, self.seed, self.rank, self.world_size = int(n), int(seed), rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def global_order(self) -> torch.Tensor:
        """The padded global permutation of this epoch (length a multiple of ``world_size``)."""
        perm = torch.randperm(self.n, generator=epoch_generator(self.seed, self.epoch))
        total = math.ceil(self.n / self.world_size) * self.world_size
        if total > self.n:
            perm = torch.cat([perm, perm[: total - self.n]])
        return perm

    def __iter__(self):
        return iter(self.global_order()[self.rank :: self.world_size].tolist())

    def __len__(self) -> int:
        return math.ceil(self.n / self.world_size)

    def state_dict(self) -> dict:
        return {"seed": self.seed, "epoch": self.epoch}

    def load_state_dict(self, state: dict) -> None:
        self.seed, self.epoch = int(state["seed"]), int(state["epoch"])


class ShardedEvalSampler(torch.utils.data.Sampler[int]):
    """Sequential evaluation indices split by rank without padding.

    Rank ``r`` takes ``r, r + w, ...``: every sample is seen by exactly one rank, so metrics that
    all-reduce their counts (ignite's) count each test sample once. Unlike
    ``DistributedSampler`` or Accelerate's prepared loaders, nothing is duplicated to even out
    the ranks. ``indices`` limits the pass to those samples (a subset's evaluation); rank ``r``
    then takes ``indices[r], indices[r + w], ...``.
    """

    def __init__(self, n: int, rank: int = 0, world_size: int = 1, indices=None) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is outside [0, {world_size})")
        self.n, self.rank, self.world_size = int(n), rank, world_size
        self.indices = None if indices is None else torch.as_tensor(indices).long().tolist()

    def _mine(self):
        every = range(self.n) if self.indices is None else self.indices
        return every[self.rank::self.world_size]

    def __iter__(self):
        return iter(self._mine())

    def __len__(self) -> int:
        return len(self._mine())
