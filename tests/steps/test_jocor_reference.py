"""JoCoR's joint loss and step against plain references written from Wei et al. (2020): the
per-sample joint loss ``(1 - lambda)(CE_a + CE_b) + lambda (KL(p_a||p_b) + KL(p_b||p_a))`` in
Python arithmetic and in the authors' ``kl_loss_compute`` form, its small-loss selection and the
one joint update of both networks; and the config's forget rate and lambda."""

import copy
import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from accelerate import Accelerator

from ignoise.losses import co_regularization, jocor_loss
from ignoise.methods import JoCoRConfig
from ignoise.steps import JoCoRStep, forget_rate_schedule, keep_count

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


def _softmax(row: list[float]) -> list[float]:
    top = max(row)
    exps = [math.exp(v - top) for v in row]
    return [e / sum(exps) for e in exps]


def _joint_loop(logits_a, logits_b, y, co_lambda) -> list[float]:
    """The joint loss of each sample, from the definitions, in Python floats."""
    out = []
    for za, zb, label in zip(logits_a.tolist(), logits_b.tolist(), y.tolist()):
        pa, pb = _softmax(za), _softmax(zb)
        ce = -math.log(pa[label]) - math.log(pb[label])
        kl_ab = sum(p * math.log(p / q) for p, q in zip(pa, pb))
        kl_ba = sum(q * math.log(q / p) for p, q in zip(pa, pb))
        out.append((1 - co_lambda) * ce + co_lambda * (kl_ab + kl_ba))
    return out


def _authors_joint(y_1, y_2, t, co_lambda):
    """``loss_jocor``'s per-sample loss as the authors wrote it (``algorithm/loss.py``)."""
    def kl_loss_compute(pred, soft_targets):
        kl = F.kl_div(F.log_softmax(pred, dim=1), F.softmax(soft_targets, dim=1),
                      reduction="none")
        return torch.sum(kl, 1)

    return (F.cross_entropy(y_1, t, reduction="none") * (1 - co_lambda)
            + F.cross_entropy(y_2, t, reduction="none") * (1 - co_lambda)
            + co_lambda * kl_loss_compute(y_1, y_2) + co_lambda * kl_loss_compute(y_2, y_1))


@pytest.mark.parametrize("co_lambda", [0.0, 0.65, 0.9, 1.0])
def test_joint_loss_equals_its_definition_and_the_authors_form(co_lambda):
    g = torch.Generator().manual_seed(0)
    za = (3 * torch.randn(9, 5, generator=g, dtype=torch.float64)).requires_grad_()
    zb = (3 * torch.randn(9, 5, generator=g, dtype=torch.float64)).requires_grad_()
    y = torch.randint(0, 5, (9,), generator=g)
    ours = jocor_loss(za, zb, y, co_lambda)
    assert ours.tolist() == pytest.approx(_joint_loop(za, zb, y, co_lambda), rel=1e-12)
    theirs = _authors_joint(za, zb, y, co_lambda)
    torch.testing.assert_close(ours, theirs)
    # Neither side of the KL is detached (kl_loss_compute passes its targets with their graph):
    # the gradients with respect to both networks' logits are the authors'.
    weights = torch.rand(9, generator=g, dtype=torch.float64)
    grads = torch.autograd.grad((weights * ours).sum(), (za, zb))
    expected = torch.autograd.grad((weights * theirs).sum(), (za, zb))
    for got, want in zip(grads, expected):
        torch.testing.assert_close(got, want)


def test_co_regularization_is_symmetric_and_zero_on_equal_predictions():
    g = torch.Generator().manual_seed(1)
    za, zb = torch.randn(6, 3, generator=g), torch.randn(6, 3, generator=g)
    torch.testing.assert_close(co_regularization(za, zb), co_regularization(zb, za))
    assert (co_regularization(za, za + 5.0).abs() < 1e-6).all()  # same softmax
    assert (co_regularization(za, zb) > 0).all()


def _reference(f, g, batch, forget_rate, co_lambda):
    """Algorithm 1 of JoCoR, one sample at a time: joint losses, the R(T) smallest kept, one
    SGD step of both networks on their mean."""
    n = len(batch["y"])
    keep = math.ceil((1 - forget_rate) * n - 1e-9)
    x, y = batch["x"], batch["y"]
    with torch.no_grad():
        losses = _joint_loop(f(x), g(x), y, co_lambda)
    kept = sorted(range(n), key=lambda i: losses[i])[:keep]
    new_f, new_g = copy.deepcopy(f), copy.deepcopy(g)
    loss = sum(_authors_joint(new_f(x[i:i + 1]), new_g(x[i:i + 1]), y[i:i + 1], co_lambda)[0]
               for i in kept) / len(kept)
    params = list(new_f.parameters()) + list(new_g.parameters())
    grads = torch.autograd.grad(loss, params)
    with torch.no_grad():
        for p, grad in zip(params, grads):
            p -= LR * grad
    return set(kept), new_f, new_g


@pytest.mark.parametrize("epoch", [1, 4, 20])
def test_kept_samples_and_joint_update_equal_the_loop_reference(epoch):
    tau, t_k, co_lambda = 0.5, 10, 0.85
    f, g, batch = _net(0), _net(1), _batch()
    rate = min((epoch - 1) / t_k * tau, tau)
    kept, new_f, new_g = _reference(copy.deepcopy(f), copy.deepcopy(g), batch, rate, co_lambda)

    step = JoCoRStep(f, g, torch.optim.SGD(f.parameters(), LR),
                     torch.optim.SGD(g.parameters(), LR), ACC,
                     forget_rate=forget_rate_schedule(tau, t_k), co_lambda=co_lambda)
    out = step(SimpleNamespace(state=SimpleNamespace(epoch=epoch)), batch)

    assert set(step.kept.tolist()) == kept and len(kept) == keep_count(12, rate)
    for net, ref in ((f, new_f), (g, new_g)):
        for p, q in zip(net.parameters(), ref.parameters()):  # the step's loss is float32
            torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7)
    assert set(out) == {"loss", "loss_a", "loss_b", "co_regularization", "index", "y"}


def test_forget_rate_and_lambda_follow_the_authors():
    assert JoCoRConfig(noise="sym", noise_rate=0.5).effective_forget_rate() == 0.5
    assert JoCoRConfig(noise="asym", noise_rate=0.4).effective_forget_rate() == 0.2
    assert JoCoRConfig(noise="pairflip", noise_rate=0.45).effective_forget_rate() == 0.45
    assert JoCoRConfig(noise="asym", noise_rate=0.4,
                       forget_rate=0.3).effective_forget_rate() == 0.3
    assert JoCoRConfig(noise="sym", noise_rate=0.5).effective_co_lambda() == 0.9
    assert JoCoRConfig(noise="sym", noise_rate=0.8).effective_co_lambda() == 0.65
    assert JoCoRConfig(noise="asym", noise_rate=0.4).effective_co_lambda() == 0.9
    assert JoCoRConfig(noise="sym", noise_rate=0.8, co_lambda=0.85).effective_co_lambda() == 0.85
