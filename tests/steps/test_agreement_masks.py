"""Agreement coefficients and masked updates against plain per-parameter reference loops."""

import copy
import math

import pytest
import torch
from accelerate import Accelerator

from ignoise.steps import (
    AGREEMENT_GRANULARITIES,
    AGREEMENT_READINGS,
    AgreementStep,
    AgreementUnits,
    agreement_coefficients,
)

ACCELERATOR = Accelerator(cpu=True)


def reference_coefficients(vectors_a, vectors_b, granularity) -> list[float]:
    """Eq. 4 written out: one Python loop over parameters (and channels, and elements)."""

    def cosine(a, b):
        a, b = a.double().flatten(), b.double().flatten()
        norm_a, norm_b = math.sqrt(float((a * a).sum())), math.sqrt(float((b * b).sum()))
        if norm_a == 0 or norm_b == 0:
            return 1.0 if norm_a == norm_b else 0.0  # equal zero vectors agree
        return float((a * b).sum()) / (norm_a * norm_b)

    out = []
    for a, b in zip(vectors_a, vectors_b):
        if granularity == "tensor":
            out.append(cosine(a, b))
        elif granularity == "channel":
            rows_a, rows_b = (a, b) if a.dim() else (a.view(1), b.view(1))
            out.extend(cosine(ra, rb) for ra, rb in zip(rows_a, rows_b))
        else:
            out.extend(cosine(x.view(1), y.view(1)) for x, y in zip(a.flatten(), b.flatten()))
    return out


def small_net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
        torch.nn.Flatten(), torch.nn.Linear(4 * 5 * 5, 6), torch.nn.ReLU(), torch.nn.Linear(6, 3),
    )


def pair_batch(seed: int) -> dict:
    g = torch.Generator().manual_seed(seed)
    half = lambda: {"x": torch.randn(12, 1, 5, 5, generator=g),
                    "y": torch.randint(0, 3, (12,), generator=g), "index": torch.arange(12)}
    return {"a": half(), "b": half()}


def make_pair(**step_options):
    a = small_net()
    b = copy.deepcopy(a)
    with torch.no_grad():  # let the pair drift apart a little, as after some main-phase steps
        for p in b.parameters():
            p.add_(0.05 * torch.randn_like(p))
    opt = lambda m: torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    opt_a, opt_b = opt(a), opt(b)
    return AgreementStep(a, b, opt_a, opt_b, ACCELERATOR, **step_options), a, b, opt_a, opt_b


@pytest.mark.parametrize("granularity", AGREEMENT_GRANULARITIES)
def test_coefficients_equal_the_reference_on_random_vectors(granularity):
    g = torch.Generator().manual_seed(1)
    shapes = [(4, 3, 3, 3), (4,), (6, 7), (), (5,)]
    va = [torch.randn(s, generator=g) for s in shapes]
    vb = [torch.randn(s, generator=g) for s in shapes]
    va[1] = torch.zeros(4)  # a zero vector against a non-zero one: 0, not NaN
    va[2][:2], vb[2][:2] = 0.0, 0.0  # two zero rows: they agree
    vb[4] = va[4] * 3.0  # parallel: 1
    units = AgreementUnits(shapes, granularity)
    got = agreement_coefficients(va, vb, units)
    expected = torch.tensor(reference_coefficients(va, vb, granularity), dtype=torch.float32)
    assert got.shape == (units.num_units,)
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=1e-5)
    per_tensor = units.split(got)
    assert [tuple(m.shape) for m in per_tensor] == [tuple(s) for s in units.mask_shapes]
    for m, s in zip(per_tensor, shapes):
        assert torch.broadcast_shapes(m.shape, s) == torch.Size(s)


@pytest.mark.parametrize("reading", AGREEMENT_READINGS)
@pytest.mark.parametrize("granularity", AGREEMENT_GRANULARITIES)
def test_step_masks_equal_the_reference_for_every_reading(reading, granularity):
    step, a, b, opt_a, opt_b = make_pair(reading=reading, granularity=granularity, update="all")
    step(None, pair_batch(0))  # momentum buffers now exist
    before_a = [p.detach().clone() for p in a.parameters()]
    before_b = [p.detach().clone() for p in b.parameters()]
    step(None, pair_batch(1))
    grads_a = [p.grad.clone() for p in a.parameters()]
    grads_b = [p.grad.clone() for p in b.parameters()]
    if reading == "gradient":
        va, vb = grads_a, grads_b
    elif reading == "literal":  # eq. 2 as written: P + lr * grad, with P before the step
        va = [p + 0.1 * g for p, g in zip(before_a, grads_a)]
        vb = [p + 0.1 * g for p, g in zip(before_b, grads_b)]
    else:  # what the optimizer actually did
        va = [p.detach() - q for p, q in zip(a.parameters(), before_a)]
        vb = [p.detach() - q for p, q in zip(b.parameters(), before_b)]
    expected = torch.tensor(reference_coefficients(va, vb, granularity), dtype=torch.float64)
    torch.testing.assert_close(step.coefficients.double(), expected, atol=2e-5, rtol=1e-4)
    near_tau = (expected - 0.4).abs() < 1e-4
    assert torch.equal((step.coefficients >= 0.4)[~near_tau], (expected >= 0.4)[~near_tau])


