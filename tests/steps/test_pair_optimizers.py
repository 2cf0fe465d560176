"""Under the fp16 loss scaler a pair of networks updates together: an overflow in either
network's gradients skips both optimizers (GAL eq. 5), and the scale is lowered once."""

from types import SimpleNamespace

import pytest
import torch

from ignoise.steps.pair_optimizers import step_together


def _pair(scaler):
    nets = [torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)]
    opts = [torch.optim.SGD(n.parameters(), lr=0.5) for n in nets]
    loss = sum(scaler.scale(n(torch.ones(4, 3)).sum()) for n in nets)
    loss.backward()
    return nets, opts


def _weights(nets):
    return [torch.cat([p.detach().flatten().clone() for p in n.parameters()]) for n in nets]


@pytest.mark.parametrize("overflowing", [0, 1])
def test_an_overflow_in_one_network_skips_both(overflowing):
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    nets, opts = _pair(scaler)
    nets[overflowing].weight.grad[0, 0] = float("inf")
    before = _weights(nets)
    step_together(SimpleNamespace(scaler=scaler), opts)
    after = _weights(nets)
    assert all(torch.equal(a, b) for a, b in zip(before, after))
    assert scaler.get_scale() == 512.0  # backoff 0.5, once


def test_finite_gradients_step_both_with_the_unscaled_gradient():
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    nets, opts = _pair(scaler)
    before = _weights(nets)
    step_together(SimpleNamespace(scaler=scaler), opts)
    after = _weights(nets)
    # d(sum of outputs)/d(weight) = 4 per entry (4 rows of ones), /d(bias) = 4; lr 0.5.
    for a, b in zip(before, after):
        assert torch.allclose(a - b, torch.full_like(a, 2.0))
    assert scaler.get_scale() == 1024.0


def test_without_a_scaler_each_optimizer_steps():
    nets = [torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)]
    opts = [torch.optim.SGD(n.parameters(), lr=0.5) for n in nets]
    sum(n(torch.ones(4, 3)).sum() for n in nets).backward()
    before = _weights(nets)
    step_together(SimpleNamespace(scaler=None), opts)
    assert all(torch.allclose(b - a, torch.full_like(a, 2.0))
               for a, b in zip(_weights(nets), before))
