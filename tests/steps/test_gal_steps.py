"""GAL's composite steps: the warm-up standing for the pair, the pair plus C's distillation, and
the frozen pair of the ablation."""

import copy

import pytest
import torch
import torch.nn.functional as F
from accelerate import Accelerator

from ignoise.steps import (
    AgreementStep,
    DistillationStep,
    FrozenPairStep,
    PairAndDistillationStep,
    SupervisedStep,
    WarmupAsPairStep,
)

ACCELERATOR = Accelerator(cpu=True)
PAIR_KEYS = ("loss_a", "loss_b", "loss_c", "agreement_ratio", "agreement_ratio_tensors",
             "updated_ratio")


def half(seed: int, n: int = 8) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {"x": torch.randn(n, 4, generator=g), "y": torch.randint(0, 3, (n,), generator=g),
            "index": torch.arange(n)}


def paired(seed: int) -> dict:
    return {"a": half(2 * seed), "b": half(2 * seed + 1)}


def sgd(model: torch.nn.Module) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


def twins(n: int = 2, seed: int = 0) -> list[torch.nn.Module]:
    torch.manual_seed(seed)
    first = torch.nn.Linear(4, 3)
    return [first] + [copy.deepcopy(first) for _ in range(n - 1)]


def same_weights(m1: torch.nn.Module, m2: torch.nn.Module) -> bool:
    return all(torch.equal(p, q) for p, q in zip(m1.state_dict().values(),
                                                 m2.state_dict().values()))


def test_warm_up_reports_the_identical_pair():
    (net,) = twins(1)
    step = WarmupAsPairStep(SupervisedStep(net, sgd(net), ACCELERATOR), keys=("loss", *PAIR_KEYS))
    out = step(None, paired(0))
    loss = out["loss"]
    assert out["loss_a"] is loss and out["loss_b"] is loss and out["loss_c"] is loss
    for key in ("agreement_ratio", "agreement_ratio_tensors", "updated_ratio"):
        assert torch.equal(out[key], torch.ones(())) and out[key].device == loss.device
    assert set(out) == {"loss", "logits", "index", "y", *PAIR_KEYS}


def test_warm_up_adds_only_the_keys_asked_for():
    (net,) = twins(1)
    step = WarmupAsPairStep(SupervisedStep(net, sgd(net), ACCELERATOR),
                            keys=("loss", "loss_a", "loss_b", "updated_ratio"))
    out = step(None, paired(0))
    assert set(out) == {"loss", "logits", "index", "y", "loss_a", "loss_b", "updated_ratio"}
    with pytest.raises(ValueError, match="sequence of output names"):
        WarmupAsPairStep(step, keys="loss_a")


def test_warm_up_trains_like_a_plain_step_on_the_a_half():
    net, plain = twins(2)
    wrapped = WarmupAsPairStep(SupervisedStep(net, sgd(net), ACCELERATOR), keys=PAIR_KEYS)
    reference = SupervisedStep(plain, sgd(plain), ACCELERATOR)
    for seed in range(3):
        batch = paired(seed)
        out, ref = wrapped(None, batch), reference(None, batch["a"])
        assert torch.equal(out["loss"], ref["loss"]) and torch.equal(out["logits"], ref["logits"])
    assert same_weights(net, plain)
    out = wrapped(None, half(9))  # an unpaired batch is trained on as it is
    assert torch.equal(out["loss"], reference(None, half(9))["loss"])
    assert same_weights(net, plain)


def pair_and_c(seed: int = 0):
    a, b, c = twins(3, seed)
    pair = AgreementStep(a, b, sgd(a), sgd(b), ACCELERATOR, agreement_threshold=0.4)
    return (a, b, c), pair, DistillationStep(c, sgd(c), ACCELERATOR, teachers=[a, b],
                                             pseudo_label_threshold=0.3)


