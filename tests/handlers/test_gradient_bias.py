"""Gradient bias: the closed-form final-layer gradients against autograd, and what the probe
accumulates over epochs."""

from types import SimpleNamespace

import pytest
import torch

from ignoise.handlers import (
    GradientBias,
    final_layer_gradient,
    final_linear,
    given_label_distribution,
    gradient_deviation,
    screened_distribution,
)
from ignoise.losses import soft_cross_entropy


def _autograd_weight_grads(layer, features, targets):
    grads = []
    for h, q in zip(features, targets):
        layer.zero_grad()
        soft_cross_entropy(layer(h[None]), q[None]).sum().backward()
        grads.append(layer.weight.grad.clone())
    return torch.stack(grads)


def test_closed_form_final_layer_gradient_matches_autograd():
    torch.manual_seed(0)
    layer = torch.nn.Linear(5, 4)
    h = torch.randn(6, 5)
    q = torch.softmax(torch.randn(6, 4), dim=1)  # soft targets, as after refinement
    with torch.no_grad():
        closed = final_layer_gradient(layer(h), q, h)
    assert torch.allclose(closed, _autograd_weight_grads(layer, h, q), atol=1e-6)


def test_deviation_is_used_minus_clean_gradient():
    torch.manual_seed(1)
    layer = torch.nn.Linear(3, 5)
    h, clean = torch.randn(4, 3), torch.tensor([0, 1, 2, 3])
    used = torch.eye(5)[torch.tensor([4, 1, 0, 2])] * 0.7 + 0.06  # rows sum to one
    expected = (_autograd_weight_grads(layer, h, used)
                - _autograd_weight_grads(layer, h, torch.eye(5)[clean]))
    assert torch.allclose(gradient_deviation(used, clean, h), expected, atol=1e-6)
    assert torch.count_nonzero(gradient_deviation(torch.eye(5)[clean], clean, h)) == 0


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Linear(2, 3)
        self.head = torch.nn.Linear(3, 3)

    def forward(self, x):
        return self.head(torch.relu(self.body(x)))


def _probe(targets, lr=0.1):
    torch.manual_seed(0)
    n = 8
    clean = torch.arange(n) % 3
    given = torch.where(torch.arange(n) < 4, (clean + 1) % 3, clean)  # first 4 mislabeled
    x = torch.randn(n, 2)
    loader = [{"x": x[i:i + 3], "y": given[i:i + 3], "y_clean": clean[i:i + 3],
               "index": torch.arange(i, min(i + 3, n))} for i in range(0, n, 3)]
    net = Net()
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    probe = GradientBias(net, loader, targets, optimizer=optimizer, given_targets=given,
                         clean_targets=clean)
    return probe, net, optimizer, x, given, clean


def test_probe_accumulates_lr_weighted_deviations_of_mislabeled_samples():
    probe, net, optimizer, x, given, clean = _probe(given_label_distribution)
    assert probe.tracked.tolist() == [0, 1, 2, 3]
    assert final_linear(net) is net.head
    h = torch.relu(net.body(x[:4])).detach()
    one = gradient_deviation(torch.eye(3)[given[:4]], clean[:4], h)
    probe(SimpleNamespace(state=SimpleNamespace(epoch=1)))
    optimizer.param_groups[0]["lr"] = 0.01
    probe(SimpleNamespace(state=SimpleNamespace(epoch=2)))
    assert torch.allclose(probe.accumulated, 0.11 * one, atol=1e-6)
    norms = (0.11 * one).flatten(1).norm(dim=1)
    assert probe.rows[-1]["bias"] == pytest.approx(float(norms.mean()), rel=1e-5)
    assert probe.rows[-1]["consistency"] == pytest.approx(1.0, abs=1e-6)  # CE never switches
    assert probe.rows[-1]["aggregate_bias"] == pytest.approx(
        float((0.11 * one).sum(0).norm() / 4), rel=1e-5)
    restored, *_ = _probe(given_label_distribution)
    restored.load_state_dict(probe.state_dict())
    assert torch.equal(restored.accumulated, probe.accumulated) and restored.rows == probe.rows


def test_switching_directions_cancel_and_screened_samples_train_toward_their_prediction():
    def rotating(engine, batch, logits):  # epoch 1: class y + 2, epoch 2: class y + 1
        return torch.eye(3)[(batch["y_clean"] + 1 + engine.state.epoch % 2) % 3]

    probe, *_ = _probe(rotating)
    for epoch in (1, 2):
        probe(SimpleNamespace(state=SimpleNamespace(epoch=epoch)))
    # Same features both epochs: |2 e_y - e_y+1 - e_y+2| / (|e_y - e_y+2| + |e_y - e_y+1|)
    assert probe.rows[1]["consistency"] == pytest.approx(3 ** 0.5 / 2, rel=1e-5)

    drop_all = screened_distribution(lambda b: torch.zeros_like(b["index"], dtype=torch.bool))
    probe, net, _, x, given, clean = _probe(drop_all)
    probe(SimpleNamespace(state=SimpleNamespace(epoch=1)))
    with torch.no_grad():
        h = torch.relu(net.body(x[:4]))
        p = net.head(h).softmax(1)
    # a dropped sample misses its whole clean gradient: deviation (e_y - p) h^T
    assert torch.allclose(probe.accumulated, 0.1 * gradient_deviation(p, clean[:4], h), atol=1e-6)


def test_probe_needs_clean_labels_and_noise():
    net = Net()
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="clean labels"):
        GradientBias(net, [], given_label_distribution, optimizer=opt,
                     given_targets=[0, 1], clean_targets=None)
    with pytest.raises(ValueError, match="no mislabeled"):
        GradientBias(net, [], given_label_distribution, optimizer=opt,
                     given_targets=[0, 1], clean_targets=[0, 1])
