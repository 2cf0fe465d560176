"""GAL's phase switch owns the LR schedulers of the warm-up network and of its copies."""

import copy
import warnings

import pytest
import torch
from ignite.engine import Engine, Events

from ignoise.handlers import AgreementRatio, PhaseSwitch
from ignoise.steps import PhasedStep

WARMUP, MAIN = 2, 3
MILESTONES = [1, 4]  # one inside the warm-up (copied), one in the main phase (stepped)
LR = 0.1


def batches() -> list[dict]:
    g = torch.Generator().manual_seed(0)
    return [{"x": torch.randn(6, 3, generator=g), "y": torch.randint(0, 2, (6,), generator=g)}
            for _ in range(2)]


def networks():
    """A, B and C: three identical Linear networks with SGD (momentum, weight decay) and
    MultiStepLR."""
    torch.manual_seed(0)
    a = torch.nn.Linear(3, 2)
    nets = {"a": a, "b": copy.deepcopy(a), "c": copy.deepcopy(a)}
    opts = {k: torch.optim.SGD(m.parameters(), lr=LR, momentum=0.9, weight_decay=5e-4)
            for k, m in nets.items()}
    scheds = {k: torch.optim.lr_scheduler.MultiStepLR(o, MILESTONES, 0.1) for k, o in opts.items()}
    return nets, opts, scheds


def sgd_step(net, opt, batch, flip: bool = False) -> torch.Tensor:
    x = -batch["x"] if flip else batch["x"]
    loss = torch.nn.functional.cross_entropy(net(x), batch["y"])
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.detach()


def gal_like_step(phase, nets, opts):
    """Warm-up: A alone. Main: A, B (on other inputs, so they diverge) and C."""

    def warm(engine, batch):
        return {"loss": sgd_step(nets["a"], opts["a"], batch)}

    def main(engine, batch):
        losses = [sgd_step(nets[k], opts[k], batch, flip=k == "b") for k in ("a", "b", "c")]
        return {"loss": torch.stack(losses).sum()}

    return PhasedStep(phase, {"warmup": warm, "main": main})


def run_with_switch(attach_first: bool = True, max_epochs: int = WARMUP + MAIN):
    nets, opts, scheds = networks()
    switch = PhaseSwitch(WARMUP, source=(nets["a"], opts["a"], scheds["a"]),
                         targets=[(nets[k], opts[k], scheds[k]) for k in ("b", "c")])
    trainer = Engine(gal_like_step(switch.phase, nets, opts))
    if attach_first:
        switch.attach(trainer)
    seen = []  # other end-of-epoch handlers, as a run has (history, evaluators)
    trainer.add_event_handler(Events.EPOCH_COMPLETED,
                              lambda e: seen.append(nets["b"].weight.sum()))
    AgreementRatio().attach(trainer)
    if not attach_first:
        switch.attach(trainer)
    trainer.run(batches(), max_epochs=max_epochs)
    return nets, opts, scheds


