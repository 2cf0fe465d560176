"""Steps against plain references on fixed batches: what the mutation run showed no test pinned.

- GAL eq. 5 at its edges: with element units the coefficient is exactly 1 (or 0), so ``>= tau``
  and ``> tau`` part ways at tau = 1 and tau = 0, in both masking modes;
- the random masks of "A+B random updating" (GAL Table 4) and of :class:`RandomUpdateStep`,
  drawn from a generator seeded by ``(seed, iteration)``, recomputed here by hand;
- the supervised step's extra loss and target provider, against a hand-written SGD step;
- DivideMix's warm-up (cross-entropy on both halves, plus the confidence penalty) and its main
  phase with GSS-switched targets, against a loop-style reference of DivideMix's ``train()``.
"""

import copy
import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from accelerate import Accelerator

from ignoise.steps import (
    AgreementStep,
    DistillationStep,
    DivideMixStep,
    FrozenPairStep,
    PairAndDistillationStep,
    PhasedStep,
    RandomUpdateStep,
    SupervisedStep,
    WarmupAsPairStep,
)

ACC = Accelerator(cpu=True)


def _engine(iteration=1, epoch=1, epoch_length=10):
    return SimpleNamespace(state=SimpleNamespace(iteration=iteration, epoch=epoch,
                                                 epoch_length=epoch_length))


def _half(seed, n=6, d=3, k=2):
    g = torch.Generator().manual_seed(seed)
    return {"x": torch.randn(n, d, generator=g), "y": torch.randint(0, k, (n,), generator=g),
            "index": torch.arange(n)}


def _twins(seed=0, d=3, k=2):
    torch.manual_seed(seed)
    a = torch.nn.Linear(d, k)
    b = copy.deepcopy(a)
    return a, b


def _agreement(tau, masked_update="freeze", **kwargs):
    a, b = _twins()
    step = AgreementStep(a, b, torch.optim.SGD(a.parameters(), 0.5),
                         torch.optim.SGD(b.parameters(), 0.5), ACC, agreement_threshold=tau,
                         granularity="element", masked_update=masked_update, **kwargs)
    return step, a, b


@pytest.mark.parametrize("masked_update", ["freeze", "zero_grad"])
def test_eq5_keeps_units_whose_coefficient_equals_tau(masked_update):
    # Same weights, same batch: every element's gradients agree in sign, coefficient exactly 1.
    step, a, b = _agreement(1.0, masked_update)
    before = a.weight.detach().clone()
    half = _half(1)
    out = step(None, {"a": half, "b": half})
    assert bool(step.updated.all()) and float(out["updated_ratio"]) == 1.0
    assert float(out["agreement_ratio"]) == 1.0 and float(out["agreement_ratio_tensors"]) == 1.0
    assert not torch.equal(a.weight, before) and torch.equal(a.weight, b.weight)


@pytest.mark.parametrize("masked_update", ["freeze", "zero_grad"])
def test_eq5_at_tau_zero_keeps_a_unit_only_one_network_moves(masked_update):
    # B sees all-zero inputs, so its weight gradient is exactly zero while A's is not: each
    # weight element's coefficient is 0, which tau = 0 keeps (>=) and "> tau" would not.
    step, a, b = _agreement(0.0, masked_update)
    with torch.no_grad():
        b.weight.zero_()
    half_a = _half(2)
    half_b = {**half_a, "x": torch.zeros_like(half_a["x"])}
    step(None, {"a": half_a, "b": half_b})
    weight_units = step.updated[: a.weight.numel()]
    assert bool(weight_units.all())


def test_update_all_updates_every_unit_even_where_the_pair_disagrees():
    step, a, b = _agreement(0.4, update="all")
    half_a, half_b = _half(3), _half(4)
    half_b["y"] = 1 - half_a["y"]
    half_b["x"] = half_a["x"]
    before_a, before_b = a.weight.detach().clone(), b.weight.detach().clone()
    out = step(None, {"a": half_a, "b": half_b})
    assert bool(step.updated.all()) and float(out["updated_ratio"]) == 1.0
    assert float(out["agreement_ratio"]) < 1.0  # measured all the same
    # Both networks took their plain step on every element.
    assert bool((a.weight != before_a).all()) and bool((b.weight != before_b).all())


