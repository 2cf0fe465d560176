"""GAL's phase switch (warm-up network cloned into A and B) and the agreement-ratio curve."""

import torch
from ignite.engine import Engine

from ignoise.handlers import AgreementRatio, PhaseSwitch
from ignoise.steps import PhasedStep


def test_phase_switch_clones_weights_and_an_unshared_optimizer_state():
    torch.manual_seed(0)
    source, target = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    opt_s = torch.optim.SGD(source.parameters(), lr=0.1, momentum=0.9)
    opt_t = torch.optim.SGD(target.parameters(), lr=0.1, momentum=0.9)
    switch = PhaseSwitch(2, source=(source, opt_s), targets=[(target, opt_t)])
    calls = []

    def warm(engine, batch):
        calls.append("warmup")
        source(torch.randn(4, 3)).sum().backward()
        opt_s.step()
        return {"loss": 0.0}

    step = PhasedStep(switch.phase, {"warmup": warm, "main": lambda e, b: calls.append("main")})
    trainer = Engine(step)
    switch.attach(trainer)
    trainer.run([0, 1], max_epochs=3)
    assert calls == ["warmup"] * 4 + ["main"] * 2
    assert all(torch.equal(p, q) for p, q in zip(source.parameters(), target.parameters()))
    buf_s = opt_s.state[source.weight]["momentum_buffer"]
    buf_t = opt_t.state[target.weight]["momentum_buffer"]
    assert torch.equal(buf_s, buf_t) and buf_s.data_ptr() != buf_t.data_ptr()


def test_agreement_ratio_keeps_the_curve_and_epoch_means_across_a_resume():
    values = iter([1.0, 1.0, 0.5, 0.25, 0.75, 0.25])

    def step(engine, batch):
        v = torch.tensor(next(values))
        return {"agreement_ratio": v, "agreement_ratio_tensors": 2 * v}

    trainer = Engine(step)
    ratio = AgreementRatio()
    ratio.attach(trainer)
    trainer.run([0, 1], max_epochs=2)
    assert ratio.iterations == [1, 2, 3, 4]
    assert ratio.curve["agreement_ratio"] == [1.0, 1.0, 0.5, 0.25]
    assert ratio.summary() == {"agreement_ratio": 0.375, "agreement_ratio_tensors": 0.75}

    resumed = AgreementRatio()
    resumed.load_state_dict(ratio.state_dict())
    trainer = Engine(step)
    resumed.attach(trainer)
    trainer.load_state_dict({"epoch": 2, "epoch_length": 2, "max_epochs": 2})
    trainer.run([0, 1], max_epochs=3)
    assert resumed.iterations == [1, 2, 3, 4, 5, 6]
    assert resumed.curve["agreement_ratio"] == [1.0, 1.0, 0.5, 0.25, 0.75, 0.25]
