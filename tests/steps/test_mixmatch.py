"""MixMatch pieces and losses against hand computations, and the DivideMix step's targets."""

from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from accelerate import Accelerator

from ignoise.losses import (
    confidence_penalty,
    probability_mse,
    screened_cross_entropy,
    soft_cross_entropy,
    uniform_prior_penalty,
)
from ignoise.steps import DivideMixStep, co_guess, linear_rampup, mixup, refine_labels, sharpen


def test_sharpen_by_hand():
    p = torch.tensor([[0.6, 0.3, 0.1]])
    squared = torch.tensor([0.36, 0.09, 0.01])
    assert torch.allclose(sharpen(p, 0.5), (squared / squared.sum())[None])
    assert torch.allclose(sharpen(p, 1.0), p)


def test_label_refinement_and_co_guessing_by_hand():
    y = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    p = torch.tensor([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])
    w = torch.tensor([0.9, 0.25])
    refined = refine_labels(y, p, w)
    assert torch.allclose(refined[0], torch.tensor([0.02, 0.95, 0.03]))
    assert torch.allclose(refined[1], torch.tensor([0.325, 0.075, 0.6]))
    a, b, c, d = (torch.tensor([[v, 1 - v]]) for v in (0.9, 0.7, 0.4, 0.2))
    assert torch.allclose(co_guess(a, b, c, d), torch.tensor([[0.55, 0.45]]))


def test_mixup_by_hand_and_drawn_weight_keeps_the_own_sample_dominant():
    x = torch.tensor([[1.0, 0.0], [0.0, 2.0], [4.0, 4.0]])
    q = torch.eye(3)
    mixed_x, mixed_q, lam = mixup(x, q, 4.0, lam=torch.tensor(0.8), perm=torch.tensor([2, 0, 1]))
    assert torch.allclose(mixed_x[0], 0.8 * x[0] + 0.2 * x[2])
    assert torch.allclose(mixed_q[1], torch.tensor([0.2, 0.8, 0.0]))
    torch.manual_seed(0)
    lams = torch.stack([mixup(x, q, 0.5)[2] for _ in range(200)])
    assert bool((lams >= 0.5).all() and (lams <= 1.0).all())
    assert torch.allclose(mixup(x, q, 4.0)[1].sum(1), torch.ones(3))


def test_rampup_and_losses_by_hand():
    ramp = [linear_rampup(p, 10, 16) for p in (5.0, 10.0, 14.0, 26.0, 40.0)]
    assert ramp == [0.0, 0.0, 0.25, 1.0, 1.0]
    logits = torch.tensor([[1.0, 2.0, 0.5]])
    q = torch.tensor([[0.2, 0.5, 0.3]])
    expected = F.cross_entropy(logits, q, reduction="none")
    assert torch.allclose(soft_cross_entropy(logits, q), expected)
    p = logits.softmax(1)
    assert torch.allclose(probability_mse(logits, q), ((p - q) ** 2).mean(1))
    batch = torch.tensor([[2.0, 0.0], [0.0, 0.0]])
    mean = batch.softmax(1).mean(0)
    kl = (0.5 * torch.log(0.5 / mean)).sum()
    assert torch.allclose(uniform_prior_penalty(batch), kl)
    entropy = -(p * p.log()).sum()
    assert torch.allclose(confidence_penalty(logits), -entropy)
    z, y = torch.tensor([[2.0, 0.0], [0.0, 1.0], [5.0, 0.0]]), torch.tensor([0, -100, 1])
    kept_mean = (F.cross_entropy(z[0:1], y[0:1]) + F.cross_entropy(z[2:], y[2:])) / 2
    assert torch.allclose(screened_cross_entropy(z, y).mean(), kept_mean)
    assert screened_cross_entropy(z, y)[1] == 0


