"""Co-divide: the GMM on per-sample losses and the per-epoch division of the training set."""

from types import SimpleNamespace

import pytest
import torch

from ignoise.data import CoDivideBatchSampler
from ignoise.handlers import CoDivide, clean_probability


def test_clean_probability_separates_two_loss_populations():
    g = torch.Generator().manual_seed(0)
    clean = (0.1 + 0.05 * torch.randn(600, generator=g)).clamp(0, 1)
    noisy = (0.7 + 0.1 * torch.randn(400, generator=g)).clamp(0, 1)
    prob = clean_probability(torch.cat([clean, noisy]))
    assert (prob[:600] > 0.5).float().mean() > 0.98
    assert (prob[600:] < 0.5).float().mean() > 0.98
    assert torch.equal(prob, clean_probability(torch.cat([clean, noisy])))  # seeded
    assert torch.equal(clean_probability(torch.full((5,), 0.3)), torch.ones(5))


class LookupNet(torch.nn.Module):
    """Logits looked up by the sample id carried in ``x``: losses fully under the test's control."""

    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.table = torch.nn.Parameter(logits.clone())

    def forward(self, x):
        return self.table[x.long()]


def _loader(given, batch=64):
    n = len(given)
    return [{"x": torch.arange(i, min(i + batch, n)).float(), "y": given[i:i + batch],
             "index": torch.arange(i, min(i + batch, n))} for i in range(0, n, batch)]


def test_co_divide_gives_each_network_the_other_networks_division():
    n, k = 300, 4
    given = torch.arange(n) % k
    # Network 0 fits the first 200 samples' labels; network 1 the last 200.
    fits = [torch.arange(n) < 200, torch.arange(n) >= 100]
    nets = []
    for fit in fits:
        logits = torch.zeros(n, k)
        logits[torch.arange(n), given] = torch.where(fit, 6.0, -3.0)
        nets.append(LookupNet(logits))
    sampler = CoDivideBatchSampler(n, batch_size=8)
    divide = CoDivide(nets, _loader(given), num_samples=n, num_classes=k, warmup_epochs=2,
                      sampler=sampler)
    divide(SimpleNamespace(state=SimpleNamespace(epoch=2)))  # still warming up
    assert sampler.labeled is None and not divide.divided
    assert divide.kept({"index": torch.arange(5)}).all()  # screening keeps all until divided
    divide(SimpleNamespace(state=SimpleNamespace(epoch=3)))
    assert torch.equal(divide.labeled(0), fits[0])
    assert torch.equal(divide.labeled(1), fits[1])
    labeled_a, labeled_b = sampler.labeled
    assert torch.equal(labeled_a, fits[1]) and torch.equal(labeled_b, fits[0])
    expected = (nets[0].table.softmax(1) + nets[1].table.softmax(1)) / 2
    assert torch.allclose(divide.predictions, expected)
    batch = {"index": torch.tensor([0, 150, 250]), "y": given[torch.tensor([0, 150, 250])]}
    assert divide.kept(batch, 1).tolist() == [False, True, True]
    assert divide.screen(batch, 0).tolist() == [0, 2, -100]  # screened out: ignore_index
    summary = divide.summary(clean_targets=given, given_targets=given)
    assert summary["labeled_fraction_0"] == pytest.approx(200 / 300)
    assert summary["labeled_precision_0"] == 1.0

    restored = CoDivide(nets, _loader(given), num_samples=n, num_classes=k,
                        sampler=CoDivideBatchSampler(n, batch_size=8))
    restored.load_state_dict(divide.state_dict())
    assert torch.equal(restored.clean_prob, divide.clean_prob)
    assert torch.equal(restored.sampler.labeled[0], fits[1])


def test_loss_history_averages_normalized_losses_over_epochs():
    n, k = 100, 2
    given = torch.zeros(n, dtype=torch.long)
    net = LookupNet(torch.zeros(n, k))
    divide = CoDivide([net], _loader(given), num_samples=n, num_classes=k, loss_history=2)
    normalized = []
    for z in (torch.linspace(0, 5, n), torch.linspace(5, 0, n) ** 2):
        with torch.no_grad():
            net.table[:, 1] = z
        loss = torch.nn.functional.softplus(z)  # CE of logits (0, z) against class 0
        normalized.append((loss - loss.min()) / (loss.max() - loss.min()))
        divide.divide()
    assert len(divide.history) == 2
    mean = (normalized[0] + normalized[1]) / 2
    assert torch.allclose(torch.stack(divide.history).mean(0)[0], mean, atol=1e-6)
    assert torch.allclose(divide.clean_prob[0], clean_probability(mean), atol=1e-5)


def test_missing_samples_and_bad_arguments_fail_loudly():
    given = torch.zeros(10, dtype=torch.long)
    net = LookupNet(torch.zeros(10, 2))
    with pytest.raises(RuntimeError, match="2 of 10"):
        CoDivide([net], [_loader(given, 8)[0]],
                 num_samples=10, num_classes=2).divide()
    with pytest.raises(ValueError, match="threshold"):
        CoDivide([net], [], num_samples=10, num_classes=2, threshold=1.5)
    with pytest.raises(ValueError, match="two networks"):
        CoDivide([net], [], num_samples=10, num_classes=2, sampler=CoDivideBatchSampler(10, 2))
