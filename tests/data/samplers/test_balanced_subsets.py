"""BalancedSubsets (DivideMix's per-epoch class-balanced subsets) and the co-divide sampler's
``within`` pools built from them."""

import math

import numpy as np
import pytest
import torch

from ignoise.data import BalancedSubsets, CoDivideBatchSampler
from ignoise.data.samplers.sharded import epoch_generator

# Class 2 (7 samples) holds fewer than its quota of 10 when 40 samples are drawn.
COUNTS = [50, 30, 7, 13]
TARGETS = np.repeat(np.arange(4), COUNTS)[np.random.default_rng(0).permutation(sum(COUNTS))]


def _histogram(indices):
    return np.bincount(TARGETS[indices.numpy()], minlength=4).tolist()


@pytest.mark.parametrize("epoch, stream", [(0, 0), (1, 0), (1, 1), (7, 3)])
def test_each_class_gives_its_quota_of_distinct_samples_and_a_small_class_all_it_has(epoch,
                                                                                     stream):
    subsets = BalancedSubsets(TARGETS, size=40, seed=3)
    drawn = subsets.indices(epoch, stream)
    assert _histogram(drawn) == [10, 10, 7, 10]  # the small class gives its 7, no more
    assert len(drawn) == 37 and len(set(drawn.tolist())) == 37
    assert torch.equal(drawn, drawn.sort().values)
    mask = subsets.mask(epoch, stream)
    assert mask.dtype == torch.bool and mask.shape == (len(TARGETS),)
    assert torch.equal(mask.nonzero().flatten(), drawn)


def test_the_remainder_goes_to_random_classes_and_the_total_is_the_size():
    subsets = BalancedSubsets(TARGETS, size=22, seed=1)  # 5 each, 2 extra
    got = set()
    for epoch in range(20):
        hist = _histogram(subsets.indices(epoch, 0))
        assert sum(hist) == 22 and sorted(hist) == [5, 5, 6, 6]
        got.add(tuple(hist))
    assert len(got) > 1  # the extra samples go to classes drawn per epoch
    # With the small class full, its extra sample is lost: 42 = 4 * 10 + 2.
    for epoch in range(20):
        hist = _histogram(BalancedSubsets(TARGETS, size=42, seed=1).indices(epoch, 0))
        assert hist[2] == 7 and all(h in (10, 11) for h in hist[:2] + hist[3:])
        assert sum(h - 10 for h in hist[:2] + hist[3:]) in (1, 2)


def test_a_subset_depends_on_seed_epoch_and_stream_only():
    one, two = BalancedSubsets(TARGETS, 40, seed=3), BalancedSubsets(TARGETS, 40, seed=3)
    assert torch.equal(one.indices(2, 1), two.indices(2, 1))
    assert torch.equal(one.mask(2, 1), one.mask(2, 1))
    first = one.indices(2, 1)
    assert not torch.equal(one.indices(2, 0), first)  # another stream
    assert not torch.equal(one.indices(3, 1), first)  # another epoch
    assert not torch.equal(BalancedSubsets(TARGETS, 40, seed=4).indices(2, 1), first)


def test_size_overrides_the_subset_size_up_to_every_sample():
    subsets = BalancedSubsets(TARGETS, size=40, seed=0)
    assert _histogram(subsets.indices(1, 2, size=24)) == [6, 6, 6, 6]
    assert int(subsets.mask(1, 2, size=24).sum()) == 24
    # Twice the size (the warm-up's): the classes of 7 and 13 give all their samples.
    assert _histogram(subsets.indices(1, 2, size=80)) == [20, 20, 7, 13]
    # Above the number of samples it is cut to it (a quota of 25 each), not an error.
    assert torch.equal(subsets.indices(1, 2, size=10_000), subsets.indices(1, 2, size=100))
    assert _histogram(subsets.indices(1, 2, size=10_000)) == [25, 25, 7, 13]
    assert subsets.size == 40  # the override does not stick
    assert len(subsets.indices(1, 2)) == 37


def test_a_numpy_integer_size_is_a_size():
    assert len(BalancedSubsets(TARGETS, size=np.int64(8)).indices(1, 0)) == 8


def test_bad_sizes_and_targets_are_refused_naming_the_value():
    with pytest.raises(ValueError, match=r"size 3 cannot hold the 4 classes: expected an "
                                         r"integer >= 4"):
        BalancedSubsets(TARGETS, size=3)
    with pytest.raises(ValueError, match=r"size 4.5 cannot hold"):
        BalancedSubsets(TARGETS, size=4.5)
    with pytest.raises(ValueError, match=r"a subset of 101 samples is larger than the 100 "
                                         "training samples"):
        BalancedSubsets(TARGETS, size=101)
    for bad in ([], [[0, 1], [1, 0]], [0, -1, 2], [0.5, 1.7, 2.2]):
        with pytest.raises(ValueError, match=r"targets must be a non-empty 1-D array of "
                                             r"integer labels >= 0"):
            BalancedSubsets(bad, size=1)
    # Absent class labels are not classes: 2 classes present, so size 2 fits.
    labels = np.array([0, 3, 3])
    drawn = BalancedSubsets(labels, size=2).indices(0, 0).numpy()
    assert np.bincount(labels[drawn], minlength=4).tolist() == [1, 0, 0, 1]


