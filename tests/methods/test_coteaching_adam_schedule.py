"""The Co-teaching family's Adam and its schedule (ignoise.methods.components), against a plain
transcription of the authors' ``adjust_learning_rate``."""

import pytest
import torch

from ignoise.config import ConfigError
from ignoise.engine import create_trainer
from ignoise.methods import (
    CoTeachingConfig,
    CoTeachingPlusConfig,
    DecouplingConfig,
    JoCoRConfig,
    MentorNetConfig,
)
from ignoise.methods.components import CoTeachingAdamSchedule, optimizer_with_schedule


def reference_plan(learning_rate: float, n_epoch: int, epoch_decay_start: int):
    """``alpha_plan`` and ``beta1_plan`` as the Co-teaching, Co-teaching+ and JoCoR codes build
    them (main.py: mom1 0.9, mom2 0.1); ``adjust_learning_rate(optimizer, epoch)`` sets
    ``lr = alpha_plan[epoch]`` and ``betas = (beta1_plan[epoch], 0.999)``."""
    mom1, mom2 = 0.9, 0.1
    alpha_plan = [learning_rate] * n_epoch
    beta1_plan = [mom1] * n_epoch
    for i in range(epoch_decay_start, n_epoch):
        alpha_plan[i] = float(n_epoch - i) / (n_epoch - epoch_decay_start) * learning_rate
        beta1_plan[i] = mom2
    return alpha_plan, beta1_plan


def adam(lr=0.001):
    return torch.optim.Adam(torch.nn.Linear(3, 2).parameters(), lr=lr)


def settings(optimizer) -> tuple[float, tuple[float, float]]:
    group = optimizer.param_groups[0]
    return group["lr"], tuple(group["betas"])


@pytest.mark.parametrize("epochs, decay_start", [(200, 80), (200, 100), (30, 12), (7, 0)])
def test_each_epoch_has_the_lr_and_beta1_of_adjust_learning_rate(epochs, decay_start):
    alpha_plan, beta1_plan = reference_plan(0.001, epochs, decay_start)
    optimizer = adam()
    schedule = CoTeachingAdamSchedule(optimizer, epochs=epochs, decay_start=decay_start)
    for epoch in range(epochs):
        lr, betas = settings(optimizer)
        assert lr == pytest.approx(alpha_plan[epoch], rel=1e-12, abs=1e-15), epoch
        assert betas == (beta1_plan[epoch], 0.999), epoch
        schedule.step()
    # The last epoch trains at lr0 / (epochs - decay_start), the reference's last alpha.
    assert alpha_plan[-1] == pytest.approx(0.001 / (epochs - decay_start))


@pytest.mark.parametrize("decay_start", [None, 10, 12])
def test_no_decay_when_null_or_not_before_the_last_epoch(decay_start):
    optimizer = adam()
    schedule = CoTeachingAdamSchedule(optimizer, epochs=10, decay_start=decay_start)
    for _ in range(10):
        assert settings(optimizer) == (0.001, (0.9, 0.999))
        schedule.step()


def test_each_param_group_decays_from_its_own_lr():
    net = torch.nn.Linear(3, 2)
    optimizer = torch.optim.Adam([{"params": [net.weight], "lr": 0.002},
                                  {"params": [net.bias]}], lr=0.001)
    schedule = CoTeachingAdamSchedule(optimizer, epochs=4, decay_start=2)
    for _ in range(3):
        schedule.step()
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([0.001, 0.0005])
    assert all(g["betas"] == (0.1, 0.999) for g in optimizer.param_groups)


def test_state_dict_round_trips_into_a_fresh_optimizer():
    optimizer = adam()
    schedule = CoTeachingAdamSchedule(optimizer, epochs=20, decay_start=8)
    for _ in range(11):
        schedule.step()
    state = schedule.state_dict()
    assert state == {"epoch": 11}

    resumed_optimizer = adam()  # as a resumed run builds it: lr0, beta1 0.9
    resumed = CoTeachingAdamSchedule(resumed_optimizer, epochs=20, decay_start=8)
    resumed.load_state_dict(state)
    assert resumed.state_dict() == state
    for _ in range(9):
        assert settings(resumed_optimizer) == settings(optimizer)
        schedule.step()
        resumed.step()


def test_the_trainer_trains_epoch_e_with_the_plan_of_epoch_e():
    """create_trainer steps the schedule at the end of each epoch: every iteration of epoch e
    sees alpha_plan[e] and beta1_plan[e]."""
    optimizer = adam()
    schedule = CoTeachingAdamSchedule(optimizer, epochs=6, decay_start=2)
    seen = []
    trainer = create_trainer(lambda engine, batch: seen.append(settings(optimizer)) or {},
                             lr_schedulers=[schedule])
    trainer.run([0, 1], max_epochs=6)
    alpha_plan, beta1_plan = reference_plan(0.001, 6, 2)
    expected = [(a, (b, 0.999)) for a, b in zip(alpha_plan, beta1_plan) for _ in range(2)]
    assert [lr for lr, _ in seen] == pytest.approx([lr for lr, _ in expected])
    assert [betas for _, betas in seen] == [betas for _, betas in expected]


@pytest.mark.parametrize("config", [CoTeachingConfig, CoTeachingPlusConfig, JoCoRConfig,
                                    MentorNetConfig])
def test_adam_or_sgd_as_the_config_says(config):
    cfg = config()  # the defaults (tests/methods/test_registry.py checks them)
    optimizer, schedule = optimizer_with_schedule(cfg, torch.nn.Linear(3, 2))
    assert isinstance(optimizer, torch.optim.Adam) and optimizer.defaults["fused"]
    assert optimizer.defaults["weight_decay"] == 0.0
    assert isinstance(schedule, CoTeachingAdamSchedule)
    assert (schedule.epochs, schedule.decay_start) == (200, 80)

    sgd = cfg.replace(optimizer="sgd", lr=0.02, lr_decay_start=None)
    optimizer, schedule = optimizer_with_schedule(sgd, torch.nn.Linear(3, 2))
    assert isinstance(optimizer, torch.optim.SGD)
    assert isinstance(schedule, torch.optim.lr_scheduler.MultiStepLR)


def test_sgd_with_a_decay_start_names_both_fields():
    with pytest.raises(ConfigError) as err:
        JoCoRConfig(optimizer="sgd")
    assert str(err.value) == (
        "JoCoRConfig: lr_decay_start = 80 with optimizer = 'sgd': the linear decay is the Adam "
        "schedule's; SGD's lr follows lr_milestones. Set lr_decay_start to null, or optimizer "
        "to 'adam'")


def test_decoupling_keeps_sgd():
    cfg = DecouplingConfig()
    assert not hasattr(cfg, "optimizer")
    optimizer, schedule = optimizer_with_schedule(cfg, torch.nn.Linear(3, 2))
    assert isinstance(optimizer, torch.optim.SGD)
    assert isinstance(schedule, torch.optim.lr_scheduler.MultiStepLR)