def _reference_random_keep(seed, iteration, num_units, keep):
    g = torch.Generator()
    g.manual_seed(seed * 1_000_003 + iteration)
    return torch.rand(num_units, generator=g) < keep


@pytest.mark.parametrize("masked_update", ["freeze", "zero_grad"])
def test_random_updating_draws_the_mask_from_seed_and_iteration(masked_update):
    step, a, b = _agreement(0.4, masked_update, update="random", random_keep=0.5, seed=3)
    half = _half(5)
    units = step.units.num_units
    for iteration in range(4):  # no engine: the step counts its own calls
        step(None, {"a": half, "b": half})
        assert torch.equal(step.updated, _reference_random_keep(3, iteration, units, 0.5))
    assert step._calls == 4
    step(_engine(iteration=11), {"a": half, "b": half})
    assert torch.equal(step.updated, _reference_random_keep(3, 11, units, 0.5))


def _random_update(keep, seed=5, granularity="element", momentum=0.0):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=momentum)
    return RandomUpdateStep(model, opt, ACC, keep=keep, granularity=granularity,
                            seed=seed), model


def _sgd_delta(model, half):
    """The plain SGD step (lr 0.5) as a flat vector."""
    ref = copy.deepcopy(model)
    loss = F.cross_entropy(ref(half["x"]), half["y"])
    grads = torch.autograd.grad(loss, list(ref.parameters()))
    return torch.cat([(-0.5 * g).reshape(-1) for g in grads])


def test_random_update_step_keeps_the_drawn_units_and_freezes_the_others():
    step, model = _random_update(0.5)
    half = _half(6)
    flat = lambda m: torch.cat([p.detach().reshape(-1) for p in m.parameters()])  # noqa: E731
    for iteration, engine in ((0, None), (1, None), (7, _engine(iteration=7))):
        before, delta = flat(model), _sgd_delta(model, half)
        out = step(engine, {"a": half, "b": _half(99)})  # a paired batch trains on "a"
        kept = _reference_random_keep(5, iteration, 8, 0.5)
        assert torch.allclose(flat(model), before + kept.float() * delta, atol=1e-6)
        assert float(out["updated_ratio"]) == pytest.approx(float(kept.float().mean()))
        assert float(out["loss"]) == pytest.approx(
            float(F.cross_entropy(torch.nn.functional.linear(
                half["x"], before[:6].view(2, 3), before[6:]), half["y"])), rel=1e-5)
    assert step._calls == 3
    # The frozen units' momentum was put back too: after keep=0 nothing ever moves.
    frozen, model0 = _random_update(0.0, momentum=0.9)
    before = flat(model0)
    frozen(None, half)
    frozen(None, half)
    assert torch.equal(flat(model0), before)


def test_random_update_step_zero_grad_passes_through():
    step, model = _random_update(1.0)
    model.weight.grad = torch.ones_like(model.weight)
    step._supervised.optimizer.zero_grad()
    assert model.weight.grad is None  # set_to_none by default, as torch's optimizers


def test_supervised_step_adds_the_extra_loss_and_reads_the_target_provider():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    start = copy.deepcopy(model)
    half = _half(7)
    seen = []

    def flipped(batch):
        seen.append(batch["index"])
        return 1 - batch["y"]

    def extra(logits, batch):
        return 0.25 * (logits ** 2).mean() + 0.0 * batch["x"].sum()

    step = SupervisedStep(model, torch.optim.SGD(model.parameters(), lr=0.5), ACC,
                          targets=flipped, extra_loss=extra)
    out = step(None, half)
    assert torch.equal(seen[0], half["index"])
    # Reference: mean CE on the flipped labels plus the extra term, one SGD step by hand.
    w = start.weight.detach().clone().requires_grad_()
    b = start.bias.detach().clone().requires_grad_()
    logits = half["x"] @ w.T + b
    ce = sum(-F.log_softmax(logits[i], 0)[1 - half["y"][i]] for i in range(6)) / 6
    loss = ce + 0.25 * (logits ** 2).mean()
    loss.backward()
    assert float(out["loss"]) == pytest.approx(float(loss.detach()), rel=1e-6)
    assert torch.allclose(model.weight, w - 0.5 * w.grad, atol=1e-6)
    assert torch.allclose(model.bias, b - 0.5 * b.grad, atol=1e-6)
    assert torch.equal(out["y"], half["y"]) and torch.equal(out["index"], half["index"])


