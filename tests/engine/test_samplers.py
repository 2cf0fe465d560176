import pytest
import torch

from ignoise.data import ShardedEvalSampler, ShardedRandomSampler


def test_random_sampler_is_a_permutation_that_changes_with_the_epoch():
    s = ShardedRandomSampler(50, seed=3)
    first = list(s)
    assert sorted(first) == list(range(50))
    s.set_epoch(1)
    second = list(s)
    assert sorted(second) == list(range(50)) and second != first
    s.set_epoch(0)
    assert list(s) == first


@pytest.mark.parametrize("world_size", [2, 3, 4])
def test_random_sampler_shards_cover_the_global_order(world_size):
    n = 50
    shards = [list(ShardedRandomSampler(n, seed=1, rank=r, world_size=world_size))
              for r in range(world_size)]
    assert len({len(s) for s in shards}) == 1  # equal iterations on every rank
    assert set().union(*map(set, shards)) == set(range(n))
    assert sum(map(len, shards)) - n == -n % world_size  # padding only to even out ranks
    one = ShardedRandomSampler(n, seed=1).global_order()[:n].tolist()
    interleaved = [shards[i % world_size][i // world_size] for i in range(n)]
    assert interleaved == one  # same global order whatever the number of processes


def test_random_sampler_state_round_trip():
    s = ShardedRandomSampler(20, seed=5)
    s.set_epoch(7)
    t = ShardedRandomSampler(20, seed=0)
    t.load_state_dict(s.state_dict())
    assert list(t) == list(s)


@pytest.mark.parametrize("world_size", [1, 2, 3, 7])
def test_eval_sampler_splits_without_duplicates(world_size):
    parts = [list(ShardedEvalSampler(10, r, world_size)) for r in range(world_size)]
    flat = [i for p in parts for i in p]
    assert sorted(flat) == list(range(10)) and len(flat) == 10


def test_sampler_bad_arguments():
    with pytest.raises(ValueError, match="rank 2 is outside"):
        ShardedRandomSampler(10, rank=2, world_size=2)
    with pytest.raises(ValueError, match="empty dataset"):
        ShardedRandomSampler(0)
    assert torch.equal(ShardedRandomSampler(5, seed=9).global_order(),
                       ShardedRandomSampler(5, seed=9).global_order())
