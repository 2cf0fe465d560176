"""Co-learning's loss terms against plain references: NT-Xent (SimCLR eq. 1, one anchor at a
time, as the authors' ``losses/loss_ntxent.py`` arranges the 2B representations), the structural
similarity (``losses/loss_structrue.py``: -mean(P log(Q + eps)) with P, Q = exp(-squared
distance)), and one CoLearningStep update against the sum of the references."""

import copy
import math

import pytest
import torch
import torch.nn.functional as F
from accelerate import Accelerator

from ignoise.losses import nt_xent, pairwise_gaussian_similarity, structural_similarity
from ignoise.models import DigitsCNN
from ignoise.steps import CoLearningNetwork, CoLearningStep, mixup

B, D = 7, 5


def _features(seed: int, rows: int = B, cols: int = D) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(rows, cols, generator=g, dtype=torch.float64)


def _nt_xent_loop(z1, z2, t):
    """The mean over the 2B anchors of -log(exp(cos(a, positive)/t) / sum_{k != a} ...)."""
    reps = list(torch.cat([z1, z2]))
    n = len(reps) // 2
    total = 0.0
    for a in range(2 * n):
        positive = (a + n) % (2 * n)
        cos = [F.cosine_similarity(reps[a], reps[k], dim=0) / t for k in range(2 * n)]
        denominator = sum(torch.exp(cos[k]) for k in range(2 * n) if k != a)
        total = total - torch.log(torch.exp(cos[positive]) / denominator)
    return total / (2 * n)


def _structural_loop(reference, features, eps=1e-12):
    n = len(features)
    total = 0.0
    for i in range(n):
        for j in range(n):
            p_d = max(float(((reference[i] - reference[j]) ** 2).sum()), eps) if i != j else eps
            q_d = ((features[i] - features[j]) ** 2).sum().clamp_min(eps) if i != j else eps
            total = total - math.exp(-p_d) * torch.log(torch.exp(-torch.as_tensor(q_d)) + eps)
    return total / (n * n)


@pytest.mark.parametrize("temperature", [0.5, 0.1])
def test_nt_xent_and_its_gradient_equal_the_anchor_loop(temperature):
    z1, z2 = _features(0).requires_grad_(True), _features(1).requires_grad_(True)
    per_sample = nt_xent(z1, z2, temperature)
    assert per_sample.shape == (B,)
    reference = _nt_xent_loop(z1, z2, temperature)
    torch.testing.assert_close(per_sample.mean().double(), reference, rtol=1e-5, atol=1e-6)
    ours = torch.autograd.grad(per_sample.mean(), (z1, z2))
    theirs = torch.autograd.grad(reference, (z1, z2))
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_nt_xent_is_scale_invariant_and_low_when_views_agree():
    z = _features(2)
    torch.testing.assert_close(nt_xent(z, z), nt_xent(3 * z, z))
    assert nt_xent(z, z).mean() < nt_xent(z, _features(3)).mean()


def test_pairwise_similarity_is_exp_of_minus_squared_distance():
    f = _features(4)
    expected = torch.exp(-torch.cdist(f, f).pow(2)).float()
    expected.fill_diagonal_(math.exp(-1e-12))
    torch.testing.assert_close(pairwise_gaussian_similarity(f), expected, rtol=1e-5, atol=1e-6)


def test_structural_similarity_and_its_gradient_equal_the_pair_loop():
    # Small features so that the kernel is not 0 everywhere (the loss then has a gradient).
    reference = (0.3 * _features(5)).requires_grad_(True)
    features = (0.3 * _features(6, cols=4)).requires_grad_(True)
    per_sample = structural_similarity(reference, features)
    assert per_sample.shape == (B,)
    expected = _structural_loop(reference.detach(), features)
    torch.testing.assert_close(per_sample.mean().double(), expected, rtol=1e-5, atol=1e-7)
    (ours,) = torch.autograd.grad(per_sample.mean(), features)
    (theirs,) = torch.autograd.grad(expected, features)
    torch.testing.assert_close(ours.double(), theirs, rtol=1e-4, atol=1e-7)
    assert ours.abs().sum() > 0
    # the projection side is a target: no gradient flows into it
    assert torch.autograd.grad(per_sample.mean(), reference, allow_unused=True)[0] is None


