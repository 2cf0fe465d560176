"""Every step returns tensors only (docs/concepts.rst): detached, on the step's device, so a
handler can keep them without reading the device."""

from types import SimpleNamespace

import pytest
import torch
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

ACCELERATOR = Accelerator(cpu=True)


def half(seed: int, n: int = 8, views: int = 1) -> dict:
    g = torch.Generator().manual_seed(seed)
    out = {"x": torch.randn(n, 4, generator=g), "y": torch.randint(0, 3, (n,), generator=g),
           "index": torch.arange(seed * n, (seed + 1) * n)}
    if views == 2:
        out["x2"] = torch.randn(n, 4, generator=g)
    return out


def net() -> torch.nn.Module:
    return torch.nn.Linear(4, 3)


def sgd(model: torch.nn.Module) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


def engine(epoch: int, iteration: int = 1, epoch_length: int = 10) -> SimpleNamespace:
    return SimpleNamespace(state=SimpleNamespace(epoch=epoch, iteration=iteration,
                                                 epoch_length=epoch_length))


def dividemix() -> DivideMixStep:
    nets = [net(), net()]
    division = SimpleNamespace(clean_prob=torch.full((2, 32), 0.9), threshold=0.5)
    return DivideMixStep(nets, [sgd(n) for n in nets], ACCELERATOR, division=division,
                         num_classes=3, warmup_epochs=1, lambda_u=25.0)


def codivide_batch() -> dict:
    return {name: {"labeled": half(2 * k, 4, views=2), "unlabeled": half(2 * k + 1, 4, views=2)}
            for k, name in enumerate(("a", "b"))}


def gal_main() -> PairAndDistillationStep:
    a, b, c = net(), net(), net()
    return PairAndDistillationStep(AgreementStep(a, b, sgd(a), sgd(b), ACCELERATOR),
                                   DistillationStep(c, sgd(c), ACCELERATOR, teachers=[a, b]))


def supervised() -> SupervisedStep:
    model = net()
    return SupervisedStep(model, sgd(model), ACCELERATOR)


def agreement() -> AgreementStep:
    a, b = net(), net()
    return AgreementStep(a, b, sgd(a), sgd(b), ACCELERATOR)


def random_update() -> RandomUpdateStep:
    model = net()
    return RandomUpdateStep(model, sgd(model), ACCELERATOR, keep=0.5)


def distillation() -> DistillationStep:
    model = net()
    return DistillationStep(model, sgd(model), ACCELERATOR, teachers=[net(), net()])


def warmup_as_pair() -> WarmupAsPairStep:
    return WarmupAsPairStep(supervised(), ("loss_a", "loss_b", "loss_c", "agreement_ratio",
                                           "agreement_ratio_tensors", "updated_ratio"))


def frozen_pair() -> FrozenPairStep:
    return FrozenPairStep([net(), net()], ACCELERATOR)


def phased() -> PhasedStep:
    return PhasedStep(lambda epoch: "warmup" if epoch <= 1 else "main",
                      {"warmup": warmup_as_pair(), "main": gal_main()})


PAIRED = {"a": half(0), "b": half(1)}
#: step factory, batch, engine (its epoch selects DivideMix's and the phased step's phase)
CASES = {
    "supervised": (supervised, half(0), engine(1)),
    "agreement": (agreement, PAIRED, engine(1)),
    "random_update": (random_update, PAIRED, engine(1)),
    "distillation": (distillation, PAIRED, engine(1)),
    "dividemix_warmup": (dividemix, codivide_batch(), engine(1)),
    "dividemix_main": (dividemix, codivide_batch(), engine(10)),
    "warmup_as_pair": (warmup_as_pair, PAIRED, engine(1)),
    "pair_and_distillation": (gal_main, PAIRED, engine(1)),
    "frozen_pair": (frozen_pair, PAIRED, engine(1)),
    "phased_warmup": (phased, PAIRED, engine(1)),
    "phased_main": (phased, PAIRED, engine(2)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_every_output_is_a_detached_tensor_on_the_device(name):
    torch.manual_seed(0)
    make, batch, eng = CASES[name]
    out = make()(eng, batch)
    assert out and all(isinstance(v, torch.Tensor) for v in out.values()), {
        k: type(v) for k, v in out.items()}
    assert not any(v.requires_grad for v in out.values())
    assert all(v.device == ACCELERATOR.device for v in out.values())


def test_dividemix_reports_the_ramped_unlabeled_weight_as_a_tensor():
    torch.manual_seed(0)
    step = dividemix()
    warm = step(engine(1), codivide_batch())
    assert torch.equal(warm["unlabeled_weight"], torch.zeros(()))
    # epoch 10, first iteration: progress 9, (9 - 1) / 16 of the ramp-up: 25 * 0.5
    main = step(engine(10), codivide_batch())
    assert main["unlabeled_weight"].shape == () and float(main["unlabeled_weight"]) == 12.5
