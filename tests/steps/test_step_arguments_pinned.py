"""Boundary checks of the steps' arguments and the paper defaults they document.

Every bad value is rejected with a message naming it; the values at the edges of each documented
range are accepted. The defaults are those of the papers (GAL: tau = 0.4, epsilon = 0.8;
DivideMix: T = 0.5, alpha = 4, a 16-epoch ramp-up).
"""

import re

import pytest
import torch
from accelerate import Accelerator

from ignoise.steps import (
    AgreementStep,
    DistillationStep,
    DivideMixStep,
    FrozenPairStep,
    RandomUpdateStep,
    WarmupAsPairStep,
    distillation_loss,
    linear_rampup,
)
from ignoise.steps.agreement_masks import AgreementUnits

ACC = Accelerator(cpu=True)


def _pair(**kwargs):
    a, b = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    return AgreementStep(a, b, torch.optim.SGD(a.parameters(), 0.1),
                         torch.optim.SGD(b.parameters(), 0.1), ACC, **kwargs)


def _raises(match, fn, *args, **kwargs):
    with pytest.raises(ValueError, match="^" + re.escape(match)):
        fn(*args, **kwargs)


def test_agreement_step_arguments():
    step = _pair()
    assert (step.agreement_threshold, step.reading, step.update) == (0.4, "gradient", "agreement")
    assert (step.masked_update, step.random_keep, step.seed) == ("freeze", 0.5, 0)
    assert step.units.granularity == "tensor" and step._calls == 0
    assert step.coefficients is None and step.updated is None
    _raises("unknown reading 'cos': expected one of ('gradient', 'literal', 'update')",
            _pair, reading="cos")
    _raises("unknown update 'some': expected one of ('agreement', 'all', 'random')",
            _pair, update="some")
    _raises("unknown masked_update 'hold': expected one of ('freeze', 'zero_grad')",
            _pair, masked_update="hold")
    _raises("masked_update='zero_grad' decides before the optimizer step, which only the "
            "'gradient' reading allows; got reading='update'",
            _pair, masked_update="zero_grad", reading="update")
    for bad in (-0.01, 1.01, 2.0):
        _raises(f"random_keep must lie in [0, 1], got {bad}", _pair, random_keep=bad)
    for edge in (0.0, 1.0):
        assert _pair(random_keep=edge).random_keep == edge
    a, b = torch.nn.Linear(3, 2), torch.nn.Linear(3, 4)
    _raises("model_a and model_b must have the same parameters (shapes differ)", AgreementStep,
            a, b, torch.optim.SGD(a.parameters(), 0.1), torch.optim.SGD(b.parameters(), 0.1), ACC)


def test_agreement_units_arguments():
    _raises("unknown agreement granularity 'row': expected one of "
            "('tensor', 'channel', 'element')", AgreementUnits, [(2,)], "row")
    _raises("no parameters to measure agreement on", AgreementUnits, [])
    units = AgreementUnits([(2, 3), (2,)])
    assert units.granularity == "tensor" and units.shapes == [torch.Size([2, 3]), torch.Size([2])]
    assert units.unit_counts == [1, 1] and units.num_units == 2 and units.numel == 8


def test_random_update_step_arguments():
    def make(**kwargs):
        model = torch.nn.Linear(3, 2)
        return RandomUpdateStep(model, torch.optim.SGD(model.parameters(), 0.1), ACC, **kwargs)

    for bad in (-0.5, 1.5, 2.5):
        _raises(f"keep must lie in [0, 1], got {bad}", make, keep=bad)
    for edge in (0.0, 1.0):
        step = make(keep=edge)
        assert step.keep == edge and step.seed == 0 and step._calls == 0


def test_distillation_arguments_and_threshold():
    c = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(c.parameters(), 0.1)
    _raises("give exactly one of joint (per-epoch table) or teachers (online)",
            DistillationStep, c, opt, ACC)
    _raises("give exactly one of joint (per-epoch table) or teachers (online)",
            DistillationStep, c, opt, ACC, joint=lambda b: b, teachers=[c])
    for bad in (-0.1, 1.0):
        _raises(f"pseudo_label_threshold must lie in [0, 1), got {bad}", DistillationStep,
                c, opt, ACC, teachers=[c], pseudo_label_threshold=bad)
    assert DistillationStep(c, opt, ACC, teachers=[c]).pseudo_label_threshold == 0.8
    assert DistillationStep(c, opt, ACC, teachers=[c],
                            pseudo_label_threshold=0.0).pseudo_label_threshold == 0.0
    # eq. 9 counts a pseudo-label only when its confidence is strictly above epsilon (0.8 by
    # default): 0.8 itself is left out, 0.85 counts.
    joint = torch.tensor([[0.8, 0.2], [0.15, 0.85], [0.5, 0.5]])
    out = distillation_loss(torch.zeros(3, 2), joint)
    assert float(out["confident_fraction"]) == pytest.approx(1 / 3)
    assert float(out["loss_pseudo"]) == pytest.approx(torch.log(torch.tensor(2.0)).item() / 3)


def _dividemix(**kwargs):
    nets = [torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)]
    opts = [torch.optim.SGD(n.parameters(), 0.1) for n in nets]
    args = dict(division=None, num_classes=2, warmup_epochs=1, lambda_u=0.0)
    args.update(kwargs)
    models = args.pop("models", nets)
    optimizers = args.pop("optimizers", opts)
    return DivideMixStep(models, optimizers, ACC, **args)


def test_dividemix_arguments():
    step = _dividemix()
    assert (step.temperature, step.alpha, step.rampup_epochs) == (0.5, 4.0, 16.0)
    assert step.prior_penalty is True and step.switched == frozenset()
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.SGD(net.parameters(), 0.1)
    _raises("DivideMix trains two networks, got 1 models and 1 optimizers",
            _dividemix, models=[net], optimizers=[opt])
    _raises("DivideMix trains two networks, got 2 models and 1 optimizers",
            _dividemix, models=[net, net], optimizers=[opt])
    _raises("unknown switched targets ['all']: expected some of "
            "('warmup', 'labeled', 'unlabeled')", _dividemix, switched=("labeled", "all"))
    for bad in (0.0, 1.5, 2.5):
        _raises(f"temperature must lie in (0, 1], got {bad}", _dividemix, temperature=bad)
    assert _dividemix(temperature=1.0).temperature == 1.0
    for bad in (0.0, -1.0):
        _raises(f"alpha must be positive, got {bad}", _dividemix, alpha=bad)
    assert _dividemix(alpha=0.5).alpha == 0.5


def test_small_steps_arguments():
    net = torch.nn.Linear(3, 2)
    _raises("a frozen pair has two networks, got 1", FrozenPairStep, [net], ACC)
    _raises("keys must be a sequence of output names, got the string 'loss_a'",
            WarmupAsPairStep, lambda e, b: b, "loss_a")


def test_linear_rampup_without_a_ramp_is_a_step_at_the_start():
    # length <= 0: no ramp, the weight jumps from 0 to 1 at ``start``.
    assert [linear_rampup(p, 5, 0) for p in (4.0, 5.0, 6.0)] == [0.0, 1.0, 1.0]
    assert [linear_rampup(p, 5, -1) for p in (4.9, 5.0)] == [0.0, 1.0]
    # A ramp of length 1 is a ramp, not a step: halfway in, half the weight.
    assert linear_rampup(5.5, 5, 1.0) == 0.5
    # The default length is DivideMix's 16 epochs.
    assert linear_rampup(13.0, 5) == 0.5
