"""Co-teaching+'s step against a plain loop written from Algorithm 1 of Yu et al. (2019): the
disagreement set, each network's small-loss part of it (the forget rate applied to its size),
the cross update; Co-teaching before ``init_epoch``; and the device-side selection helpers."""

import copy
import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from accelerate import Accelerator

from ignoise.steps import (
    CoTeachingPlusStep,
    CoTeachingStep,
    forget_rate_schedule,
    keep_count,
    keep_counts,
    masked_mean,
    small_loss_mask,
)

ACC = Accelerator(cpu=True)
LR = 0.5
TAU, T_K, INIT = 0.4, 5, 2


def _net(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(),
                               torch.nn.Linear(7, 4)).double()


def _peer(net: torch.nn.Module, scale: float = 0.1) -> torch.nn.Module:
    """A perturbed copy: it disagrees with ``net`` on some samples (6 of the 16), not all."""
    peer = copy.deepcopy(net)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in peer.parameters():
            p += scale * torch.randn(p.shape, generator=g, dtype=p.dtype)
    return peer


def _batch(size: int = 16) -> dict:
    g = torch.Generator().manual_seed(3)
    return {"x": torch.randn(size, 5, generator=g, dtype=torch.float64),
            "y": torch.randint(0, 4, (size,), generator=g), "index": torch.arange(size)}


def _sgd_step(net, samples, batch, denominator):
    """``net`` after one SGD step on its summed cross-entropy over ``samples`` / denominator."""
    new = copy.deepcopy(net)
    loss = sum(F.cross_entropy(new(batch["x"][i:i + 1]), batch["y"][i:i + 1])
               for i in samples) / denominator
    grads = torch.autograd.grad(loss, list(new.parameters()))
    with torch.no_grad():
        for p, grad in zip(new.parameters(), grads):
            p -= LR * grad
    return new


def _reference(f, g, batch, forget_rate, disagreement: bool, min_batch_fraction: float):
    """Algorithm 1, steps 4-8, one sample at a time (``disagreement`` False: Co-teaching)."""
    n = len(batch["y"])
    with torch.no_grad():
        out_f = [f(batch["x"][i:i + 1]) for i in range(n)]
        out_g = [g(batch["x"][i:i + 1]) for i in range(n)]
        loss_f = [float(F.cross_entropy(o, batch["y"][i:i + 1])) for i, o in enumerate(out_f)]
        loss_g = [float(F.cross_entropy(o, batch["y"][i:i + 1])) for i, o in enumerate(out_g)]
    # Step 4: the samples whose predicted labels differ. A batch with none is Co-teaching's.
    disagree = [i for i in range(n) if int(out_f[i].argmax()) != int(out_g[i].argmax())]
    by_disagreement = disagreement and bool(disagree)
    pool = disagree if by_disagreement else list(range(n))
    # Steps 5-6: the smallest D' with |D'| >= lambda(e) |pool| (at least one).
    keep = max(1, math.ceil((1 - forget_rate) * len(pool) - 1e-9))
    kept_f = sorted(pool, key=lambda i: loss_f[i])[:keep]
    kept_g = sorted(pool, key=lambda i: loss_g[i])[:keep]
    # Steps 7-8: f learns on g's picks, g on f's; the summed loss over max(|kept|, fraction B)
    # on the disagreement set, Co-teaching's mean otherwise.
    denominator = max(keep, min_batch_fraction * n, 1) if by_disagreement else keep
    return (set(disagree), set(kept_f), set(kept_g), _sgd_step(f, kept_g, batch, denominator),
            _sgd_step(g, kept_f, batch, denominator))


def _step(f, g, init_epoch=INIT, min_batch_fraction=1.0):
    return CoTeachingPlusStep(f, g, torch.optim.SGD(f.parameters(), LR),
                              torch.optim.SGD(g.parameters(), LR), ACC,
                              forget_rate=forget_rate_schedule(TAU, T_K), init_epoch=init_epoch,
                              min_batch_fraction=min_batch_fraction)


def _engine(epoch: int):
    return SimpleNamespace(state=SimpleNamespace(epoch=epoch))


def _members(mask: torch.Tensor) -> set:
    return {i for i, kept in enumerate(mask.tolist()) if kept}


def _assert_same_weights(net, ref):
    for p, q in zip(net.parameters(), ref.parameters()):  # the step's loss is float32
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("epoch, fraction", [(1, 1.0), (3, 1.0), (4, 1.0), (9, 1.0), (9, 0.0),
                                             (9, 0.4)])