def test_phased_and_composed_steps_pass_the_engine_on():
    seen = []
    record = lambda engine, batch: seen.append(engine) or {"loss": torch.zeros(())}  # noqa: E731
    engine = _engine(epoch=2)
    PhasedStep(lambda epoch: "main", {"main": record})(engine, None)
    WarmupAsPairStep(record, keys=("loss_a",))(engine, {"x": 1})
    assert seen == [engine, engine]


def test_pair_and_distillation_passes_the_engine_to_both_steps():
    seen = []

    def pair(engine, batch):
        seen.append(("pair", engine))
        return {"loss": torch.ones(())}

    def distill(engine, batch):
        seen.append(("c", engine))
        one = torch.ones(())
        return {"loss": one, "loss_kl": one, "loss_pseudo": one, "confident_fraction": one}

    engine = _engine()
    PairAndDistillationStep(pair, distill)(engine, {"a": {}, "b": {}})
    assert seen == [("pair", engine), ("c", engine)]


def test_frozen_pair_evaluates_the_wrapped_modules():
    a, b = _twins(1)
    wrapped = SimpleNamespace(module=a)  # as DDP wraps a module
    step = FrozenPairStep([wrapped, b], ACC)
    assert step.models[0] is a
    half = _half(8)
    out = step(None, {"a": half, "b": half})
    with torch.no_grad():
        want = float(F.cross_entropy(a(half["x"]), half["y"]))
    assert float(out["loss_a"]) == pytest.approx(want)


def test_distillation_step_uses_its_threshold():
    torch.manual_seed(0)
    c = torch.nn.Linear(3, 2)
    joint = torch.tensor([[0.7, 0.3]] * 6)
    step = DistillationStep(c, torch.optim.SGD(c.parameters(), 0.1), ACC,
                            joint=lambda batch: joint, pseudo_label_threshold=0.6)
    out = step(None, _half(9))
    assert float(out["confident_fraction"]) == 1.0  # 0.7 > 0.6 (the default 0.8 would drop it)


# -- DivideMix -------------------------------------------------------------------------------

K, D, B = 3, 4, 4


def _dm_batch():
    g = torch.Generator().manual_seed(11)

    def part(start):
        return {"x": torch.randn(B, D, generator=g), "x2": torch.randn(B, D, generator=g),
                "y": torch.randint(0, K, (B,), generator=g),
                "index": torch.arange(start, start + B)}

    return {"a": {"labeled": part(0), "unlabeled": part(4)},
            "b": {"labeled": part(8), "unlabeled": part(12)}}


def _drawn(batch):
    """A stand-in direction pool: the class after the given one."""
    return (batch["y"] + 1) % K


def _dm(nets, **kwargs):
    opts = [torch.optim.SGD(n.parameters(), lr=0.5) for n in nets]
    division = SimpleNamespace(clean_prob=torch.stack([torch.full((16,), 0.9),
                                                       torch.full((16,), 0.2)]), threshold=0.5)
    return DivideMixStep(nets, opts, ACC, division=division, num_classes=K, warmup_epochs=1,
                         **kwargs)


