"""A per-epoch class-balanced subset of a large noisy training set, sharded by rank.

DivideMix's Clothing1M code does not train on the whole million noisy images each epoch: every
epoch draws a fresh subset holding the same number of images of each (noisy) class. This sampler
does that draw from ``(seed, epoch)``, so every rank draws the same subset and a resumed run
draws what an uninterrupted one would, as
:class:`~ignoise.data.samplers.sharded.ShardedRandomSampler`. No ignoise recipe uses the sampler;
DivideMix and GSS-SSL draw their per-epoch subsets with :class:`BalancedSubsets` (the
``division_subset`` config key, docs/dividemix.rst).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
import torch

from .sharded import epoch_generator

__all__ = ["ClassBalancedSubsetSampler", "BalancedSubsets"]


def _class_members(targets: np.ndarray, counts: np.ndarray) -> list[torch.Tensor]:
    """The indices of each class present in ``targets`` (``counts`` its bincount), grouped
    once, so that a draw is then one op per class."""
    order = torch.from_numpy(np.argsort(targets, kind="stable"))
    return list(torch.split(order, counts[np.flatnonzero(counts)].tolist()))


def _class_quotas(total: int, k: int, g: torch.Generator) -> list[int]:
    """``total // k`` per class, plus one for ``total % k`` classes drawn from ``g``."""
    base, extra = divmod(total, k)
    quota = torch.full((k,), base, dtype=torch.int64)
    quota[torch.randperm(k, generator=g)[:extra]] += 1
    return quota.tolist()


