"""GAL's agreement step (eq. 4-5) against independent loop references: which units the step
really updates, and the agreement ratios it reports.

The references are written from the paper, not from the library: the coefficient of a unit is
the cosine of the two networks' gradient vectors for that unit (eq. 4), and a unit is updated
iff that cosine is at least ``tau`` (eq. 5). The thresholds include values 1e-4 above and below
the coefficients themselves, so a shifted or strict threshold is caught, and the mask is read
from what the step did to the parameters, not from ``step.coefficients``.
"""

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from accelerate import Accelerator

from ignoise.steps import AgreementStep

ACCELERATOR = Accelerator(cpu=True)
LR = 0.5


def tiny_net() -> torch.nn.Module:
    # Tensors of very different sizes (48, 6, 12, 2 elements), so that element-weighted and
    # unweighted, pooled and per-tensor ratios differ.
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(8, 6), torch.nn.ReLU(), torch.nn.Linear(6, 2))


def batches() -> dict:
    g = torch.Generator().manual_seed(3)
    half = lambda: {"x": torch.randn(5, 8, generator=g),
                    "y": torch.randint(0, 2, (5,), generator=g), "index": torch.arange(5)}
    return {"a": half(), "b": half()}


def reference_gradients(net, half) -> list[torch.Tensor]:
    """A manual backward on a copy of the network."""
    net = copy.deepcopy(net)
    loss = F.cross_entropy(net(half["x"]), half["y"])
    return [g.detach() for g in torch.autograd.grad(loss, list(net.parameters()))]