@pytest.mark.parametrize("switched", [(), ("warmup",)])
def test_dividemix_warmup_is_ce_on_both_halves_plus_the_confidence_penalty(switched):
    torch.manual_seed(0)
    nets = [torch.nn.Linear(D, K), torch.nn.Linear(D, K)]
    ref = copy.deepcopy(nets)
    step = _dm(nets, lambda_u=25.0, confidence_penalty=True, targets=_drawn, switched=switched)
    batch = _dm_batch()
    out = step(_engine(epoch=1), batch)
    losses = []
    for net, name in zip(ref, "ab"):
        part = batch[name]
        x = torch.cat([part["labeled"]["x"], part["unlabeled"]["x"]])
        y = torch.cat([part["labeled"]["y"], part["unlabeled"]["y"]])
        if switched:
            y = (y + 1) % K
        with torch.no_grad():
            p = net(x).softmax(1)
        ce = sum(-math.log(float(p[i, y[i]])) for i in range(len(y))) / len(y)
        penalty = sum(float((p[i] * p[i].log()).sum()) for i in range(len(y))) / len(y)
        losses.append(ce + penalty)
    assert float(out["loss"]) == pytest.approx(sum(losses) / 2, rel=1e-5)
    assert float(out["labeled_loss"]) == float(out["loss"])
    assert sorted(out) == ["labeled_loss", "loss", "prior_penalty", "unlabeled_loss",
                           "unlabeled_weight"]
    assert float(out["unlabeled_loss"]) == float(out["prior_penalty"]) == 0.0


def _sharpen(p, t=0.5):
    p = p ** (1 / t)
    return p / p.sum(1, keepdim=True)


def _reference_train(net, other, part, w_all, drawn, lambda_u, ramp, prior):
    """DivideMix's train() for one network, with GSS's drawn directions in place of the given
    labels (labeled refinement) and of the co-guess (unlabeled rows)."""
    lab, unl = part["labeled"], part["unlabeled"]
    y = drawn(lab) if "labeled" in SWITCHED else lab["y"]
    onehot = torch.zeros(B, K).scatter_(1, y.view(-1, 1), 1.0)
    w = w_all[lab["index"]].view(-1, 1)
    net.train()
    other.eval()
    with torch.no_grad():
        if "unlabeled" in SWITCHED:
            targets_u = torch.zeros(B, K).scatter_(1, drawn(unl).view(-1, 1), 1.0)
        else:
            pu = (net(unl["x"]).softmax(1) + net(unl["x2"]).softmax(1)
                  + other(unl["x"]).softmax(1) + other(unl["x2"]).softmax(1)) / 4
            targets_u = _sharpen(pu)
        px = (net(lab["x"]).softmax(1) + net(lab["x2"]).softmax(1)) / 2
        targets_x = _sharpen(w * onehot + (1 - w) * px)
    a = torch.full((), 4.0)
    draw = torch.distributions.Beta(a, a).sample()
    lam = max(float(draw), 1 - float(draw))
    inputs = torch.cat([lab["x"], lab["x2"], unl["x"], unl["x2"]])
    targets = torch.cat([targets_x, targets_x, targets_u, targets_u])
    idx = torch.randperm(4 * B)
    mixed_x = torch.stack([lam * inputs[i] + (1 - lam) * inputs[idx[i]] for i in range(4 * B)])
    mixed_t = torch.stack([lam * targets[i] + (1 - lam) * targets[idx[i]] for i in range(4 * B)])
    logits = net(mixed_x)
    n = 2 * B
    lx = -(F.log_softmax(logits[:n], 1) * mixed_t[:n]).sum(1).mean()
    lu = ((logits[n:].softmax(1) - mixed_t[n:]) ** 2).mean()
    mean = logits.softmax(1).mean(0)
    penalty = sum((1 / K) * torch.log((1 / K) / mean[c]) for c in range(K)) if prior else 0.0
    loss = lx + lambda_u * ramp * lu + penalty
    net.zero_grad()
    loss.backward()
    with torch.no_grad():
        for p in net.parameters():
            p -= 0.5 * p.grad
    value = lambda t: float(t.detach()) if torch.is_tensor(t) else float(t)  # noqa: E731
    return value(loss), value(lx), value(lu), value(penalty)


SWITCHED = ()