def _part(start, n=4, k=3):
    g = torch.Generator().manual_seed(start)
    return {"x": torch.randn(n, 5, generator=g), "x2": torch.randn(n, 5, generator=g),
            "y": torch.arange(start, start + n) % k, "index": torch.arange(start, start + n)}


def _step(**kwargs):
    torch.manual_seed(0)
    nets = [torch.nn.Linear(5, 3), torch.nn.Linear(5, 3)]
    opts = [torch.optim.SGD(n.parameters(), lr=0.5) for n in nets]
    division = SimpleNamespace(clean_prob=torch.linspace(0, 1, 16).repeat(2, 1), threshold=0.5)
    step = DivideMixStep(nets, opts, Accelerator(cpu=True), division=division, num_classes=3,
                         warmup_epochs=1, lambda_u=25.0, temperature=0.5, **kwargs)
    return step, nets, division


def _engine(epoch, iteration=1, length=4):
    state = SimpleNamespace(epoch=epoch, iteration=iteration, epoch_length=length)
    return SimpleNamespace(state=state)


def test_warmup_is_cross_entropy_on_both_halves_and_mixmatch_updates_both_networks():
    step, nets, _ = _step()
    batch = {name: {"labeled": _part(0), "unlabeled": _part(4)} for name in ("a", "b")}
    joined = torch.cat([batch["a"]["labeled"]["x"], batch["a"]["unlabeled"]["x"]])
    y = torch.cat([batch["a"]["labeled"]["y"], batch["a"]["unlabeled"]["y"]])
    with torch.no_grad():
        expected = (F.cross_entropy(nets[0](joined), y) + F.cross_entropy(nets[1](joined), y)) / 2
    out = step(_engine(1), batch)
    assert torch.allclose(out["loss"], expected) and float(out["unlabeled_weight"]) == 0.0
    before = [n.weight.detach().clone() for n in nets]
    out = step(_engine(2, iteration=8, length=4), batch)  # 4th of 4 iterations: ramp 0.75/16
    assert float(out["unlabeled_weight"]) == pytest.approx(25.0 * 0.75 / 16)
    assert all(not torch.equal(b, n.weight) for b, n in zip(before, nets))


def test_target_distribution_refines_labeled_and_co_guesses_unlabeled_samples():
    step, nets, division = _step()
    batch = _part(6, n=8)  # indices 6..13: clean_prob of net B crosses 0.5 inside
    logits = nets[0](batch["x"]).detach()
    q = step.target_distribution(_engine(2), batch, logits)
    p_a, p_b = logits.softmax(1), nets[1](batch["x"]).detach().softmax(1)
    w = division.clean_prob[1][batch["index"]]
    for i in range(8):
        if w[i] > 0.5:
            y = torch.eye(3)[batch["y"][i]][None]
            expected = sharpen(refine_labels(y, p_a[i][None], w[i][None]), 0.5)
        else:
            expected = sharpen(((p_a[i] + p_b[i]) / 2)[None], 0.5)
        assert torch.allclose(q[i], expected[0], atol=1e-6)
    warm = step.target_distribution(_engine(1), batch, logits)
    assert torch.equal(warm, torch.eye(3)[batch["y"]])


def test_switched_targets_replace_the_given_labels_where_asked():
    drawn = lambda batch: (batch["y"] + 1) % 3
    step, nets, division = _step(targets=drawn, switched=("warmup", "unlabeled"))
    batch = _part(6, n=8)
    logits = nets[0](batch["x"]).detach()
    warm = step.target_distribution(_engine(1), batch, logits)
    assert torch.equal(warm, torch.eye(3)[drawn(batch)])
    q = step.target_distribution(_engine(2), batch, logits)
    unlabeled = division.clean_prob[1][batch["index"]] <= 0.5
    assert torch.equal(q[unlabeled], torch.eye(3)[drawn(batch)][unlabeled])
    with pytest.raises(ValueError, match="unknown switched"):
        _step(targets=drawn, switched=("everything",))