def cosine(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.double().flatten().tolist(), b.double().flatten().tolist()
    dot = sum(x * y for x, y in zip(a, b))
    na, nb = math.sqrt(sum(x * x for x in a)), math.sqrt(sum(y * y for y in b))
    if na == 0 or nb == 0:
        return 1.0 if na == nb else 0.0  # two zero gradients are equal; one alone is not
    return dot / (na * nb)


def reference_units(grads_a, grads_b, granularity):
    """Per parameter tensor: a list of (coefficient, element slice selector) per unit."""
    per_tensor = []
    for ga, gb in zip(grads_a, grads_b):
        if granularity == "tensor":
            per_tensor.append([(cosine(ga, gb), (...,))])
        else:  # channel: one unit per slice along dim 0 (a bias entry is a channel)
            per_tensor.append([(cosine(ga[i], gb[i]), (i,)) for i in range(ga.shape[0])])
    return per_tensor


def reference_mask(per_tensor, shapes, tau) -> list[torch.Tensor]:
    """Eq. 5: a boolean mask per parameter, True where the unit's cosine >= tau."""
    masks = []
    for units, shape in zip(per_tensor, shapes):
        mask = torch.zeros(shape, dtype=torch.bool)
        for c, where in units:
            mask[where] = c >= tau
        masks.append(mask)
    return masks


def thresholds(per_tensor) -> list[float]:
    """Fixed values, and 1e-4 either side of every coefficient, kept only where no coefficient
    lies within 1e-5 of the threshold (float32 vs float64 rounding can't decide them)."""
    coefficients = sorted({c for units in per_tensor for c, _ in units})
    candidates = [-0.5, 0.0, 0.4, 0.9]
    for c in coefficients:
        candidates += [c - 1e-4, c + 1e-4]
    return [t for t in candidates if all(abs(c - t) > 1e-5 for c in coefficients)]


@pytest.fixture(scope="module")
def case():
    net = tiny_net()
    data = batches()
    grads_a = reference_gradients(net, data["a"])
    grads_b = reference_gradients(net, data["b"])
    return net, data, grads_a, grads_b


def run_step(net, data, tau, granularity):
    a, b = copy.deepcopy(net), copy.deepcopy(net)
    opt_a, opt_b = (torch.optim.SGD(m.parameters(), lr=LR) for m in (a, b))
    step = AgreementStep(a, b, opt_a, opt_b, ACCELERATOR, agreement_threshold=tau,
                         granularity=granularity, update="agreement", masked_update="freeze")
    out = step(None, data)
    return step, out, a, b


@pytest.mark.parametrize("granularity", ["tensor", "channel"])
def test_step_updates_exactly_the_units_whose_cosine_reaches_tau(case, granularity):
    """For each tau (incl. coefficient +- 1e-4): units the reference passes take exactly the
    plain SGD step of their own network; the others are bitwise unchanged; ``step.updated``
    is the same mask."""
    net, data, grads_a, grads_b = case
    start = [p.detach().clone() for p in net.parameters()]
    shapes = [p.shape for p in start]
    per_tensor = reference_units(grads_a, grads_b, granularity)
    coefficients = [c for units in per_tensor for c, _ in units]
    assert min(coefficients) < 0.4 < max(coefficients), "data must split at the paper's tau"
    taus = thresholds(per_tensor)
    edge = [t for t in taus if any(abs(abs(c - t) - 1e-4) < 1e-9 for c in coefficients
                                   if c < 0.999)]
    assert len(edge) >= 4, "need thresholds right beside interior coefficients"
    seen_partial = False
    for tau in taus:
        step, out, a, b = run_step(net, data, tau, granularity)
        masks = reference_mask(per_tensor, shapes, tau)
        n_passed = sum(int(m.sum()) for m in masks)
        seen_partial |= 0 < n_passed < sum(m.numel() for m in masks)
        for model, grads in ((a, grads_a), (b, grads_b)):
            for p, old, g, mask in zip(model.parameters(), start, grads, masks):
                p = p.detach()
                assert torch.equal(p[~mask], old[~mask]), f"tau={tau}: a frozen unit moved"
                sgd = old - LR * g
                torch.testing.assert_close(p[mask], sgd[mask], atol=1e-6, rtol=0,
                                           msg=f"tau={tau}: an agreeing unit not SGD-stepped")
                if mask.any():  # the update is visible, so "unchanged" means "frozen"
                    assert not torch.equal(p[mask], old[mask])
        applied = [m.expand(s).bool() for m, s in zip(step.units.split(step.updated), shapes)]
        for got, want in zip(applied, masks):
            assert torch.equal(got, want), f"tau={tau}: step.updated differs from eq. 5"
        assert float(out["updated_ratio"]) == pytest.approx(
            n_passed / sum(m.numel() for m in masks), abs=1e-6)
    assert seen_partial


def reference_ratios(per_tensor, shapes, tau):
    masks = reference_mask(per_tensor, shapes, tau)
    total = sum(m.numel() for m in masks)
    element = sum(int(m.sum()) for m in masks) / total
    tensors = sum(int(m.sum()) / m.numel() for m in masks) / len(masks)
    # what the planted bugs would report: unweighted mean over units; pooled over tensors
    flags = [c >= tau for units in per_tensor for c, _ in units]
    unweighted = sum(flags) / len(flags)
    pooled = element
    return element, tensors, unweighted, pooled


@pytest.mark.parametrize("granularity", ["tensor", "channel"])
def test_reported_agreement_ratios_equal_the_hand_computation(case, granularity):
    """``agreement_ratio``: agreeing elements / all elements (weighted by unit size);
    ``agreement_ratio_tensors``: mean over tensors of each tensor's agreeing fraction."""
    net, data, grads_a, grads_b = case
    shapes = [p.shape for p in net.parameters()]
    per_tensor = reference_units(grads_a, grads_b, granularity)
    discriminating = 0
    for tau in thresholds(per_tensor):
        element, tensors, unweighted, pooled = reference_ratios(per_tensor, shapes, tau)
        _, out, _, _ = run_step(net, data, tau, granularity)
        assert float(out["agreement_ratio"]) == pytest.approx(element, abs=1e-6), tau
        assert float(out["agreement_ratio_tensors"]) == pytest.approx(tensors, abs=1e-6), tau
        assert float(out["updated_ratio"]) == pytest.approx(element, abs=1e-6), tau
        if abs(element - unweighted) > 1e-3 and abs(tensors - pooled) > 1e-3:
            discriminating += 1
    assert discriminating >= 2, "pick data where the weighted/pooled variants differ"
