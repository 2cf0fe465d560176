"""Co-divide on per-epoch class-balanced subsets (DivideMix's Clothing1M code), checked against
a plain computation of each network's mixture on its own subset."""

from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from ignite.engine import Engine, Events

from ignoise.data import ArrayDataset, BalancedSubsets, CoDivideBatchSampler, make_eval_loader
from ignoise.handlers import CoDivide, clean_probability

N, K, D, SIZE = 200, 4, 8, 60


class CountingNet(torch.nn.Module):
    """A seeded linear model that counts the rows it is given."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.linear = torch.nn.Linear(D, K)
        self.rows = 0

    def forward(self, x):
        self.rows += len(x)
        return self.linear(x)


def _data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N, D, generator=g)
    # uneven classes: 80, 60, 40, 20
    given = torch.cat([torch.full((c,), k) for k, c in enumerate((80, 60, 40, 20))])
    given = given[torch.randperm(N, generator=g)]
    return x, given


def _divide(loader=None, *, sampler=None, warmup_epochs=0, **kwargs):
    x, given = _data()
    nets = [CountingNet(0), CountingNet(1)]
    loader = loader if loader is not None else make_eval_loader(ArrayDataset(x, given, K), 32)
    sampler = sampler or CoDivideBatchSampler(N, 8)
    subsets = BalancedSubsets(given, SIZE, seed=5)
    divide = CoDivide(nets, loader, num_samples=N, num_classes=K, sampler=sampler,
                      subsets=subsets, warmup_epochs=warmup_epochs, **kwargs)
    return divide, nets, subsets, x, given


def _reference(nets, subsets, x, given, epoch):
    """Per network: CE on its subset, min-max normalized over it, the mixture's posterior."""
    out = []
    with torch.no_grad():
        for m, net in enumerate(nets):
            mask = subsets.mask(epoch, m)
            losses = F.cross_entropy(net.linear(x[mask]), given[mask], reduction="none")
            normalized = (losses - losses.min()) / (losses.max() - losses.min())
            out.append((mask, clean_probability(normalized, seed=0)))
    return out


def test_each_network_is_divided_on_its_own_subset_and_keeps_the_rest():
    divide, nets, subsets, x, given = _divide()
    divide.divide(apply=True, epoch=3)
    reference = _reference(nets, subsets, x, given, 3)
    for m, (mask, prob) in enumerate(reference):
        assert 0 < int(mask.sum()) <= SIZE
        assert torch.allclose(divide.clean_prob[m][mask], prob, atol=1e-5)
        assert bool((divide.clean_prob[m][~mask] == 1.0).all())  # untouched: ones at first
        assert bool((divide.labeled(m) <= mask).all())  # labeled only inside the subset
        assert 0 < int(divide.labeled(m).sum()) < int(mask.sum())
    s0, s1 = reference[0][0], reference[1][0]
    assert torch.equal(divide.within, torch.stack([s0, s1]))
    union = s0 | s1
    assert not torch.equal(s0, s1)
    with torch.no_grad():
        mean = (nets[0].linear(x).softmax(1) + nets[1].linear(x).softmax(1)) / 2
    assert torch.allclose(divide.predictions[union], mean[union], atol=1e-6)
    assert torch.equal(divide.predictions[~union], F.one_hot(given[~union], K).float())
    # The restricted loader: each network read the union's rows, once.
    assert nets[0].rows == nets[1].rows == int(union.sum())
    # Co-divide: A trains on B's subset, labeled by B's mixture, and the other way round.
    sampler = divide.sampler
    assert torch.equal(sampler.within[0], s1) and torch.equal(sampler.within[1], s0)
    assert torch.equal(sampler.labeled[0], divide.labeled(1))
    assert torch.equal(sampler.labeled[1], divide.labeled(0))

    # The next division refits on the next subsets; elsewhere the last values stay.
    before = divide.clean_prob.clone()
    divide.divide(apply=True, epoch=4)
    for m, (mask, prob) in enumerate(_reference(nets, subsets, x, given, 4)):
        assert torch.allclose(divide.clean_prob[m][mask], prob, atol=1e-5)
        assert torch.equal(divide.clean_prob[m][~mask], before[m][~mask])