def test_the_structural_loss_trains_the_classifier_only():
    torch.manual_seed(0)
    net = CoLearningNetwork(DigitsCNN(), projection_dim=8)
    logits, projections, classifier_only = net(torch.randn(6, 1, 8, 8), heads=True)
    structural_similarity(projections, classifier_only).mean().backward()
    trained = {name for name, p in net.named_parameters() if p.grad is not None}
    assert trained == {"backbone.linear.weight", "backbone.linear.bias"}
    torch.testing.assert_close(logits, classifier_only)


@pytest.mark.parametrize("mixup_alpha", [0.0, 5.0])
def test_one_step_descends_the_sum_of_the_reference_losses(mixup_alpha):
    torch.manual_seed(1)
    net = CoLearningNetwork(DigitsCNN(), projection_dim=8).double()
    reference = copy.deepcopy(net)
    g = torch.Generator().manual_seed(2)
    batch = {"x": torch.randn(6, 1, 8, 8, generator=g, dtype=torch.float64),
             "x2": torch.randn(6, 1, 8, 8, generator=g, dtype=torch.float64),
             "y": torch.randint(0, 10, (6,), generator=g), "index": torch.arange(6)}
    lr, w_c, w_s = 0.1, 0.7, 2.0
    step = CoLearningStep(net, torch.optim.SGD(net.parameters(), lr), Accelerator(cpu=True),
                          num_classes=10, mixup_alpha=mixup_alpha, contrastive_weight=w_c,
                          structure_weight=w_s)
    torch.manual_seed(3)  # the step's mixup draws
    out = step(None, batch)

    torch.manual_seed(3)
    x, x2, y = batch["x"], batch["x2"], batch["y"]
    if mixup_alpha > 0:
        mixed, targets, _ = mixup(x, F.one_hot(y, 10).double(), mixup_alpha)
        inputs = torch.cat([x, x2, mixed])
    else:
        inputs = torch.cat([x, x2])
    reference.train()
    h = reference.encode(inputs)  # one forward: batch norm over every row, as the step
    logits, z = reference.classifier(h), reference.projection(h)
    if mixup_alpha > 0:
        supervised = -(targets * logits[12:].log_softmax(1)).sum(1).mean()
    else:
        supervised = F.cross_entropy(logits[:6], y)
    contrastive = _nt_xent_loop(z[:6], z[6:12], 0.5)
    structural = _structural_loop(z[:6].detach(), reference.classifier(h[:6].detach()))
    loss = supervised + w_c * contrastive + w_s * structural
    for key, value in (("supervised_loss", supervised), ("contrastive_loss", contrastive),
                       ("structural_loss", structural)):
        torch.testing.assert_close(out[key].double(), value.detach().double(), rtol=1e-5,
                                   atol=1e-6)
    grads = torch.autograd.grad(loss, list(reference.parameters()))
    with torch.no_grad():
        for p, grad in zip(reference.parameters(), grads):
            p -= lr * grad
    for p, q in zip(net.parameters(), reference.parameters()):  # the step's losses are float32
        torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-6)


def test_the_step_asks_for_two_views():
    net = CoLearningNetwork(DigitsCNN(), projection_dim=8)
    step = CoLearningStep(net, torch.optim.SGD(net.parameters(), 0.1), Accelerator(cpu=True),
                          num_classes=10)
    with pytest.raises(KeyError, match="two views"):
        step(None, {"x": torch.randn(4, 1, 8, 8), "y": torch.zeros(4, dtype=torch.long),
                    "index": torch.arange(4)})


def test_the_network_wraps_torchvision_resnets_and_refuses_others():
    from ignoise.models import resnet

    net = CoLearningNetwork(resnet(34, num_classes=5), projection_dim=16)
    logits, z, _ = net(torch.zeros(2, 3, 32, 32), heads=True)
    assert logits.shape == (2, 5) and z.shape == (2, 16)
    with pytest.raises(TypeError, match="needs a network with a features"):
        CoLearningNetwork(torch.nn.Sequential(torch.nn.Linear(3, 3)))
