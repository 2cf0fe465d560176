"""Class distribution agreement sampling and its ablation variants."""

from collections import Counter

import numpy as np
import pytest
import torch

from ignoise.data import ClassDistributionAgreementSampler, build_noisy_data, make_paired_loader

LABELS = build_noisy_data("digits", noise="sym", noise_rate=0.5, seed=0).train.targets
N, B = len(LABELS), 64


def histogram(indices) -> list[int]:
    return np.bincount(LABELS[np.asarray(indices)], minlength=10).tolist()


def pairs(mode="cdas", epoch=0, seed=0, labels=LABELS, batch_size=B, **kwargs):
    sampler = ClassDistributionAgreementSampler(labels, batch_size, mode=mode, seed=seed, **kwargs)
    sampler.set_epoch(epoch)
    return [(a.tolist(), b.tolist()) for a, b in sampler.global_pairs()]


@pytest.mark.parametrize("mode", ["cdas", "cdas_no_reversal"])
def test_pairs_agree_on_annotated_classes_and_are_disjoint(mode):
    for seed in (0, 1):
        got = pairs(mode, seed=seed)
        assert len(got) == 2 * int(np.ceil(N / (2 * B)))
        for a, b in got:
            assert len(a) == len(b) == B
            assert histogram(a) == histogram(b)
            assert not set(a) & set(b)
            # position-aligned: the i-th of B is annotated like the i-th of A
            assert (LABELS[a] == LABELS[b]).all()


def test_the_four_step_cycle_swaps_then_reverses_the_roles():
    cdas, plain = pairs("cdas"), pairs("cdas_no_reversal")
    for t in range(0, len(cdas), 2):
        assert cdas[t + 1] == (cdas[t][1], cdas[t][0])  # step 2 (and 4) swap the pair
        if t % 4 == 0:  # step 1: A draws at random, B gets the match
            assert cdas[t] == plain[t]
        else:  # step 3: B draws at random, A gets the match
            assert cdas[t] == (plain[t][1], plain[t][0])


def test_an_epoch_feeds_both_networks_the_same_samples_and_covers_the_training_set():
    for seed in (0, 1, 2):
        got = pairs(seed=seed)
        seen_a = Counter(i for a, _ in got for i in a)
        seen_b = Counter(i for _, b in got for i in b)
        assert seen_a == seen_b
        # 2 * ceil(N / 2B) * B draws: N distinct samples plus the few the tail repeats.
        assert len(seen_a) == N
        assert sum(seen_a.values()) - N == len(got) * B - N


def test_random_draws_are_without_replacement_within_the_epoch():
    got = pairs("cdas_no_reversal")
    drawn = [i for t, (a, _) in enumerate(got) if t % 2 == 0 for i in a]
    # only the last random batch may be topped up from the epoch's first draws
    assert len(set(drawn[:-B])) == len(drawn[:-B])


def test_too_few_samples_left_in_a_class():
    labels = np.array([0] * 3 + [1] * 200 + [2] * 60)
    for a, b in pairs(labels=labels, batch_size=32):
        assert sorted(labels[a]) == sorted(labels[b])
        own = {i for i in a if labels[i] == 0}
        partners = [j for i, j in zip(a, b) if labels[i] == 0]
        # class 0 has 3 samples: outside A's batch when possible, repeated if need be
        if len(own) < 3:
            assert not set(partners) & own


def test_identical_and_random_variants():
    for a, b in pairs("identical"):
        assert a == b
    got = pairs("random")
    assert all(a != b for a, b in got)
    for which in (0, 1):
        seen = [i for p in got for i in p[which]]
        assert set(seen) == set(range(N))  # each network: one padded permutation
    overlap = np.mean([len(set(a) & set(b)) / B for a, b in got])
    assert overlap < 0.15  # independent draws share about B / N of their samples
    # the first identical_epochs epochs are identical whatever the mode
    assert all(a == b for a, b in pairs("cdas", epoch=1, identical_epochs=2))
    assert not any(a == b for a, b in pairs("cdas", epoch=2, identical_epochs=2))


@pytest.mark.parametrize("world_size", [2, 4])
def test_sharding_by_rank_reproduces_the_pairs_of_one_process(world_size):
    single = pairs(epoch=3)
    ranks = []
    for rank in range(world_size):
        sampler = ClassDistributionAgreementSampler(LABELS, B, seed=0, rank=rank,
                                                    world_size=world_size)
        sampler.set_epoch(3)
        ranks.append(list(sampler))
    assert all(len(r) == len(single) for r in ranks)
    half = B // world_size
    for t, (a, b) in enumerate(single):
        shares = [flat for flat in (r[t] for r in ranks)]
        for rank, flat in enumerate(shares):
            assert len(flat) == 2 * half
            assert histogram(flat[:half]) == histogram(flat[half:])
            assert flat[:half] == a[rank::world_size] and flat[half:] == b[rank::world_size]


def test_state_dict_resumes_the_same_epoch_and_epochs_differ():
    sampler = ClassDistributionAgreementSampler(LABELS, B, seed=5)
    sampler.set_epoch(4)
    expected = list(sampler)
    fresh = ClassDistributionAgreementSampler(LABELS, B, seed=0)
    fresh.load_state_dict(sampler.state_dict())
    assert list(fresh) == expected
    fresh.set_epoch(5)
    assert list(fresh) != expected


def test_paired_loader_splits_the_flat_list():
    data = build_noisy_data("digits", noise="sym", noise_rate=0.5, seed=0).train
    sampler = ClassDistributionAgreementSampler(data.targets, 16, seed=0)
    batch = next(iter(make_paired_loader(data, sampler)))
    flat = next(iter(sampler))
    assert batch["a"]["index"].tolist() == flat[:16] and batch["b"]["index"].tolist() == flat[16:]
    assert torch.equal(batch["a"]["y"].sort().values, batch["b"]["y"].sort().values)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unknown sampling mode 'bogus'"):
        ClassDistributionAgreementSampler(LABELS, B, mode="bogus")
    with pytest.raises(ValueError, match="batch size 30 .* multiple of the number of processes 4"):
        ClassDistributionAgreementSampler(LABELS, 30, world_size=4)
    with pytest.raises(ValueError, match="a pair needs 2 \\* batch_size = 2000 samples"):
        ClassDistributionAgreementSampler(LABELS, 1000)