@pytest.mark.parametrize("switched,prior", [(("labeled", "unlabeled"), False),
                                            (("unlabeled",), True)])
def test_dividemix_main_phase_with_switched_targets_matches_the_reference(switched, prior):
    global SWITCHED
    SWITCHED = switched
    torch.manual_seed(0)
    nets = [torch.nn.Linear(D, K), torch.nn.Linear(D, K)]
    ref = copy.deepcopy(nets)
    step = _dm(nets, lambda_u=8.0, targets=_drawn, switched=switched, prior_penalty=prior,
               rampup_epochs=4.0)
    batch = _dm_batch()
    # Epoch 3, iteration 26 of 10 per epoch: progress 2 + 5/10 = 2.5, ramp (2.5 - 1) / 4.
    ramp = 1.5 / 4
    torch.manual_seed(5)
    out = step(_engine(iteration=26, epoch=3, epoch_length=10), batch)
    torch.manual_seed(5)
    division = step.division.clean_prob
    rows = [_reference_train(ref[k], ref[1 - k], batch[name], division[1 - k], _drawn, 8.0,
                             ramp, prior) for k, name in enumerate("ab")]
    mean = [sum(r[i] for r in rows) / 2 for i in range(4)]
    assert float(out["loss"]) == pytest.approx(mean[0], rel=1e-5)
    assert float(out["labeled_loss"]) == pytest.approx(mean[1], rel=1e-5)
    assert float(out["unlabeled_loss"]) == pytest.approx(mean[2], rel=1e-5)
    assert float(out["prior_penalty"]) == pytest.approx(mean[3], rel=1e-5, abs=1e-7)
    assert float(out["unlabeled_weight"]) == pytest.approx(8.0 * ramp)
    for net, want in zip(nets, ref):
        assert torch.allclose(net.weight, want.weight, atol=1e-5)


def test_channel_coefficients_of_float64_vectors_by_hand():
    # Non-float32 vectors (e.g. half-precision gradients) take the copying path.
    from ignoise.steps.agreement_masks import AgreementUnits, agreement_coefficients

    units = AgreementUnits([(2, 2), (2,)], "channel")
    a = [torch.tensor([[1.0, 0.0], [1.0, 1.0]], dtype=torch.float64),
         torch.tensor([2.0, -1.0], dtype=torch.float64)]
    b = [torch.tensor([[1.0, 1.0], [-1.0, -1.0]], dtype=torch.float64),
         torch.tensor([3.0, 1.0], dtype=torch.float64)]
    want = [1 / math.sqrt(2), -1.0, 1.0, -1.0]  # cosines of the rows, then of the scalars
    assert torch.allclose(agreement_coefficients(a, b, units), torch.tensor(want), atol=1e-6)


def test_random_update_step_on_a_float64_model():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2).double()
    before = [p.detach().clone() for p in model.parameters()]
    step = RandomUpdateStep(model, torch.optim.SGD(model.parameters(), lr=0.5), ACC, keep=0.0)
    half = _half(12)
    step(None, {**half, "x": half["x"].double()})
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), before))


class _WithUnused(torch.nn.Module):
    """A linear layer plus a parameter the forward pass never uses (no gradient)."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(3, 2)
        self.unused = torch.nn.Parameter(torch.ones(4))

    def forward(self, x):
        return self.linear(x)


def test_a_parameter_without_gradient_agrees_and_stays():
    torch.manual_seed(0)
    a = _WithUnused()
    b = copy.deepcopy(a)
    step = AgreementStep(a, b, torch.optim.SGD(a.parameters(), 0.5),
                         torch.optim.SGD(b.parameters(), 0.5), ACC, granularity="tensor")
    half_a, half_b = _half(13), _half(14)
    step(None, {"a": half_a, "b": half_b})
    # Two zero vectors are equal: the unused tensor's coefficient is 1.
    i = next(j for j, p in enumerate(step.params_a) if p is a.unused)
    assert float(step.coefficients[i]) == 1.0 and bool(step.updated[i])
    assert torch.equal(a.unused, torch.ones(4))
