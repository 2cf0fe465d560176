"""Batches for co-divided training: each network's labeled and unlabeled batch per iteration,
drawn from index subsets that change every epoch, sharded by rank from one seed."""

from __future__ import annotations

import math
from functools import partial

import torch
from torch.utils.data import DataLoader, default_collate

from .sharded import epoch_generator

__all__ = ["CoDivideBatchSampler", "collate_codivide", "make_codivide_loader", "CODIVIDE_GROUPS",
           "PHASE_GROUPS", "ALTERNATIONS"]

#: The four groups of a co-divide batch, in the order the sampler lays them out.
CODIVIDE_GROUPS = (("a", "labeled"), ("a", "unlabeled"), ("b", "labeled"), ("b", "unlabeled"))
#: The two groups of a batch under per-epoch alternation: the training network's only.
PHASE_GROUPS = (("labeled",), ("unlabeled",))
#: How the two networks take turns: every iteration, or a phase of the epoch each.
ALTERNATIONS = ("iteration", "epoch")


class CoDivideBatchSampler(torch.utils.data.Sampler[list]):
    """Yields, per iteration, four index batches of ``batch_size``: network A's labeled and
    unlabeled batch, then network B's.

    Before :meth:`set_division` is called (the warm-up), each network's two batches are the two
    halves of one ``2 * batch_size`` batch from a random pass over all samples, so an epoch is
    one pass per network. After it, each network's labeled batch cycles through random
    permutations of its labeled subset and its unlabeled batch through its unlabeled subset
    (DivideMix's co-divide: A's labeled subset is the one B's mixture model judged clean).

    The epoch has a fixed number of iterations, by default ``ceil(n / (2 * batch_size * w))``
    (the warm-up pass), so that an Ignite epoch always has the same length whatever the
    division; DivideMix's own loop instead runs ``|labeled| / batch_size`` iterations per
    network, which varies from epoch to epoch.

    ``alternate="epoch"`` (DivideMix's loop: network A trains a whole pass, then B) yields
    ``2 * epoch_length`` iterations of two groups each (:data:`PHASE_GROUPS`): A's labeled and
    unlabeled batches for the first ``epoch_length``, then B's. Each network still sees the
    same streams as with ``"iteration"``, whose batches hold both networks' groups
    (:data:`CODIVIDE_GROUPS`).

    All ranks draw the same global streams from ``(seed, epoch)``; rank ``r`` of ``w`` takes
    the ``r``-th ``batch_size`` slice of each iteration's global batch.

    Args:
        n: number of training samples.
        batch_size: per-rank batch size of each of the four groups.
        epoch_length: iterations per network per epoch (default: one warm-up pass, see
            above).
        alternate: ``"iteration"`` or ``"epoch"`` (see above).
        seed, rank, world_size: sharding (see :mod:`ignoise.data.samplers.sharded`).

    Examples:
        >>> s = CoDivideBatchSampler(10, batch_size=2)
        >>> len(s), len(next(iter(s)))
        (3, 8)
        >>> s.set_division(torch.arange(10) < 5, torch.arange(10) >= 5)
        >>> batch = next(iter(s))
        >>> all(i < 5 for i in batch[:2]) and all(i >= 5 for i in batch[2:4])
        True
    """

    def __init__(
        self,
        n: int,
        batch_size: int,
        *,
        epoch_length: int | None = None,
        alternate: str = "iteration",
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if n <= 0:
            raise ValueError(f"cannot sample from an empty dataset (n={n})")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch size must be a positive integer, got {batch_size!r}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is outside [0, {world_size})")
        if epoch_length is None:
            epoch_length = math.ceil(n / (2 * batch_size * world_size))
        if epoch_length < 1:
            raise ValueError(f"epoch_length must be a positive integer, got {epoch_length!r}")
        if alternate not in ALTERNATIONS:
            raise ValueError(f"alternate must be one of {ALTERNATIONS}, got {alternate!r}")
        self.alternate = alternate
        self.groups = PHASE_GROUPS if alternate == "epoch" else CODIVIDE_GROUPS
        self.n, self.batch_size, self.epoch_length = int(n), batch_size, int(epoch_length)
        self.seed, self.rank, self.world_size = int(seed), rank, world_size
        self.epoch = 0
        self.labeled: tuple[torch.Tensor, torch.Tensor] | None = None
        self.within: tuple[torch.Tensor, torch.Tensor] | None = None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def set_division(self, labeled_a: torch.Tensor | None,
                     labeled_b: torch.Tensor | None = None, *,
                     within: tuple[torch.Tensor, torch.Tensor] | None = None) -> None:
        """Set each network's labeled subset as a boolean mask of length ``n`` (the rest is its
        unlabeled subset); ``None`` returns to warm-up batches over all samples.

        ``within`` restricts each network to a pool of samples, ``(mask_a, mask_b)``
        (DivideMix's per-epoch class-balanced subsets, :class:`~ignoise.data.BalancedSubsets`):
        its warm-up batches come from its pool, and its unlabeled subset is the pool minus its
        labeled subset. ``None`` is the whole training set.

        An empty labeled or unlabeled subset falls back to the network's pool: no batch is ever
        empty.
        """
        self.within = None if within is None else tuple(self._mask(m) for m in within)
        if labeled_a is None:
            self.labeled = None
            return
        masks = [self._mask(labeled_a), self._mask(labeled_b)]
        if self.within is not None:
            masks = [mask & pool for mask, pool in zip(masks, self.within)]
        self.labeled = (masks[0], masks[1])

    def _mask(self, mask) -> torch.Tensor:
        mask = torch.as_tensor(mask, dtype=torch.bool).cpu()
        if mask.shape != (self.n,):
            raise ValueError(f"a division mask must have shape ({self.n},), "
                             f"got {tuple(mask.shape)}")
        return mask

    def _stream(self, subset: torch.Tensor, length: int, g: torch.Generator,
                fallback: torch.Tensor | None = None) -> torch.Tensor:
        """``length`` indices: consecutive random permutations of ``subset`` (of ``fallback``,
        by default all samples, when ``subset`` is empty)."""
        if subset.numel() == 0:
            subset = torch.arange(self.n) if fallback is None else fallback
        rounds = math.ceil(length / subset.numel())
        order = torch.rand(rounds, subset.numel(), generator=g).argsort(dim=1)
        return subset[order.flatten()[:length]]

    def global_batches(self) -> list[torch.Tensor]:
        """The epoch's four global streams, each ``(epoch_length, world_size, batch_size)``."""
        g = epoch_generator(self.seed, self.epoch)
        shape = (self.epoch_length, self.world_size, self.batch_size)
        length = self.epoch_length * self.world_size * self.batch_size
        everything = torch.arange(self.n)
        pools = [everything if m is None else everything[m] for m in (self.within or (None,) * 2)]
        if self.labeled is None:
            groups = []
            for pool in pools:
                both = self._stream(pool, 2 * length, g).view(*shape[:2], 2, self.batch_size)
                groups += [both[:, :, 0], both[:, :, 1]]
            return groups
        groups = []
        for i, mask in enumerate(self.labeled):
            unlabeled = ~mask if self.within is None else self.within[i] & ~mask
            groups.append(self._stream(everything[mask], length, g, pools[i]).view(shape))
            groups.append(self._stream(everything[unlabeled], length, g, pools[i]).view(shape))
        return groups

    def __iter__(self):
        # The streams are drawn when iteration starts, after the epoch's set_epoch/set_division.
        groups = [group[:, self.rank] for group in self.global_batches()]
        if self.alternate == "epoch":  # A's two groups for a phase, then B's
            mine = torch.cat([torch.cat(groups[:2], dim=1), torch.cat(groups[2:], dim=1)])
        else:
            mine = torch.cat(groups, dim=1)
        yield from mine.tolist()

    def __len__(self) -> int:
        return self.epoch_length * (2 if self.alternate == "epoch" else 1)

    def state_dict(self) -> dict:
        return {"seed": self.seed, "epoch": self.epoch}

    def load_state_dict(self, state: dict) -> None:
        self.seed, self.epoch = int(state["seed"]), int(state["epoch"])


def collate_codivide(items: list[dict], groups=CODIVIDE_GROUPS) -> dict:
    """Collate the items of one :class:`CoDivideBatchSampler` batch into its ``groups``:
    ``{"a": {"labeled": batch, "unlabeled": batch}, "b": {...}}`` by default, or
    ``{"labeled": batch, "unlabeled": batch}`` with :data:`PHASE_GROUPS`."""
    size = len(items) // len(groups)
    out: dict = {}
    for i, path in enumerate(groups):
        node = out
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = default_collate(items[i * size:(i + 1) * size])
    return out


def make_codivide_loader(dataset, sampler: CoDivideBatchSampler, *, num_workers: int = 0,
                         pin_memory: bool = False) -> DataLoader:
    """A loader over ``sampler`` yielding co-divide batches; ``dataset`` is usually a
    :class:`~ignoise.data.datasets.views.TwoViewDataset`. The sampler is
    ``loader.batch_sampler``."""
    return DataLoader(
        dataset,
        batch_sampler=sampler,
        collate_fn=partial(collate_codivide, groups=sampler.groups),
        num_workers=num_workers,
        pin_memory=pin_memory,
        persistent_workers=num_workers > 0,
    )
