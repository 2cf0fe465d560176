"""ELR's gradient with respect to the logits, checked with autograd against the GSS poster's row
for ELR (../shared/papers/000_e33fff63891c187f.txt, "The summarized gradient weight"):
``(p_k - q_k) + (sum_i p_i p^_i - p^_k) / (1 - sum_i p_i p^_i) theta p_k``.

The poster's ``p^`` is ELR's target estimate ``t`` and its ``theta`` is ``lambda``. The sign
agrees with the ELR paper's lemma on the regularizer's gradient,
``lambda p_k / (1 - <p, t>) sum_{j != k} (t_j - t_k) p_j``: the sum is ``<p, t> - t_k``. Both
hold where the authors' clamp of ``p`` to ``[1e-4, 1 - 1e-4]`` is inactive; where it is active
the clamped entries pass no gradient through the regularizer.
"""

import pytest
import torch
import torch.nn.functional as F

from ignoise.losses import clamped_probabilities, elr_loss, elr_regularizer

B, K = 16, 10


@pytest.fixture()
def logits_targets_estimates():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(B, K, generator=generator, dtype=torch.float64).requires_grad_(True)
    labels = torch.randint(0, K, (B,), generator=generator)
    # estimates as the table holds them: (1 - beta^n)-weighted averages of distributions
    raw = torch.rand(B, K, generator=generator, dtype=torch.float64) ** 3
    estimates = 0.9 * raw / raw.sum(dim=1, keepdim=True)
    return logits, labels, estimates


def poster_weight(p, q, t, lam):
    inner = (p * t).sum(dim=1, keepdim=True)
    return (p - q) + (inner - t) / (1 - inner) * lam * p


@pytest.mark.parametrize("lam", [3.0, 7.0, 0.0])
@pytest.mark.parametrize("clamp", [0.0, 1e-4])
def test_elr_gradient_is_the_posters_weight(logits_targets_estimates, lam, clamp):
    z, y, t = logits_targets_estimates
    p = z.detach().softmax(1)
    assert p.min() > 1e-4 and p.max() < 1 - 1e-4  # the clamp is inactive on these logits
    losses = elr_loss(z, y, t, lam=lam, clamp=clamp)
    assert losses.shape == (B,)
    (grad,) = torch.autograd.grad(losses.sum(), z)
    torch.testing.assert_close(grad, poster_weight(p, F.one_hot(y, K).double(), t, lam))


def test_the_paper_lemma_form_agrees(logits_targets_estimates):
    z, _, t = logits_targets_estimates
    p = z.detach().softmax(1)
    (grad,) = torch.autograd.grad(elr_regularizer(z, t).sum(), z)
    inner = (p * t).sum(dim=1, keepdim=True)
    # g_k = p_k / (1 - <p, t>) sum_{j != k} (t_j - t_k) p_j, the j = k term being zero
    lemma = p / (1 - inner) * ((t.unsqueeze(1) - t.unsqueeze(2)) * p.unsqueeze(1)).sum(dim=2)
    torch.testing.assert_close(grad, lemma)


def test_soft_labels_give_the_same_weight(logits_targets_estimates):
    """ELR+ trains toward mixed one-hot labels: ``q`` is then a distribution."""
    z, y, t = logits_targets_estimates
    q = 0.7 * F.one_hot(y, K).double() + 0.3 * F.one_hot(y.roll(1), K).double()
    (grad,) = torch.autograd.grad(elr_loss(z, q, t, lam=3.0).sum(), z)
    torch.testing.assert_close(grad, poster_weight(z.detach().softmax(1), q, t, 3.0))


def test_clamped_entries_pass_no_regularizer_gradient():
    z = torch.tensor([[10.0, 0.0, 0.0, 8.0]], dtype=torch.float64, requires_grad=True)
    t = torch.tensor([[0.2, 0.4, 0.3, 0.1]], dtype=torch.float64)
    p = z.detach().softmax(1)
    free = torch.tensor([[1.0, 0.0, 0.0, 1.0]], dtype=torch.float64)
    assert p[0, 1] < 1e-4 and p[0, 2] < 1e-4 and 1e-4 < p[0, 3] < p[0, 0] < 1 - 1e-4
    (grad,) = torch.autograd.grad(elr_regularizer(z, t).sum(), z)
    # only the free entries vary: d <p~, t> / dz = (free t) * p - <free t, p> p
    inner = (p.clamp(1e-4, 1 - 1e-4) * t).sum()
    d_inner = free * t * p - (free * t * p).sum() * p
    torch.testing.assert_close(grad, -d_inner / (1 - inner))


def test_value_and_the_clamped_probabilities():
    z, t = torch.zeros(2, 4), torch.tensor([[1.0, 0, 0, 0], [0.25, 0.25, 0.25, 0.25]])
    torch.testing.assert_close(elr_regularizer(z, t),
                               torch.log(torch.tensor([0.75, 0.75])))
    p = clamped_probabilities(torch.tensor([[30.0, 0.0, -30.0]]))
    torch.testing.assert_close(p.sum(dim=1), torch.ones(1))
    assert p.min() >= 1e-4 / (1 + 2e-4) and not p.requires_grad
