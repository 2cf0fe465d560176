"""The loss baselines' gradients with respect to the logits, checked with autograd against the
GSS poster's table of gradient weights (../shared/papers/000_e33fff63891c187f.txt, "The
summarized gradient weight"): CE ``p_k - q_k``, GCE ``p_y^q (p_k - q_k)``, SL
``(alpha + beta A p_y)(p_k - q_k)``; and label smoothing against a plain reference.

SL: the poster writes ``+ beta A p_y``; differentiating ``alpha CE - beta A (1 - p_y)`` gives
``(alpha - beta A p_y)(p_k - q_k)``. With the SCE paper's A = log 0 := -4 < 0 the two agree only
if the poster's A is ``|log 0|``; the test pins the derivation (and checks that reading).
"""

import math

import pytest
import torch
import torch.nn.functional as F

from ignoise.losses import (
    generalized_cross_entropy,
    label_smoothed_cross_entropy,
    reverse_cross_entropy,
    symmetric_cross_entropy,
)

B, K = 16, 10


@pytest.fixture()
def logits_and_targets():
    generator = torch.Generator().manual_seed(0)
    logits = (3 * torch.randn(B, K, generator=generator, dtype=torch.float64))
    return logits.requires_grad_(True), torch.randint(0, K, (B,), generator=generator)


def grad_of(loss_fn, logits, targets):
    """Per-sample gradients: each sample's loss depends only on its own row of logits."""
    losses = loss_fn(logits, targets)
    assert losses.shape == (B,)
    (grad,) = torch.autograd.grad(losses.sum(), logits)
    return grad


def probs_and_onehot(logits, targets):
    p = logits.detach().softmax(1)
    return p, F.one_hot(targets, K).double(), p.gather(1, targets[:, None])


def test_cross_entropy_weight(logits_and_targets):
    z, y = logits_and_targets
    p, q, _ = probs_and_onehot(z, y)
    grad = grad_of(lambda a, b: F.cross_entropy(a, b, reduction="none"), z, y)
    torch.testing.assert_close(grad, p - q)


@pytest.mark.parametrize("exponent", [0.7, 0.3, 1.0])
def test_gce_weight_is_p_y_to_the_q(logits_and_targets, exponent):
    z, y = logits_and_targets
    p, q, p_y = probs_and_onehot(z, y)
    grad = grad_of(lambda a, b: generalized_cross_entropy(a, b, q=exponent), z, y)
    torch.testing.assert_close(grad, p_y ** exponent * (p - q))


def test_gce_value_is_the_lq_loss(logits_and_targets):
    z, y = logits_and_targets
    _, _, p_y = probs_and_onehot(z, y)
    torch.testing.assert_close(generalized_cross_entropy(z, y, q=0.7).detach(),
                               ((1 - p_y ** 0.7) / 0.7).squeeze(1))


@pytest.mark.parametrize("alpha, beta, log_zero", [(0.1, 1.0, -4.0), (6.0, 0.1, -4.0),
                                                   (1.0, 1.0, math.log(1e-4))])
def test_sce_weight_follows_the_derivation(logits_and_targets, alpha, beta, log_zero):
    z, y = logits_and_targets
    p, q, p_y = probs_and_onehot(z, y)
    loss = lambda a, b: symmetric_cross_entropy(a, b, alpha=alpha, beta=beta, log_zero=log_zero)
    grad = grad_of(loss, z, y)
    torch.testing.assert_close(grad, (alpha - beta * log_zero * p_y) * (p - q))
    # the poster's form, reading its A as |log 0|
    torch.testing.assert_close(grad, (alpha + beta * abs(log_zero) * p_y) * (p - q))


def test_rce_is_the_reverse_cross_entropy_of_a_clipped_one_hot(logits_and_targets):
    z, y = logits_and_targets
    p, q, _ = probs_and_onehot(z, y)
    log_q = torch.where(q > 0, 0.0, -4.0)  # log 0 := A = -4
    torch.testing.assert_close(reverse_cross_entropy(z, y, log_zero=-4.0).detach(),
                               -(p * log_q).sum(1))


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.4])
def test_label_smoothing_against_a_plain_reference(logits_and_targets, eps):
    z, y = logits_and_targets
    log_p = torch.log_softmax(z.detach(), 1)
    smoothed = (1 - eps) * F.one_hot(y, K).double() + eps / K
    reference = -(smoothed * log_p).sum(1)
    torch.testing.assert_close(label_smoothed_cross_entropy(z, y, smoothing=eps).detach(),
                               reference)
    grad = grad_of(lambda a, b: label_smoothed_cross_entropy(a, b, smoothing=eps), z, y)
    torch.testing.assert_close(grad, log_p.exp() - smoothed)