def run_old_composition():
    """The recipe before the switch owned the schedulers: the trainer steps every scheduler at
    the end of each epoch, then the warm-up network is cloned (weights, optimizer state)."""
    nets, opts, scheds = networks()
    phase = lambda epoch: "warmup" if epoch <= WARMUP else "main"
    trainer = Engine(gal_like_step(phase, nets, opts))

    @trainer.on(Events.EPOCH_COMPLETED)
    def step_schedulers(engine):
        for scheduler in scheds.values():
            scheduler.step()

    @trainer.on(Events.EPOCH_COMPLETED(event_filter=lambda _, epoch: epoch <= WARMUP))
    def clone(engine):
        for k in ("b", "c"):
            nets[k].load_state_dict(nets["a"].state_dict())
            opts[k].load_state_dict(copy.deepcopy(opts["a"].state_dict()))

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler.step\(\)`")
        trainer.run(batches(), max_epochs=WARMUP + MAIN)
    return nets, opts, scheds


def lrs(opts) -> dict:
    return {k: o.param_groups[0]["lr"] for k, o in opts.items()}


def test_the_switch_raises_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nets, opts, scheds = run_with_switch()
    assert {k: s.last_epoch for k, s in scheds.items()} == {"a": 5, "b": 5, "c": 5}
    assert lrs(opts) == pytest.approx({"a": LR * 0.01, "b": LR * 0.01, "c": LR * 0.01})


def test_targets_equal_the_source_after_the_warm_up():
    nets, opts, scheds = run_with_switch(max_epochs=WARMUP)
    assert lrs(opts) == {"a": LR * 0.1, "b": LR * 0.1, "c": LR * 0.1}  # milestone 1 passed
    for k in ("b", "c"):
        assert scheds[k].last_epoch == scheds["a"].last_epoch == WARMUP
        assert scheds[k].get_last_lr() == scheds["a"].get_last_lr()
        assert all(torch.equal(p, q) for p, q in zip(nets[k].parameters(),
                                                     nets["a"].parameters()))
        buf, buf_a = (opts[n].state[nets[n].weight]["momentum_buffer"] for n in (k, "a"))
        assert torch.equal(buf, buf_a) and buf.data_ptr() != buf_a.data_ptr()
        # Not shared with the source's: stepping A's scheduler leaves the copies' state alone.
        assert scheds[k].state_dict()["_last_lr"] is not scheds["a"].state_dict()["_last_lr"]


def test_main_epochs_step_every_scheduler_once():
    nets, opts, scheds = run_with_switch()
    assert all(s.last_epoch == WARMUP + MAIN for s in scheds.values())
    assert lrs(opts) == pytest.approx({k: LR * 0.01 for k in opts})  # milestone 4 too
    # B trained on other inputs in the main phase, so the copies did diverge from A.
    assert not torch.equal(nets["b"].weight, nets["a"].weight)


def test_the_result_does_not_depend_on_where_the_switch_is_attached():
    nets_1, opts_1, scheds_1 = run_with_switch(attach_first=True)
    nets_2, opts_2, scheds_2 = run_with_switch(attach_first=False)
    for k in nets_1:
        assert all(torch.equal(p, q) for p, q in zip(nets_1[k].parameters(),
                                                     nets_2[k].parameters()))
        assert opts_1[k].param_groups[0]["lr"] == opts_2[k].param_groups[0]["lr"]
        assert scheds_1[k].state_dict() == scheds_2[k].state_dict()


def test_the_switch_equals_the_old_order_dependent_composition_bitwise():
    new_nets, new_opts, new_scheds = run_with_switch()
    old_nets, old_opts, old_scheds = run_old_composition()
    for k in new_nets:
        assert all(torch.equal(p, q) for p, q in zip(new_nets[k].parameters(),
                                                     old_nets[k].parameters())), k
        assert new_opts[k].param_groups[0]["lr"] == old_opts[k].param_groups[0]["lr"]
        assert new_scheds[k].last_epoch == old_scheds[k].last_epoch


def test_two_tuples_mean_no_scheduler_and_a_scheduler_needs_the_sources():
    nets, opts, scheds = networks()
    switch = PhaseSwitch(1, source=(nets["a"], opts["a"]), targets=[(nets["b"], None)])
    assert switch.source[2] is None and switch.schedulers == []
    with pytest.raises(ValueError, match="source has none"):
        PhaseSwitch(1, source=(nets["a"], opts["a"]),
                    targets=[(nets["b"], opts["b"], scheds["b"])])
    with pytest.raises(ValueError, match="no optimizer"):
        PhaseSwitch(1, source=(nets["a"], opts["a"], scheds["a"]),
                    targets=[(nets["b"], None, scheds["b"])])
    with pytest.raises(ValueError, match=r"targets\[0\] must be"):
        PhaseSwitch(1, source=(nets["a"], opts["a"]), targets=[nets["b"]])


def test_a_late_network_follows_the_schedule_without_stepping_in_the_warm_up():
    """GAL's C from scratch: idle in the warm-up, it keeps its own weights and optimizer state
    but its learning rate and scheduler follow A's, without torch's warning; afterwards it is
    stepped with the others and ends on A's learning rate."""
    nets, opts, scheds = networks()
    torch.manual_seed(1)
    scratch = torch.nn.Linear(3, 2)
    start = copy.deepcopy(scratch.state_dict())
    nets["c"] = scratch
    opts["c"] = torch.optim.SGD(scratch.parameters(), lr=LR, momentum=0.9)
    scheds["c"] = torch.optim.lr_scheduler.MultiStepLR(opts["c"], MILESTONES, 0.1)
    switch = PhaseSwitch(WARMUP, source=(nets["a"], opts["a"], scheds["a"]),
                         targets=[(nets["b"], opts["b"], scheds["b"])],
                         late=[(opts["c"], scheds["c"])])
    trainer = Engine(gal_like_step(switch.phase, nets, opts))
    switch.attach(trainer)
    lrs = []
    trainer.add_event_handler(Events.EPOCH_COMPLETED,
                              lambda e: lrs.append(opts["c"].param_groups[0]["lr"]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trainer.run(batches(), max_epochs=WARMUP)
        assert all(torch.equal(v, start[k]) for k, v in scratch.state_dict().items())
        assert opts["c"].state == {}  # no momentum of A's was copied
        trainer.run(batches(), max_epochs=WARMUP + MAIN)
    assert lrs == pytest.approx([LR * 0.1] * 3 + [LR * 0.01] * 2)
    assert opts["c"].param_groups[0]["lr"] == pytest.approx(opts["a"].param_groups[0]["lr"])
    assert scheds["c"].last_epoch == scheds["a"].last_epoch == WARMUP + MAIN
    with pytest.raises(ValueError, match="late must hold"):
        PhaseSwitch(1, source=(nets["a"], opts["a"], scheds["a"]), targets=[],
                    late=[(opts["c"],)])