def test_a_loader_that_cannot_be_restricted_gives_the_same_division_by_a_full_pass():
    restricted, *_ = _divide()
    restricted.divide(apply=True, epoch=2)
    x, given = _data()
    batches = list(make_eval_loader(ArrayDataset(x, given, K), 32))  # a plain list
    full, nets, *_ = _divide(batches)
    full.divide(apply=True, epoch=2)
    assert nets[0].rows == nets[1].rows == N  # the whole pass
    assert torch.allclose(full.clean_prob, restricted.clean_prob, atol=1e-6)
    assert torch.allclose(full.predictions, restricted.predictions, atol=1e-6)
    assert torch.equal(full.within, restricted.within)


def test_warmup_batches_come_from_double_subsets_then_the_division_takes_over():
    sampler = CoDivideBatchSampler(N, 8)
    divide, nets, subsets, *_ = _divide(sampler=sampler, warmup_epochs=2)
    trainer = Engine(lambda engine, batch: None)
    divide.attach(trainer)
    seen = []

    @trainer.on(Events.EPOCH_STARTED)
    def record(engine):
        seen.append((engine.state.epoch, sampler.labeled, sampler.within, nets[0].rows))

    trainer.run([0], max_epochs=3)
    assert [epoch for epoch, *_ in seen] == [1, 2, 3]
    for epoch, labeled, within, rows in seen[:2]:  # the warm-up: pools of 2 * SIZE, no division
        assert labeled is None
        assert torch.equal(within[0], subsets.mask(epoch, 2, 2 * SIZE))
        assert torch.equal(within[1], subsets.mask(epoch, 3, 2 * SIZE))
        assert int(within[0].sum()) > SIZE
        assert rows == 0  # nothing evaluated during the warm-up
    epoch, labeled, within, rows = seen[2]
    assert divide.divided and rows == int((subsets.mask(3, 0) | subsets.mask(3, 1)).sum())
    assert torch.equal(within[0], subsets.mask(3, 1)) and torch.equal(within[1], subsets.mask(3, 0))
    assert torch.equal(labeled[0], divide.labeled(1))


def test_state_dict_restores_the_subsets_and_the_samplers_division():
    divide, *_ = _divide()
    divide.divide(apply=True, epoch=5)
    state = divide.state_dict()
    restored, *_ = _divide(sampler=CoDivideBatchSampler(N, 8))
    restored.load_state_dict(state)
    assert torch.equal(restored.within, divide.within)
    assert torch.equal(restored.clean_prob, divide.clean_prob)
    assert torch.equal(restored.predictions, divide.predictions)
    for got, want in zip(restored.sampler.within, divide.sampler.within):
        assert torch.equal(got, want)
    for got, want in zip(restored.sampler.labeled, divide.sampler.labeled):
        assert torch.equal(got, want)
    assert list(restored.sampler) == list(divide.sampler)


def test_subsets_need_one_epoch_of_losses_and_the_training_sets_size():
    with pytest.raises(ValueError, match=r"loss_history = 2 averages .* expected 1"):
        _divide(loss_history=2)
    x, given = _data()
    with pytest.raises(ValueError, match=r"drawn over 200 samples: expected num_samples = 150"):
        CoDivide([CountingNet(0)], [], num_samples=150, num_classes=K,
                 subsets=BalancedSubsets(given, SIZE))


def test_a_stub_engine_in_the_warmup_sets_pools_only():
    sampler = CoDivideBatchSampler(N, 8)
    divide, _, subsets, *_ = _divide(sampler=sampler, warmup_epochs=1)
    divide(SimpleNamespace(state=SimpleNamespace(epoch=1)))
    assert sampler.labeled is None and divide.within is None and not divide.divided
    assert torch.equal(sampler.within[1], subsets.mask(1, 3, 2 * SIZE))
