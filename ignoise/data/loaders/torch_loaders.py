"""torch DataLoaders that yield the batch contract, sharded by rank from one seed.

The loaders shard themselves (see :mod:`ignoise.data.samplers.sharded`), so they are *not* passed
through ``accelerator.prepare``: Accelerate would shard a second time, and for evaluation it pads
the last batch with duplicates. Steps move batches to the device with
:func:`ignoise.data.batch.move_batch`.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, default_collate

from ..samplers.sharded import ShardedEvalSampler, ShardedRandomSampler

__all__ = [
    "make_train_loader", "make_eval_loader", "make_paired_loader", "collate_pair", "loader_sampler",
]


def make_train_loader(
    dataset,
    batch_size: int,
    *,
    seed: int = 0,
    rank: int = 0,
    world_size: int = 1,
    num_workers: int = 0,
    drop_last: bool = False,
    pin_memory: bool = False,
) -> DataLoader:
    """A training loader over ``dataset`` in a new random order each epoch.

    The sampler is ``loader.sampler`` (a :class:`ShardedRandomSampler`): the trainer calls its
    ``set_epoch`` and Checkpoint saves it.
    """
    _check_batch_size(batch_size)
    sampler = ShardedRandomSampler(len(dataset), seed=seed, rank=rank, world_size=world_size)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        drop_last=drop_last,
        pin_memory=pin_memory,
        persistent_workers=num_workers > 0,
    )


def make_eval_loader(
    dataset,
    batch_size: int,
    *,
    rank: int = 0,
    world_size: int = 1,
    num_workers: int = 0,
    pin_memory: bool = False,
    indices=None,
) -> DataLoader:
    """A sequential loader that gives each sample to exactly one rank and drops nothing;
    ``indices`` limits it to those samples (a one-off pass: its workers do not persist).

    It draws its workers' base seed from a generator of its own: a DataLoader without one
    takes it from torch's global generator on every pass, so an extra evaluation pass (a
    handler's, another evaluation interval) would shift training's later random draws.
    """
    _check_batch_size(batch_size)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=ShardedEvalSampler(len(dataset), rank=rank, world_size=world_size,
                                   indices=indices),
        num_workers=num_workers,
        pin_memory=pin_memory,
        persistent_workers=num_workers > 0 and indices is None,
        generator=torch.Generator().manual_seed(0),
    )


def collate_pair(items: list[dict]) -> dict:
    """Collate ``2B`` items from a paired batch sampler into ``{"a": batch, "b": batch}``.

    A paired batch sampler yields one flat list per iteration: the first half is network A's
    batch and the second half network B's.
    """
    half = len(items) // 2
    return {"a": default_collate(items[:half]), "b": default_collate(items[half:])}


def make_paired_loader(dataset, batch_sampler, *, num_workers: int = 0, pin_memory: bool = False):
    """A loader over a paired batch sampler (e.g. CDAS) yielding ``{"a": batch, "b": batch}``.

    The sampler is ``loader.batch_sampler``.
    """
    return DataLoader(
        dataset,
        batch_sampler=batch_sampler,
        collate_fn=collate_pair,
        num_workers=num_workers,
        pin_memory=pin_memory,
        persistent_workers=num_workers > 0,
    )


def _check_batch_size(batch_size: int) -> None:
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch size must be a positive integer, got {batch_size!r}")


def loader_sampler(loader):
    """What orders a loader's epochs: the loader itself if it has ``set_epoch`` (device-resident
    and FFCV loaders), else its sampler or batch sampler that has one, else None.

    The trainer calls its ``set_epoch`` and Checkpoint saves it.
    """
    candidates = (loader, getattr(loader, "sampler", None), getattr(loader, "batch_sampler", None))
    for candidate in candidates:
        if hasattr(candidate, "set_epoch"):
            return candidate
    return None