@pytest.mark.parametrize("granularity", AGREEMENT_GRANULARITIES)
def test_masked_units_do_not_move_and_the_others_take_the_optimizer_step(granularity):
    step, a, b, opt_a, opt_b = make_pair(granularity=granularity)
    plain, a2, b2, opt_a2, opt_b2 = make_pair(granularity=granularity, update="all")
    for s in (step, plain):
        s(None, pair_batch(0))
    # Make the two runs identical again, then take one step with and one without masking.
    a2.load_state_dict(a.state_dict())
    b2.load_state_dict(b.state_dict())
    opt_a2.load_state_dict(copy.deepcopy(opt_a.state_dict()))
    opt_b2.load_state_dict(copy.deepcopy(opt_b.state_dict()))
    before = {name: [t.detach().clone() for t in tensors(m, o)]
              for name, m, o in (("a", a, opt_a), ("b", b, opt_b))}
    out = step(None, pair_batch(1))
    plain(None, pair_batch(1))
    updated = step.units.split(step.updated.float())
    assert 0 < float(out["updated_ratio"]) < 1, "pick data where some units agree and some not"
    for name, m, o, m2, o2 in (("a", a, opt_a, a2, opt_a2), ("b", b, opt_b, b2, opt_b2)):
        now, full = tensors(m, o), tensors(m2, o2)
        n = len(updated)
        masks = updated + updated  # parameters, then their momentum buffers
        assert len(now) == 2 * n
        for t, f, old, mask in zip(now, full, before[name], masks):
            mask = mask.expand_as(t).bool()
            assert torch.equal(t[~mask], old[~mask])  # no update, no momentum drift
            assert torch.equal(t[mask], f[mask])  # exactly the optimizer's update


def tensors(model, optimizer) -> list[torch.Tensor]:
    params = list(model.parameters())
    return params + [optimizer.state[p]["momentum_buffer"] for p in params]


def test_zero_grad_variant_lets_momentum_move_masked_units():
    step, a, b, opt_a, _ = make_pair(masked_update="zero_grad")
    step(None, pair_batch(0))
    before = [t.detach().clone() for t in tensors(a, opt_a)]
    step(None, pair_batch(1))
    params = list(a.parameters())
    frozen = [~m.expand_as(p).bool() for m, p in zip(step.units.split(step.updated), params)]
    assert any(f.any() for f in frozen)
    for p, old, buf, f in zip(params, before, before[len(params):], frozen):
        assert torch.equal(p.grad[f], torch.zeros_like(p.grad[f]))
        # SGD's drift with a zero gradient: momentum and weight decay
        drift = 0.1 * (0.9 * buf[f] + 5e-4 * old[f])
        torch.testing.assert_close(p.detach()[f], old[f] - drift)


def test_identical_batches_agree_everywhere_and_thresholds_bound_the_ratio():
    step, *_ = make_pair(update="agreement", agreement_threshold=1.0 + 1e-6)
    out = step(None, pair_batch(2))
    assert float(out["updated_ratio"]) == 0.0
    twin = small_net()
    same = AgreementStep(twin, copy.deepcopy(twin), torch.optim.SGD(twin.parameters(), 0.1),
                         torch.optim.SGD(small_net().parameters(), 0.1), ACCELERATOR)
    batch = pair_batch(3)
    out = same(None, {"a": batch["a"], "b": batch["a"]})
    assert float(out["agreement_ratio"]) == float(out["agreement_ratio_tensors"]) == 1.0


def test_random_update_shares_one_mask_and_is_reproducible():
    runs = []
    for _ in range(2):
        step, *_ = make_pair(update="random", random_keep=0.5, seed=3)
        step(None, pair_batch(0))
        runs.append(step.updated.clone())
    assert torch.equal(runs[0], runs[1])
    assert 0 < float(runs[0].float().mean()) < 1


def test_bad_options_are_named():
    with pytest.raises(ValueError, match="unknown reading 'cosine'"):
        make_pair(reading="cosine")
    with pytest.raises(ValueError, match="zero_grad.*reading='update'"):
        make_pair(masked_update="zero_grad", reading="update")
    with pytest.raises(ValueError, match="unknown agreement granularity 'layer'"):
        make_pair(granularity="layer")