class ClassBalancedSubsetSampler(torch.utils.data.Sampler[int]):
    """Draws ``num_samples`` indices per epoch, the same number from every class, split by rank.

    Each epoch, every class present in ``targets`` gets a quota of ``num_samples // K`` indices;
    when ``K`` does not divide ``num_samples``, the ``num_samples % K`` extra ones go to classes
    drawn at random that epoch (DivideMix's 64,000 images over Clothing1M's 14 classes gives
    4,571 or 4,572 per class). A class holding at least its quota gives that many distinct
    samples. A class holding fewer is drawn with replacement, but evenly: all its samples in a
    random order, repeated as many rounds as the quota needs, so each sample appears
    ``floor(quota / c)`` or ``ceil(quota / c)`` times rather than an i.i.d. number of times.
    The subset is then shuffled.

    All ranks draw the same global order; rank ``r`` of ``w`` takes positions ``r, r + w, ...``
    after the order is padded by wrapping around to a multiple of ``w``, exactly as
    :class:`~ignoise.data.samplers.sharded.ShardedRandomSampler` does.

    Args:
        targets: the given (noisy) label of every training sample; the classes are balanced on
            these, since the clean ones are unknown.
        num_samples: the number of indices per epoch over all ranks (at least the number of
            classes).
        seed: shared seed.
        rank: this process's rank.
        world_size: number of processes.
        num_classes: if given, every class in ``[0, num_classes)`` must have samples, which
            catches a truncated label file; by default the classes balanced are those present.

    Raises:
        ValueError: for empty or non-integer ``targets``, ``num_samples`` below the number of
            classes, a rank outside ``[0, world_size)``, or a class of ``[0, num_classes)``
            without samples.

    Examples:
        >>> import numpy as np
        >>> s = ClassBalancedSubsetSampler(np.array([0, 0, 0, 0, 1, 1]), num_samples=4, seed=0)
        >>> len(s), np.bincount(np.array([0, 0, 0, 0, 1, 1])[list(s)]).tolist()
        (4, [2, 2])
    """

    def __init__(
        self,
        targets: Sequence[int] | np.ndarray,
        num_samples: int,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        *,
        num_classes: int | None = None,
    ) -> None:
        targets = np.asarray(targets)
        if targets.ndim != 1 or targets.size == 0 or not np.issubdtype(targets.dtype, np.integer):
            raise ValueError(
                f"targets must be a non-empty 1-D integer array, got {targets.dtype} "
                f"{targets.shape}"
            )
        if targets.min() < 0:
            raise ValueError(f"targets hold the negative label {int(targets.min())}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is outside [0, {world_size})")
        counts = np.bincount(targets, minlength=num_classes or 0)
        if num_classes is not None:
            if len(counts) > num_classes:
                raise ValueError(
                    f"targets hold the label {len(counts) - 1}: expected classes in "
                    f"[0, {num_classes})"
                )
            empty = np.flatnonzero(counts == 0)
            if empty.size:
                raise ValueError(
                    f"class {int(empty[0])} has no samples: cannot balance {num_classes} classes"
                )
        present = np.flatnonzero(counts)
        if int(num_samples) < len(present):
            raise ValueError(
                f"num_samples={num_samples} is less than the {len(present)} classes to balance"
            )
        self._members = _class_members(targets, counts)
        self.classes = present
        self.num_samples = int(num_samples)
        self.seed, self.rank, self.world_size = int(seed), rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def global_order(self) -> torch.Tensor:
        """This epoch's subset in its shuffled order, padded to a multiple of ``world_size``."""
        g = epoch_generator(self.seed, self.epoch)
        quotas = _class_quotas(self.num_samples, len(self._members), g)
        picks = []
        for members, m in zip(self._members, quotas):
            c = len(members)
            if m <= c:
                draw = torch.randperm(c, generator=g)[:m]  # distinct samples
            else:
                # ceil(m / c) independent permutations of the class, cut at m: even repetition.
                # (argsort of uniforms is slower than randperm, so only small classes use it.)
                rounds = -(-m // c)
                draw = torch.rand(rounds, c, generator=g).argsort(dim=1).flatten()[:m]
            picks.append(members[draw])
        subset = torch.cat(picks)
        subset = subset[torch.randperm(self.num_samples, generator=g)]
        total = len(self) * self.world_size
        if total > self.num_samples:
            subset = torch.cat([subset, subset[: total - self.num_samples]])
        return subset

    def __iter__(self):
        return iter(self.global_order()[self.rank :: self.world_size].tolist())

    def __len__(self) -> int:
        return math.ceil(self.num_samples / self.world_size)

    def state_dict(self) -> dict:
        return {"seed": self.seed, "epoch": self.epoch}

    def load_state_dict(self, state: dict) -> None:
        self.seed, self.epoch = int(state["seed"]), int(state["epoch"])


class BalancedSubsets:
    """Class-balanced subsets of distinct samples, one per ``(epoch, stream)``: DivideMix's
    Clothing1M draw, where each network is divided on, and the other trained on, a fresh subset
    every epoch.

    A subset of ``size`` holds ``size // K`` samples of each (given) class, the ``size % K``
    extra ones going to classes drawn at random; a class with fewer samples than its quota gives
    all of them, so the subset is then smaller (DivideMix's loop takes each image at most once).
    The draw depends on ``(seed, epoch, stream)`` only: every rank and a resumed run draw the
    same subsets.

    Args:
        targets: the given label of every training sample (the classes are balanced on these).
        size: samples per subset (DivideMix's Clothing1M: ``num_batches * batch_size`` =
            32,000 per division).
        seed: shared seed.

    Examples:
        >>> import torch
        >>> subsets = BalancedSubsets(torch.tensor([0, 0, 0, 0, 1, 1, 1, 2]), size=6, seed=0)
        >>> mask = subsets.mask(epoch=1, stream=0)
        >>> int(mask.sum()), torch.bincount(torch.tensor([0, 0, 0, 0, 1, 1, 1, 2])[mask]).tolist()
        (5, [2, 2, 1])
    """

    def __init__(self, targets, size: int, seed: int = 0) -> None:
        targets = np.asarray(targets)
        if (targets.ndim != 1 or targets.size == 0 or not np.issubdtype(targets.dtype, np.integer)
                or targets.min() < 0):
            raise ValueError(f"targets must be a non-empty 1-D array of integer labels >= 0, got "
                             f"{targets.dtype} {targets.shape}")
        counts = np.bincount(targets)
        present = np.flatnonzero(counts)
        if not isinstance(size, numbers.Integral) or size < len(present):
            raise ValueError(f"a balanced subset of size {size!r} cannot hold the "
                             f"{len(present)} classes: expected an integer >= {len(present)}")
        if size > targets.size:
            raise ValueError(f"a subset of {size} samples is larger than the {targets.size} "
                             "training samples")
        self.targets = torch.from_numpy(targets.astype(np.int64))
        self.size, self.seed = int(size), int(seed)
        self._members = _class_members(targets, counts)

    def indices(self, epoch: int, stream: int, size: int | None = None) -> torch.Tensor:
        """The subset of ``(epoch, stream)`` as sorted sample indices; ``size`` overrides the
        subset size (at most the number of samples)."""
        size = min(self.size if size is None else int(size), self.targets.numel())
        g = torch.Generator()
        g.manual_seed((self.seed * 1_000_003 + int(epoch)) * 31 + int(stream))
        quotas = _class_quotas(size, len(self._members), g)
        picks = [members[torch.randperm(len(members), generator=g)[:m]]
                 for members, m in zip(self._members, quotas)]
        return torch.cat(picks).sort().values

    def mask(self, epoch: int, stream: int, size: int | None = None) -> torch.Tensor:
        """The subset of ``(epoch, stream)`` as an ``(N,)`` boolean mask."""
        mask = torch.zeros(self.targets.numel(), dtype=torch.bool)
        mask[self.indices(epoch, stream, size)] = True
        return mask
