"""Decoupling's step against a plain loop written from Algorithm 1 of Malach & Shalev-Shwartz
(2017), update by disagreement: each network takes a step on the samples where the two
predictions differ, the summed loss divided by max(|set|, min_batch_fraction x batch) as the
authors' ``train.py``; every sample during ``init_epochs``; nothing when they agree."""

import copy
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from accelerate import Accelerator

from ignoise.steps import DecouplingStep

ACC = Accelerator(cpu=True)
LR = 0.5
N = 16


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


def _batch() -> dict:
    g = torch.Generator().manual_seed(3)
    return {"x": torch.randn(N, 5, generator=g, dtype=torch.float64),
            "y": torch.randint(0, 4, (N,), generator=g), "index": torch.arange(N)}


def _reference(f, g, batch, min_batch_fraction, everything: bool):
    """Algorithm 1, one sample at a time: the set where h_1(x) != h_2(x), then one SGD step of
    each network on its summed loss over that set / max(|set|, fraction x batch, 1)."""
    x, y = batch["x"], batch["y"]
    with torch.no_grad():
        disagree = [i for i in range(N)
                    if int(f(x[i:i + 1]).argmax()) != int(g(x[i:i + 1]).argmax())]
    update = list(range(N)) if everything else disagree
    updated = []
    for net in (f, g):
        new = copy.deepcopy(net)
        if update:
            loss = sum(F.cross_entropy(new(x[i:i + 1]), y[i:i + 1]) for i in update)
            loss = loss / max(len(update), min_batch_fraction * N, 1)
            grads = torch.autograd.grad(loss, list(new.parameters()))
            with torch.no_grad():
                for p, grad in zip(new.parameters(), grads):
                    p -= LR * grad
        updated.append(new)
    return set(disagree), set(update), updated


@pytest.mark.parametrize("epoch, init_epochs, fraction", [
    (1, 0, 0.1),   # the disagreement set from the start (the paper)
    (3, 0, 0.0),   # the plain mean over the set
    (3, 0, 0.5),   # the floor: 6 disagreements < 0.5 x 16
    (1, 1, 0.1),   # the init phase: every sample
    (2, 1, 0.1),   # after it
])
def test_updates_equal_the_loop_reference(epoch, init_epochs, fraction):
    f = _net(0)
    g = _peer(f)
    batch = _batch()
    disagree, update, (new_f, new_g) = _reference(copy.deepcopy(f), copy.deepcopy(g), batch,
                                                  fraction, everything=epoch <= init_epochs)
    assert 0 < len(disagree) < N
    step = DecouplingStep(f, g, torch.optim.SGD(f.parameters(), LR),
                          torch.optim.SGD(g.parameters(), LR), ACC, init_epochs=init_epochs,
                          min_batch_fraction=fraction)
    out = step(SimpleNamespace(state=SimpleNamespace(epoch=epoch)), batch)

    assert {i for i, u in enumerate(step.update.tolist()) if u} == update
    assert float(out["disagreement"]) == pytest.approx(len(disagree) / N)
    for net, ref in ((f, new_f), (g, new_g)):
        for p, q in zip(net.parameters(), ref.parameters()):  # the step's loss is float32
            torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7)
    assert set(out) == {"loss", "loss_a", "loss_b", "disagreement", "index", "y"}


def test_networks_that_agree_everywhere_are_not_updated():
    f = _net(0)
    g = copy.deepcopy(f)
    before = copy.deepcopy(f)
    step = DecouplingStep(f, g, torch.optim.SGD(f.parameters(), LR),
                          torch.optim.SGD(g.parameters(), LR), ACC)
    out = step(SimpleNamespace(state=SimpleNamespace(epoch=5)), _batch())
    assert float(out["loss"]) == 0.0 and float(out["disagreement"]) == 0.0
    for net in (f, g):
        for p, q in zip(net.parameters(), before.parameters()):
            torch.testing.assert_close(p, q)


def test_bad_arguments_are_refused():
    f, g = _net(0), _net(1)
    opts = (torch.optim.SGD(f.parameters(), LR), torch.optim.SGD(g.parameters(), LR))
    with pytest.raises(ValueError, match=r"^min_batch_fraction = 1.5: expected a float in"):
        DecouplingStep(f, g, *opts, ACC, min_batch_fraction=1.5)
    with pytest.raises(ValueError, match=r"^init_epochs = -1: expected an int >= 0"):
        DecouplingStep(f, g, *opts, ACC, init_epochs=-1)