def test_kept_samples_and_updates_equal_the_loop_reference(epoch, fraction):
    f = _net(0)
    g = _peer(f)
    batch = _batch()
    rate = min((epoch - 1) / T_K * TAU, TAU)
    disagreement = epoch - 1 >= INIT
    disagree, kept_f, kept_g, new_f, new_g = _reference(copy.deepcopy(f), copy.deepcopy(g), batch,
                                                        rate, disagreement, fraction)
    assert 0 < len(disagree) < 16  # the disagreement set is a proper part of the batch
    step = _step(f, g, min_batch_fraction=fraction)
    out = step(_engine(epoch), batch)

    assert _members(step.kept_a) == kept_f and _members(step.kept_b) == kept_g
    assert _members(step.disagree) == disagree
    assert float(out["disagreement"]) == pytest.approx(int(step.disagree.sum()) / 16)
    _assert_same_weights(f, new_f)
    _assert_same_weights(g, new_g)
    assert set(out) == {"loss", "loss_a", "loss_b", "disagreement", "index", "y"}


def test_before_init_epoch_it_is_co_teaching():
    f = _net(0)
    g = _peer(f)
    f2, g2 = copy.deepcopy(f), copy.deepcopy(g)
    batch = _batch()
    plus = _step(f, g, init_epoch=5)
    plain = CoTeachingStep(f2, g2, torch.optim.SGD(f2.parameters(), LR),
                           torch.optim.SGD(g2.parameters(), LR), ACC,
                           forget_rate=forget_rate_schedule(TAU, T_K))
    out_plus, out_plain = plus(_engine(4), batch), plain(_engine(4), batch)
    assert _members(plus.kept_a) == set(plain.kept_a.tolist())
    assert _members(plus.kept_b) == set(plain.kept_b.tolist())
    torch.testing.assert_close(out_plus["loss"], out_plain["loss"])
    _assert_same_weights(f, f2)
    _assert_same_weights(g, g2)


def test_an_empty_disagreement_set_falls_back_to_co_teaching():
    """Two identical networks agree everywhere: the batch is Co-teaching's, not skipped."""
    f = _net(0)
    g = copy.deepcopy(f)
    batch = _batch()
    rate = min(7 / T_K * TAU, TAU)
    disagree, kept_f, kept_g, new_f, new_g = _reference(copy.deepcopy(f), copy.deepcopy(g),
                                                        batch, rate, True, 1.0)
    assert not disagree and len(kept_f) == keep_count(16, rate)
    step = _step(f, g, init_epoch=0)
    out = step(_engine(8), batch)
    assert float(out["disagreement"]) == 0.0 and float(out["loss"]) > 0.0
    assert _members(step.kept_a) == kept_f and _members(step.kept_b) == kept_g
    _assert_same_weights(f, new_f)
    _assert_same_weights(g, new_g)


@pytest.mark.parametrize("rate", [0.0, 0.2, 0.4, 0.45, 0.5, 0.7, 0.8, 0.99])
def test_keep_counts_equal_keep_count_at_every_set_size(rate):
    table = keep_counts(64, rate).tolist()
    assert table == [0] + [keep_count(n, rate) for n in range(1, 65)]


def test_small_loss_mask_keeps_the_smallest_candidates():
    g = torch.Generator().manual_seed(0)
    for _ in range(50):
        size = int(torch.randint(1, 20, (1,), generator=g))
        losses = torch.rand(size, generator=g)
        candidates = torch.rand(size, generator=g) < 0.5
        rate = float(torch.rand(1, generator=g))
        pool = [i for i in range(size) if candidates[i]]
        keep = keep_count(len(pool), rate) if pool else 0
        expected = set(sorted(pool, key=lambda i: float(losses[i]))[:keep])
        assert _members(small_loss_mask(losses, candidates, keep_counts(size, rate))) == expected


def test_masked_mean_is_the_mean_over_the_set_or_zero():
    values = torch.tensor([1.0, 2.0, 4.0, float("inf")])
    assert float(masked_mean(values, torch.tensor([True, False, True, False]))) == 2.5
    assert float(masked_mean(values, torch.zeros(4, dtype=torch.bool))) == 0.0
    floored = masked_mean(values[:3], torch.tensor([True, True, True]), min_count=6)
    assert float(floored) == pytest.approx(7 / 6)
