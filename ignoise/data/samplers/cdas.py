"""Class distribution agreement sampling (CDAS, GAL section 3.1) and its ablation variants: a
paired batch sampler that feeds two networks batches with the same annotated-class histogram."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch

from .sharded import epoch_generator

__all__ = ["ClassDistributionAgreementSampler", "SAMPLING_MODES"]

#: ``cdas``: the paper's 4-step cycle; ``cdas_no_reversal``: its first two steps only;
#: ``random``: independent random batches; ``identical``: both networks get the same batch.
SAMPLING_MODES = ("cdas", "cdas_no_reversal", "random", "identical")


class ClassDistributionAgreementSampler(torch.utils.data.Sampler[list[int]]):
    """Paired batches for networks A and B, following the flat-2B paired convention.

    Each iteration yields one flat list: network A's indices, then network B's (see
    :func:`ignoise.data.make_paired_loader`). In ``cdas`` mode, pairs come in a 4-step cycle:

    1. a random batch ``Xa`` (without replacement within the epoch) goes to A, and a matched
       batch ``Xb`` to B: for every class ``j``, ``Xb`` holds as many samples *annotated* ``j``
       (the given, possibly noisy, label) as ``Xa`` does, none of them in ``Xa`` (eq. 1);
    2. the same pair swapped: A gets ``Xb``, B gets ``Xa``;
    3. and 4. the same with the roles reversed: the random batch goes to B first, its match to A.

    ``cdas_no_reversal`` repeats steps 1-2 only (A always sees the random batch first);
    ``random`` gives A and B independent random batches; ``identical`` gives both the same one.

    An epoch draws from one pool: every random and matched batch takes samples not yet drawn in
    the epoch, so each network sees every sample once per epoch, both networks see the same
    samples (the paper's reason for the swap), and the epoch has ``2 * ceil(N / (2 * B))``
    iterations (about a CE epoch). Near the end of an epoch a class may have fewer than the
    needed samples left in the pool: the match then takes that class's samples already drawn
    this epoch (never ones in ``Xa``); if the class has fewer samples outside ``Xa`` than
    needed, those are repeated; if it has none at all, ``Xb`` repeats ``Xa``'s own. Histograms
    always agree exactly; a few samples may be seen twice and a few not at all in an epoch.
    A random batch that finds fewer than ``B`` undrawn samples is topped up from the epoch's
    first draws.

    Multi-process runs: the global sequence of pairs depends only on ``(seed, epoch)``;
    ``batch_size`` is the per-network batch over *all* processes, and rank ``r`` of ``w`` takes
    positions ``r, r + w, ...`` of both halves. ``Xb[i]`` is annotated like ``Xa[i]``, so every
    rank's share of a pair has identical histograms too, and the run's pairs are the same on
    any number of processes.

    Args:
        targets: the given (noisy) label of every training sample.
        batch_size: samples per network per iteration, over all processes.
        mode: one of :data:`SAMPLING_MODES`.
        num_classes: number of classes (default ``max(targets) + 1``).
        seed: shared seed.
        rank: this process's rank.
        world_size: number of processes; must divide ``batch_size``.
        identical_epochs: the first ``identical_epochs`` epochs yield identical pairs whatever
            the mode (the contrast experiment of the paper's Figure 1).

    Examples:
        >>> labels = [0, 1, 1, 2] * 4
        >>> s = ClassDistributionAgreementSampler(labels, batch_size=4, seed=0)
        >>> flat = next(iter(s)); len(flat), len(s)
        (8, 4)
        >>> sorted(labels[i] for i in flat[:4]) == sorted(labels[i] for i in flat[4:])
        True
    """

    def __init__(
        self,
        targets: Sequence[int] | np.ndarray | torch.Tensor,
        batch_size: int,
        *,
        mode: str = "cdas",
        num_classes: int | None = None,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        identical_epochs: int = 0,
    ) -> None:
        labels = torch.as_tensor(np.asarray(targets), dtype=torch.long).flatten()
        if mode not in SAMPLING_MODES:
            raise ValueError(f"unknown sampling mode {mode!r}: expected one of {SAMPLING_MODES}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch size must be a positive integer, got {batch_size!r}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is outside [0, {world_size})")
        if batch_size % world_size:
            raise ValueError(
                f"batch size {batch_size} (per network, over all processes) must be a multiple "
                f"of the number of processes {world_size}"
            )
        if len(labels) < 2 * batch_size:
            raise ValueError(
                f"a pair needs 2 * batch_size = {2 * batch_size} samples, the dataset has "
                f"{len(labels)}"
            )
        num_classes = int(num_classes if num_classes is not None else labels.max() + 1)
        if labels.min() < 0 or labels.max() >= num_classes:
            raise ValueError(f"targets must lie in [0, {num_classes})")
        self.labels, self.num_classes = labels, num_classes
        self.batch_size, self.mode = batch_size, mode
        self.seed, self.rank, self.world_size = int(seed), rank, world_size
        self.identical_epochs = int(identical_epochs)
        self.epoch = 0
        self.num_pairs = math.ceil(len(labels) / (2 * batch_size))

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return 2 * self.num_pairs

    def state_dict(self) -> dict:
        return {"seed": self.seed, "epoch": self.epoch}

    def load_state_dict(self, state: dict) -> None:
        self.seed, self.epoch = int(state["seed"]), int(state["epoch"])

    def __iter__(self) -> Iterator[list[int]]:
        for a, b in self.global_pairs():
            r, w = self.rank, self.world_size
            yield a[r::w].tolist() + b[r::w].tolist()

    def global_pairs(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """This epoch's ``(A's batch, B's batch)`` of every iteration, before rank sharding."""
        g = epoch_generator(self.seed, self.epoch)
        mode = "identical" if self.epoch < self.identical_epochs else self.mode
        if mode in ("identical", "random"):
            yield from self._unmatched_pairs(g, identical=mode == "identical")
            return
        for k, (drawn, matched) in enumerate(self._matched_pairs(g)):
            if mode == "cdas" and k % 2 == 1:  # steps 3-4: B drew at random, A gets the match
                yield matched, drawn
                yield drawn, matched
            else:  # steps 1-2
                yield drawn, matched
                yield matched, drawn

    def _padded_permutation(self, g: torch.Generator) -> torch.Tensor:
        n, total = len(self.labels), len(self) * self.batch_size
        perm = torch.randperm(n, generator=g)
        return torch.cat([perm, perm[: total - n]]).view(len(self), self.batch_size)

    def _unmatched_pairs(self, g: torch.Generator, identical: bool):
        a = self._padded_permutation(g)
        b = a if identical else self._padded_permutation(g)
        yield from zip(a, b)

    def _matched_pairs(self, g: torch.Generator):
        """Random batches and their class matches, drawn from one pool per epoch."""
        labels, k, bs = self.labels, self.num_classes, self.batch_size
        n = len(labels)
        perm = torch.randperm(n, generator=g)
        # Each class's samples in a random order, classes one after another. The order is drawn
        # independently of ``perm``: matches drawn in ``perm`` order would come from just ahead
        # of the random draws' cursor and skew the class histograms of the next random batches.
        shuffled = torch.randperm(n, generator=g)
        queue = shuffled[torch.argsort(labels[shuffled], stable=True)]
        queue_class = labels[queue]
        class_start = torch.cumsum(torch.bincount(labels, minlength=k), 0)
        class_start = torch.cat([class_start.new_zeros(1), class_start[:-1]])
        undrawn = torch.ones(n, dtype=torch.bool)
        cursor = 0  # every sample before perm[cursor] has been drawn
        for _ in range(self.num_pairs):
            free = torch.nonzero(undrawn[perm[cursor:]]).flatten()[:bs] + cursor
            drawn = perm[free]
            if len(drawn) < bs:
                drawn = torch.cat([drawn, perm[: bs - len(drawn)]])
            else:
                cursor = int(free[-1]) + 1
            undrawn[drawn] = False
            matched = self._match(drawn, queue, queue_class, class_start, undrawn)
            undrawn[matched] = False
            yield drawn, matched

    def _match(self, drawn, queue, queue_class, class_start, undrawn) -> torch.Tensor:
        """For each ``drawn[i]``, a sample annotated alike, not in ``drawn``: undrawn ones first."""
        labels, k = self.labels, self.num_classes
        need = torch.bincount(labels[drawn], minlength=k)
        in_drawn = torch.zeros(len(labels), dtype=torch.bool)
        in_drawn[drawn] = True
        fresh = undrawn[queue]
        reused = ~fresh & ~in_drawn[queue]
        # Within each class: undrawn samples in queue order, then already-drawn ones.
        fresh_rank = _rank_within_class(fresh, queue_class, class_start)
        reused_rank = _rank_within_class(reused, queue_class, class_start)
        num_fresh = torch.bincount(queue_class[fresh], minlength=k)
        order = torch.where(fresh, fresh_rank, num_fresh[queue_class] + reused_rank)
        take = (fresh | reused) & (order < need[queue_class])
        chosen, chosen_class = queue[take], queue_class[take]
        num_chosen = torch.bincount(chosen_class, minlength=k)
        chosen_start = torch.cumsum(num_chosen, 0) - num_chosen
        # Align: the r-th drawn sample of class j gets the r-th chosen one (cycling if short).
        by_class = torch.argsort(labels[drawn], stable=True)
        cls = labels[drawn][by_class]
        rank = torch.arange(len(drawn)) - (torch.cumsum(need, 0) - need)[cls]
        own = drawn[by_class]
        if len(chosen) == 0:
            partner = own
        else:
            have = num_chosen[cls]
            pick = (chosen_start[cls] + rank % have.clamp_min(1)).clamp_max(len(chosen) - 1)
            partner = torch.where(have > 0, chosen[pick], own)
        matched = torch.empty_like(drawn)
        matched[by_class] = partner
        return matched


def _rank_within_class(flag: torch.Tensor, queue_class: torch.Tensor, class_start: torch.Tensor):
    """For class-contiguous ``flag``, the number of flagged entries before each one in its class."""
    before = torch.cumsum(flag.long(), 0) - flag.long()
    start = class_start.clamp_max(len(flag) - 1)
    return before - before[start][queue_class]