def test_pair_and_distillation_adds_c_to_the_pair():
    _, pair, distillation = pair_and_c()
    out = PairAndDistillationStep(pair, distillation)(None, paired(0))
    assert set(out) == {"loss", "loss_a", "loss_b", "agreement_ratio",
                        "agreement_ratio_tensors", "updated_ratio", "loss_c", "loss_kl",
                        "loss_pseudo", "confident_fraction"}
    assert torch.equal(out["loss"], out["loss_a"] + out["loss_b"] + out["loss_c"])
    assert torch.equal(out["loss_c"], out["loss_kl"] + out["loss_pseudo"])
    assert 0.0 <= float(out["confident_fraction"]) <= 1.0


def test_pair_and_distillation_equals_the_two_steps_run_by_hand():
    nets, pair, distillation = pair_and_c()
    step = PairAndDistillationStep(pair, distillation)
    ref_nets, ref_pair, ref_c = pair_and_c()  # the same networks, composed by hand
    for seed in range(3):
        batch = paired(seed)
        out = step(None, batch)
        pair_out, c_out = ref_pair(None, batch), ref_c(None, batch)
        assert torch.equal(out["loss"], pair_out["loss"] + c_out["loss"])
        assert torch.equal(out["agreement_ratio"], pair_out["agreement_ratio"])
        assert torch.equal(out["confident_fraction"], c_out["confident_fraction"])
    assert all(same_weights(m, r) for m, r in zip(nets, ref_nets))


class SmallNet(torch.nn.Module):
    """Linear plus batch norm, so that a forward pass in train mode would change a buffer."""

    def __init__(self) -> None:
        super().__init__()
        self.linear, self.norm = torch.nn.Linear(4, 3), torch.nn.BatchNorm1d(3)

    def forward(self, x):
        return self.norm(self.linear(x))


def test_frozen_pair_changes_nothing_and_reports_its_losses():
    torch.manual_seed(0)
    a, b = SmallNet(), SmallNet()
    a.train(), b.eval()
    before = [copy.deepcopy(m.state_dict()) for m in (a, b)]
    step = FrozenPairStep([a, b], ACCELERATOR)
    for seed in range(3):
        batch = paired(seed)
        out = step(None, batch)
    assert all(torch.equal(before[i][k], m.state_dict()[k])
               for i, m in enumerate((a, b)) for k in before[i])
    assert all(p.grad is None for m in (a, b) for p in m.parameters())
    assert a.training and not b.training  # modes restored
    a.eval()
    with torch.no_grad():
        loss_a = F.cross_entropy(a(batch["a"]["x"]), batch["a"]["y"])
        loss_b = F.cross_entropy(b(batch["b"]["x"]), batch["b"]["y"])
    torch.testing.assert_close(out["loss_a"], loss_a)
    torch.testing.assert_close(out["loss_b"], loss_b)
    assert torch.equal(out["loss"], out["loss_a"] + out["loss_b"])
    for key in ("agreement_ratio", "agreement_ratio_tensors", "updated_ratio"):
        assert torch.equal(out[key], torch.zeros(()))
    assert not any(v.requires_grad for v in out.values())


def test_frozen_pair_distils_c_without_moving_the_pair():
    a, b, c = twins(3)
    frozen_a, frozen_b = copy.deepcopy(a), copy.deepcopy(b)
    step = PairAndDistillationStep(
        FrozenPairStep([a, b], ACCELERATOR),
        DistillationStep(c, sgd(c), ACCELERATOR, teachers=[a, b], pseudo_label_threshold=0.3))
    c_before = copy.deepcopy(c)
    for seed in range(3):
        out = step(None, paired(seed))
    assert same_weights(a, frozen_a) and same_weights(b, frozen_b)
    assert not same_weights(c, c_before)
    assert torch.equal(out["loss"], out["loss_a"] + out["loss_b"] + out["loss_c"])


def test_frozen_pair_needs_two_networks():
    with pytest.raises(ValueError, match="two networks, got 1"):
        FrozenPairStep([torch.nn.Linear(2, 2)], ACCELERATOR)
