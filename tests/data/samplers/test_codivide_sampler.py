"""The co-divide batch sampler, its collate function and the two-view dataset."""

import pytest
import torch

from ignoise.data import (
    CoDivideBatchSampler,
    TwoViewDataset,
    collate_codivide,
    load_digits_dataset,
    make_codivide_loader,
)


def _groups(sampler):
    rows = torch.tensor(list(sampler))
    return rows.view(len(rows), 4, sampler.batch_size).unbind(1)


def test_warmup_epoch_is_one_pass_over_all_samples_per_network():
    sampler = CoDivideBatchSampler(50, batch_size=5)
    assert len(sampler) == 5  # ceil(50 / (2 * 5))
    la, ua, lb, ub = _groups(sampler)
    for labeled, unlabeled in ((la, ua), (lb, ub)):
        seen = torch.cat([labeled, unlabeled], dim=1).flatten()
        assert sorted(seen.tolist()) == list(range(50))
    assert not torch.equal(la, lb)  # the networks see different orders


def test_divided_batches_come_from_each_networks_subsets_and_cycle():
    n = 40
    sampler = CoDivideBatchSampler(n, batch_size=4, epoch_length=6, seed=2)
    labeled_a, labeled_b = torch.arange(n) < 5, torch.arange(n) % 2 == 0
    sampler.set_division(labeled_a, labeled_b)
    la, ua, lb, ub = _groups(sampler)
    assert la.shape == (6, 4)
    assert bool(labeled_a[la].all() and not labeled_a[ua].any())
    assert bool(labeled_b[lb].all() and not labeled_b[ub].any())
    # 24 draws from a 5-sample subset: whole permutations back to back
    assert all(sorted(chunk.tolist()) == list(range(5)) for chunk in la.flatten()[:20].split(5))
    sampler.set_epoch(1)
    assert not torch.equal(_groups(sampler)[0], la)
    sampler.set_epoch(0)
    assert torch.equal(_groups(sampler)[0], la)


def test_ranks_take_disjoint_slices_of_the_same_global_batches():
    kwargs = dict(batch_size=3, seed=5, world_size=2)
    ranks = [CoDivideBatchSampler(30, rank=r, **kwargs) for r in (0, 1)]
    for s in ranks:
        s.set_division(torch.arange(30) < 12, torch.arange(30) >= 12)
    global_la = ranks[0].global_batches()[0]
    assert len(ranks[0]) == len(ranks[1]) == 3  # ceil(30 / (2 * 3 * 2))
    for r, sampler in enumerate(ranks):
        assert torch.equal(_groups(sampler)[0], global_la[:, r])


def test_empty_subsets_fall_back_to_all_samples_and_bad_masks_fail():
    sampler = CoDivideBatchSampler(10, batch_size=2)
    sampler.set_division(torch.ones(10, dtype=torch.bool), torch.zeros(10, dtype=torch.bool))
    la, ua, lb, ub = _groups(sampler)
    assert ua.numel() == lb.numel() == 6
    with pytest.raises(ValueError, match=r"shape \(10,\)"):
        sampler.set_division(torch.ones(9, dtype=torch.bool), torch.ones(10, dtype=torch.bool))
    with pytest.raises(ValueError, match="batch size"):
        CoDivideBatchSampler(10, batch_size=0)


def test_loader_yields_two_views_per_network_and_part():
    from ignoise.data.transforms import train_transform

    data = TwoViewDataset(load_digits_dataset(transform=train_transform("digits")))
    assert data.num_classes == 10 and len(data.targets) == 1437
    sampler = CoDivideBatchSampler(len(data), batch_size=8)
    sampler.set_division(torch.arange(len(data)) < 700, torch.arange(len(data)) >= 700)
    batch = next(iter(make_codivide_loader(data, sampler)))
    assert set(batch) == {"a", "b"} and set(batch["a"]) == {"labeled", "unlabeled"}
    part = batch["b"]["labeled"]
    assert part["x"].shape == part["x2"].shape == (8, 1, 8, 8)
    assert bool((part["index"] >= 700).all())
    assert torch.equal(part["y"], torch.as_tensor(data.targets)[part["index"]])
    items = [{"x": torch.zeros(1), "y": i, "index": i} for i in range(8)]
    assert collate_codivide(items)["b"]["unlabeled"]["index"].tolist() == [6, 7]


def test_per_epoch_alternation_gives_each_network_its_iteration_streams_in_two_phases():
    from ignoise.data import PHASE_GROUPS, collate_codivide

    both = CoDivideBatchSampler(40, batch_size=3, epoch_length=4, seed=5)
    phases = CoDivideBatchSampler(40, batch_size=3, epoch_length=4, seed=5, alternate="epoch")
    assert phases.groups == PHASE_GROUPS and (len(both), len(phases)) == (4, 8)
    for sampler in (both, phases):
        sampler.set_epoch(2)
        sampler.set_division(torch.arange(40) < 10, torch.arange(40) >= 25)
    interleaved, phased = list(both), list(phases)
    assert all(len(batch) == 6 for batch in phased)
    # A's labeled + unlabeled batches for 4 iterations, then B's: the same streams.
    assert phased[:4] == [batch[:6] for batch in interleaved]
    assert phased[4:] == [batch[6:] for batch in interleaved]
    assert all(i < 10 for batch in phased[:4] for i in batch[:3])  # A's labeled subset
    assert all(i >= 25 for batch in phased[4:] for i in batch[:3])  # B's
    items = [{"index": torch.tensor(i)} for i in phased[0]]
    out = collate_codivide(items, PHASE_GROUPS)
    assert out["labeled"]["index"].tolist() == phased[0][:3]
    with pytest.raises(ValueError, match="alternate must be one of"):
        CoDivideBatchSampler(40, batch_size=3, alternate="batch")
