"""Co-teaching's step against a plain loop written from Algorithm 1 of Han et al. (2018): per-sample
losses, sort, keep the R(T) smallest, update the peer on them; and the R(T) schedule."""

import copy
import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from accelerate import Accelerator

from ignoise.config import ConfigError
from ignoise.methods import CoTeachingConfig
from ignoise.steps import CoTeachingStep, forget_rate_schedule, keep_count

ACC = Accelerator(cpu=True)
LR = 0.5


def _net(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(),
                               torch.nn.Linear(7, 4)).double()


def _batch(size: int = 12) -> dict:
    g = torch.Generator().manual_seed(3)
    return {"x": torch.randn(size, 5, generator=g, dtype=torch.float64),
            "y": torch.randint(0, 4, (size,), generator=g), "index": torch.arange(size)}


def _paper_rate(tau: float, t_k: int, t: int) -> float:
    """1 - R(T) of Algorithm 1, step 8."""
    return min(t / t_k * tau, tau)


def _reference(f, g, batch, forget_rate):
    """Algorithm 1, steps 4-7, one sample at a time."""
    n = len(batch["y"])
    keep = math.ceil((1 - forget_rate) * n - 1e-9)  # the smallest D' with |D'| >= R(T) |D|

    def loss_of(net, i):
        return F.cross_entropy(net(batch["x"][i:i + 1]), batch["y"][i:i + 1])

    with torch.no_grad():
        losses_f = [float(loss_of(f, i)) for i in range(n)]
        losses_g = [float(loss_of(g, i)) for i in range(n)]
    kept_f = sorted(range(n), key=lambda i: losses_f[i])[:keep]
    kept_g = sorted(range(n), key=lambda i: losses_g[i])[:keep]
    updated = []
    for net, peer_kept in ((f, kept_g), (g, kept_f)):  # f learns on g's picks, g on f's
        new = copy.deepcopy(net)
        loss = sum(loss_of(new, i) for i in peer_kept) / len(peer_kept)
        grads = torch.autograd.grad(loss, list(new.parameters()))
        with torch.no_grad():
            for p, grad in zip(new.parameters(), grads):
                p -= LR * grad
        updated.append(new)
    return set(kept_f), set(kept_g), updated


@pytest.mark.parametrize("epoch", [1, 3, 11, 30])
def test_kept_samples_and_updates_equal_the_loop_reference(epoch):
    tau, t_k = 0.4, 10
    f, g, batch = _net(0), _net(1), _batch()
    rate = _paper_rate(tau, t_k, epoch - 1)  # R(T) updated after each completed epoch
    kept_f, kept_g, (new_f, new_g) = _reference(copy.deepcopy(f), copy.deepcopy(g), batch,
                                                 rate)

    step = CoTeachingStep(f, g, torch.optim.SGD(f.parameters(), LR),
                          torch.optim.SGD(g.parameters(), LR), ACC,
                          forget_rate=forget_rate_schedule(tau, t_k))
    out = step(SimpleNamespace(state=SimpleNamespace(epoch=epoch)), batch)

    assert set(step.kept_a.tolist()) == kept_f and set(step.kept_b.tolist()) == kept_g
    assert len(kept_f) == keep_count(12, rate)
    for net, ref in ((f, new_f), (g, new_g)):
        for p, q in zip(net.parameters(), ref.parameters()):  # the step's loss is float32
            torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7)
    assert set(out) == {"loss", "loss_a", "loss_b", "logits", "index", "y"}


def test_the_first_epoch_keeps_every_sample_and_later_ones_drop_tau():
    f, g = _net(0), _net(1)
    step = CoTeachingStep(f, g, torch.optim.SGD(f.parameters(), LR),
                          torch.optim.SGD(g.parameters(), LR), ACC,
                          forget_rate=forget_rate_schedule(0.5, 10))
    step(SimpleNamespace(state=SimpleNamespace(epoch=1)), _batch(10))
    assert sorted(step.kept_a.tolist()) == list(range(10))
    step(SimpleNamespace(state=SimpleNamespace(epoch=12)), _batch(10))
    assert len(step.kept_a) == len(step.kept_b) == 5


@pytest.mark.parametrize("tau", [0.2, 0.45, 0.8])
def test_schedule_equals_the_paper_formula(tau):
    rate = forget_rate_schedule(tau, num_gradual=10)
    for t in (0, 1, 2, 5, 9, 10, 11, 50, 199):
        assert rate(t) == pytest.approx(_paper_rate(tau, 10, t), abs=1e-12)
    # c of the Co-teaching+ code: the ramp ends at tau ** c, then the rate is tau
    curved = forget_rate_schedule(tau, num_gradual=5, exponent=2.0)
    assert [curved(t) for t in (0, 4, 5)] == pytest.approx([0.0, 0.8 * tau ** 2, tau])
    assert forget_rate_schedule(tau, num_gradual=0)(0) == tau


def test_keep_count_is_at_least_r_of_the_batch():
    assert [keep_count(64, r) for r in (0.0, 0.4, 0.5, 0.2)] == [64, 39, 32, 52]
    assert keep_count(10, 0.2) == 8 and keep_count(3, 0.99) == 1


def test_forget_rate_defaults_to_the_noise_rate_and_is_required_on_real_noise():
    assert CoTeachingConfig(noise="sym", noise_rate=0.4).effective_forget_rate() == 0.4
    assert CoTeachingConfig(noise="pairflip", noise_rate=0.4,
                            forget_rate=0.3).effective_forget_rate() == 0.3
    assert CoTeachingConfig(dataset="animal10n",
                            forget_rate=0.08).effective_forget_rate() == 0.08
    with pytest.raises(ConfigError) as err:
        CoTeachingConfig(dataset="clothing1m")
    assert str(err.value).startswith("CoTeachingConfig: forget_rate = null on clothing1m, whose "
                                     "noise rate is not known: set forget_rate to an estimate")