# -- CoDivideBatchSampler with within ------------------------------------------------------

N, B, L = 60, 4, 5


def _streams(sampler):
    """Each network's ``(labeled, unlabeled)`` index batches, ``(L, B)`` each, from what the
    sampler yields under either alternation."""
    rows = torch.tensor(list(sampler))
    if sampler.alternate == "epoch":  # A's L iterations, then B's; each row [labeled, unlabeled]
        a, b = rows[:sampler.epoch_length], rows[sampler.epoch_length:]
        return [(part[:, :B], part[:, B:]) for part in (a, b)]
    la, ua, lb, ub = rows.view(len(rows), 4, B).unbind(1)
    return [(la, ua), (lb, ub)]


def _pools():
    g = torch.Generator().manual_seed(0)
    pool_a, pool_b = torch.rand(N, generator=g) < 0.5, torch.rand(N, generator=g) < 0.4
    return pool_a, pool_b


def _in(indices, mask):
    return bool(mask[indices.flatten()].all())


@pytest.mark.parametrize("alternate", ["iteration", "epoch"])
def test_warmup_batches_come_from_each_networks_pool(alternate):
    pool_a, pool_b = _pools()
    sampler = CoDivideBatchSampler(N, B, epoch_length=L, alternate=alternate, seed=1)
    sampler.set_epoch(3)
    sampler.set_division(None, within=(pool_a, pool_b))
    assert sampler.labeled is None
    (la, ua), (lb, ub) = _streams(sampler)
    assert _in(la, pool_a) and _in(ua, pool_a) and _in(lb, pool_b) and _in(ub, pool_b)
    # 2 * L * B = 40 draws per network: whole passes over the pool back to back
    size = int(pool_a.sum())
    seen = torch.cat([la, ua], dim=1).flatten()[:size]
    assert sorted(seen.tolist()) == pool_a.nonzero().flatten().tolist()


@pytest.mark.parametrize("alternate", ["iteration", "epoch"])
def test_divided_batches_stay_inside_each_networks_pool(alternate):
    pool_a, pool_b = _pools()
    labeled_a, labeled_b = torch.arange(N) % 3 == 0, torch.arange(N) % 2 == 1
    sampler = CoDivideBatchSampler(N, B, epoch_length=L, alternate=alternate, seed=1)
    sampler.set_division(labeled_a, labeled_b, within=(pool_a, pool_b))
    assert torch.equal(sampler.labeled[0], labeled_a & pool_a)
    (la, ua), (lb, ub) = _streams(sampler)
    assert _in(la, labeled_a & pool_a) and _in(ua, pool_a & ~labeled_a)
    assert _in(lb, labeled_b & pool_b) and _in(ub, pool_b & ~labeled_b)
    # A labeled mask that misses the pool falls back to the pool, not to all samples.
    sampler.set_division(~pool_a, labeled_b, within=(pool_a, pool_b))
    (la, ua), _ = _streams(sampler)
    assert _in(la, pool_a) and _in(ua, pool_a)


def _batches_without_within(n, batch_size, epoch_length, seed, epoch, labeled):
    """The streams as :class:`CoDivideBatchSampler` drew them before ``within`` existed
    (one rank): random permutations of all samples, of each labeled and each unlabeled
    subset, in the order A labeled, A unlabeled, B labeled, B unlabeled."""
    g = epoch_generator(seed, epoch)
    length = epoch_length * batch_size

    def stream(subset, count):
        if subset.numel() == 0:
            subset = torch.arange(n)
        rounds = math.ceil(count / subset.numel())
        return subset[torch.rand(rounds, subset.numel(), generator=g).argsort(dim=1)
                      .flatten()[:count]]

    everything, groups = torch.arange(n), []
    if labeled is None:
        for _ in range(2):
            both = stream(everything, 2 * length).view(epoch_length, 2, batch_size)
            groups += [both[:, 0], both[:, 1]]
    else:
        for mask in labeled:
            groups.append(stream(everything[mask], length).view(epoch_length, batch_size))
            groups.append(stream(everything[~mask], length).view(epoch_length, batch_size))
    return torch.cat(groups, dim=1).tolist()


@pytest.mark.parametrize("division", [None, "divided"])
def test_without_within_the_batches_are_what_they_were(division):
    labeled = None if division is None else (torch.arange(N) < 20, torch.arange(N) % 4 == 0)
    plain = CoDivideBatchSampler(N, B, epoch_length=L, seed=6)
    pooled = CoDivideBatchSampler(N, B, epoch_length=L, seed=6)
    for sampler in (plain, pooled):
        sampler.set_epoch(2)
    if labeled is not None:
        plain.set_division(*labeled)
    want = _batches_without_within(N, B, L, 6, 2, labeled)
    assert list(plain) == want
    # A sampler that had pools, then a division without them, is back to the same batches.
    pooled.set_division(*(labeled or (None,)), within=_pools())
    assert list(pooled) != want
    pooled.set_division(*(labeled or (None,)))
    assert pooled.within is None and list(pooled) == want
    # Pools of every sample are no pools at all.
    everything = torch.ones(N, dtype=torch.bool)
    pooled.set_division(*(labeled or (None,)), within=(everything, everything))
    assert list(pooled) == want
