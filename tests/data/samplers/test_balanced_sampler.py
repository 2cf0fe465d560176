"""ClassBalancedSubsetSampler: exact per-class quotas each epoch, reproducible, sharded by rank."""

import numpy as np
import pytest
import torch

from ignoise.data.samplers.balanced import ClassBalancedSubsetSampler

# Class 2 (7 samples) holds fewer than its quota of 10 when 40 samples are drawn.
COUNTS = [50, 30, 7, 13]
TARGETS = np.repeat(np.arange(4), COUNTS)[np.random.default_rng(0).permutation(sum(COUNTS))]


def _histogram(indices):
    return np.bincount(TARGETS[np.asarray(indices)], minlength=4).tolist()


@pytest.mark.parametrize("epoch", [0, 1, 5])
def test_every_class_gets_exactly_its_quota_each_epoch(epoch):
    s = ClassBalancedSubsetSampler(TARGETS, num_samples=40, seed=3)
    s.set_epoch(epoch)
    drawn = list(s)
    assert len(drawn) == len(s) == 40
    assert _histogram(drawn) == [10, 10, 10, 10]
    per_sample = np.bincount(drawn, minlength=len(TARGETS))
    # Classes with enough samples give distinct ones; the small class repeats evenly: each of
    # its 7 samples once or twice (10 = 7 + 3).
    assert per_sample[TARGETS != 2].max() == 1
    small = per_sample[TARGETS == 2]
    assert small.min() == 1 and small.max() == 2 and small.sum() == 10


def test_a_remainder_goes_to_random_classes():
    s = ClassBalancedSubsetSampler(TARGETS, num_samples=42, seed=0)
    hists = []
    for epoch in range(6):
        s.set_epoch(epoch)
        hist = _histogram(list(s))
        assert sum(hist) == 42 and sorted(hist) == [10, 10, 11, 11]
        hists.append(tuple(hist))
    assert len(set(hists)) > 1


def test_same_seed_same_order_and_epochs_differ():
    a = ClassBalancedSubsetSampler(TARGETS, 40, seed=7)
    b = ClassBalancedSubsetSampler(TARGETS, 40, seed=7)
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    assert list(ClassBalancedSubsetSampler(TARGETS, 40, seed=8)) != first


@pytest.mark.parametrize("world_size", [2, 3])
def test_shards_partition_the_epoch(world_size):
    shards = [
        ClassBalancedSubsetSampler(TARGETS, 40, seed=1, rank=r, world_size=world_size)
        for r in range(world_size)
    ]
    for s in shards:
        s.set_epoch(2)
    single = ClassBalancedSubsetSampler(TARGETS, 40, seed=1)
    single.set_epoch(2)
    order = list(single)
    parts = [list(s) for s in shards]
    per_rank = -(-40 // world_size)
    assert [len(p) for p in parts] == [len(s) for s in shards] == [per_rank] * world_size
    # Rank r takes positions r, r + w, ... of the global order, padded by wrapping around.
    padded = order + order[: per_rank * world_size - 40]
    for r, part in enumerate(parts):
        assert part == padded[r::world_size]
    together = sorted(i for p in parts for i in p)
    assert together == sorted(padded)


def test_state_dict_resumes_the_same_epoch():
    s = ClassBalancedSubsetSampler(TARGETS, 40, seed=5)
    s.set_epoch(4)
    state = s.state_dict()
    assert state == {"seed": 5, "epoch": 4}
    resumed = ClassBalancedSubsetSampler(TARGETS, 40)
    resumed.load_state_dict(state)
    assert list(resumed) == list(s)


def test_absent_labels_are_skipped_unless_num_classes_is_given():
    targets = np.array([0, 0, 3, 3, 3, 0])
    s = ClassBalancedSubsetSampler(targets, 4, seed=0)
    assert np.bincount(targets[list(s)], minlength=4).tolist() == [2, 0, 0, 2]
    with pytest.raises(ValueError, match="class 1 has no samples"):
        ClassBalancedSubsetSampler(targets, 4, num_classes=4)
    with pytest.raises(ValueError, match=r"label 3: expected classes in \[0, 3\)"):
        ClassBalancedSubsetSampler(targets, 4, num_classes=3)


def test_feeds_a_dataloader():
    s = ClassBalancedSubsetSampler(TARGETS, 40, seed=0)
    loader = torch.utils.data.DataLoader(torch.arange(len(TARGETS)), batch_size=16, sampler=s)
    batches = [b.tolist() for b in loader]
    assert [len(b) for b in batches] == [16, 16, 8]
    assert _histogram(sum(batches, [])) == [10, 10, 10, 10]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"targets": np.array([], dtype=np.int64), "num_samples": 4}, "non-empty 1-D integer"),
        ({"targets": np.array([0.0, 1.0]), "num_samples": 4}, "non-empty 1-D integer"),
        ({"targets": np.array([0, -1]), "num_samples": 4}, "negative label -1"),
        ({"targets": TARGETS, "num_samples": 3}, "num_samples=3 is less than the 4 classes"),
        ({"targets": TARGETS, "num_samples": 40, "rank": 2, "world_size": 2},
         r"rank 2 is outside \[0, 2\)"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ClassBalancedSubsetSampler(**kwargs)
