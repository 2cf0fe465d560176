"""The f-div loss (Wei & Liu, ICLR 2021) against a plain reference: each divergence's ``g`` and
``f*`` written separately as in the f-div paper's Table 1 (and the authors' code,
github.com/UCSC-REAL/Robust-f-divergence-measures), composed per sample in a Python loop; the
gradient with respect to the logits; and the product-of-marginals pairing."""

import math

import pytest
import torch

from ignoise.losses import DIVERGENCES, FDivergenceLoss, f_divergence_terms, product_partners

B, K = 12, 5

#: name -> (g, f*), separately, on Python floats.
REFERENCE = {
    "total_variation": (lambda v: math.tanh(v) / 2, lambda t: t),
    "jensen_shannon": (lambda v: math.log(2) - math.log(1 + math.exp(-v)),
                       lambda t: -math.log(2 - math.exp(t))),
    "pearson": (lambda v: v, lambda t: t * t / 4 + t),
    "kl": (lambda v: v, lambda t: math.exp(t - 1)),
    "jeffrey": (lambda v: v, lambda t: t + t * t / 4 + t ** 3 / 16),
    "reverse_kl": (lambda v: -math.exp(v), lambda t: -1 - math.log(-t)),
    "squared_hellinger": (lambda v: 1 - math.exp(v), lambda t: t / (1 - t)),
}


@pytest.fixture()
def batch():
    g = torch.Generator().manual_seed(0)
    logits = 2 * torch.randn(B, K, generator=g, dtype=torch.float64)
    targets = torch.randint(0, K, (B,), generator=g)
    partners = product_partners(B, generator=g)
    return logits, targets, targets[partners]


def reference_losses(logits, targets, partner_targets, divergence):
    """Per sample ``-g(p_y) + f*(g(p_y'))`` with a loop over the batch."""
    g, conjugate = REFERENCE[divergence]
    out = []
    for z, y, y2 in zip(logits.tolist(), targets.tolist(), partner_targets.tolist()):
        e = [math.exp(v - max(z)) for v in z]
        p = [v / sum(e) for v in e]
        out.append(-g(p[y]) + conjugate(g(p[y2])))
    return torch.tensor(out, dtype=torch.float64)


def test_the_reference_covers_every_divergence():
    assert set(REFERENCE) == set(DIVERGENCES)


@pytest.mark.parametrize("divergence", list(REFERENCE))
def test_terms_equal_g_and_the_conjugate_of_g(batch, divergence):
    logits, targets, partner_targets = batch
    joint, product = f_divergence_terms(logits, targets, partner_targets, divergence)
    torch.testing.assert_close(joint + product,
                               reference_losses(logits, targets, partner_targets, divergence))
    # the joint term alone: -g(p_y)
    g = REFERENCE[divergence][0]
    p_y = logits.softmax(1).gather(1, targets[:, None]).squeeze(1)
    torch.testing.assert_close(joint, torch.tensor([-g(v) for v in p_y.tolist()],
                                                   dtype=torch.float64))


def test_the_batch_mean_is_the_authors_objective(batch):
    """runner.py: loss = activation(p_y) - conjugate(p_y') with activation(x) = -mean(tanh(x)/2)
    and conjugate(x) = -mean(tanh(x)/2) for total variation."""
    logits, targets, partner_targets = batch
    p = logits.softmax(1)
    p_y, p_y2 = p.gather(1, targets[:, None]), p.gather(1, partner_targets[:, None])
    authors = -torch.mean(torch.tanh(p_y) / 2) + torch.mean(torch.tanh(p_y2) / 2)
    joint, product = f_divergence_terms(logits, targets, partner_targets, "total_variation")
    torch.testing.assert_close((joint + product).mean(), authors)


@pytest.mark.parametrize("divergence", list(REFERENCE))
def test_gradient_matches_the_reference(batch, divergence):
    logits, targets, partner_targets = batch
    z1 = logits.clone().requires_grad_(True)
    joint, product = f_divergence_terms(z1, targets, partner_targets, divergence)
    (grad,) = torch.autograd.grad((joint + product).sum(), z1)

    # the reference through autograd on plain tensor formulas, sample by sample
    g_ref, conj_ref = REFERENCE[divergence]
    z2 = logits.clone().requires_grad_(True)
    total = 0
    for i in range(B):
        p = torch.softmax(z2[i], 0)
        v, v2 = p[targets[i]], p[partner_targets[i]]
        g = {"total_variation": lambda x: torch.tanh(x) / 2,
             "jensen_shannon": lambda x: math.log(2) - torch.log1p(torch.exp(-x)),
             "reverse_kl": lambda x: -torch.exp(x),
             "squared_hellinger": lambda x: 1 - torch.exp(x)}.get(divergence, lambda x: x)
        conj = {"total_variation": lambda t: t,
                "jensen_shannon": lambda t: -torch.log(2 - torch.exp(t)),
                "pearson": lambda t: t * t / 4 + t, "kl": lambda t: torch.exp(t - 1),
                "jeffrey": lambda t: t + t * t / 4 + t ** 3 / 16,
                "reverse_kl": lambda t: -1 - torch.log(-t),
                "squared_hellinger": lambda t: t / (1 - t)}[divergence]
        v_, v2_ = v.detach(), v2.detach()
        assert float(g(v_)) == pytest.approx(g_ref(float(v_)))
        assert float(conj(g(v2_))) == pytest.approx(conj_ref(g_ref(float(v2_))))
        total = total + (-g(v) + conj(g(v2)))
    (expected,) = torch.autograd.grad(total, z2)
    torch.testing.assert_close(grad, expected)


def test_total_variation_gradient_formula(batch):
    """d/dz_k [-tanh(p_y)/2 + tanh(p_y')/2]
    = -(1 - tanh^2 p_y)/2 p_y (1[k = y] - p_k) + (1 - tanh^2 p_y')/2 p_y' (1[k = y'] - p_k)."""
    logits, targets, partner_targets = batch
    z = logits.clone().requires_grad_(True)
    joint, product = f_divergence_terms(z, targets, partner_targets, "total_variation")
    (grad,) = torch.autograd.grad((joint + product).sum(), z)
    p = logits.softmax(1)
    onehot = torch.nn.functional.one_hot(targets, K).double()
    onehot2 = torch.nn.functional.one_hot(partner_targets, K).double()
    p_y, p_y2 = (p * onehot).sum(1, keepdim=True), (p * onehot2).sum(1, keepdim=True)
    expected = (-(1 - torch.tanh(p_y) ** 2) / 2 * p_y * (onehot - p)
                + (1 - torch.tanh(p_y2) ** 2) / 2 * p_y2 * (onehot2 - p))
    torch.testing.assert_close(grad, expected)


@pytest.mark.parametrize("size", [2, 3, 7, 64])
def test_partners_form_one_cycle_without_fixed_points(size):
    partners = product_partners(size, generator=torch.Generator().manual_seed(size))
    assert sorted(partners.tolist()) == list(range(size))
    # following the partners from 0 visits every sample once before returning
    seen, i = [], 0
    for _ in range(size):
        seen.append(i)
        i = int(partners[i])
    assert i == 0 and sorted(seen) == list(range(size))


def test_every_other_sample_is_an_equally_likely_partner():
    g = torch.Generator().manual_seed(0)
    counts = torch.zeros(4, 4)
    for _ in range(3000):
        partners = product_partners(4, generator=g)
        counts[torch.arange(4), partners] += 1
    assert counts.diagonal().sum() == 0
    off = counts[~torch.eye(4, dtype=torch.bool)] / 3000
    assert torch.allclose(off, torch.full_like(off, 1 / 3), atol=0.04)


def test_the_loss_pairs_each_input_with_a_partners_label():
    targets = torch.tensor([0, 1, 2, 3, 4, 0])
    loss = FDivergenceLoss("total_variation", num_classes=K, seed=3)
    drawn = loss.partner_targets(targets)
    partners = product_partners(6, generator=torch.Generator().manual_seed(3))
    assert torch.equal(drawn, targets[partners])
    # per sample: joint term on its own label, product term on its partner's
    logits = torch.randn(6, K, dtype=torch.float64)
    again = FDivergenceLoss("total_variation", num_classes=K, seed=3)
    torch.testing.assert_close(again(logits, targets),
                               reference_losses(logits, targets, drawn, "total_variation"))


@pytest.mark.parametrize("product_labels", ["permuted", "uniform"])
def test_a_restored_loss_draws_what_the_original_would(product_labels):
    targets = torch.randint(0, K, (32,), generator=torch.Generator().manual_seed(1))
    loss = FDivergenceLoss("kl", num_classes=K, product_labels=product_labels, seed=7)
    loss.partner_targets(targets)
    state = loss.state_dict()
    expected = loss.partner_targets(targets)
    restored = FDivergenceLoss("kl", num_classes=K, product_labels=product_labels, seed=0)
    restored.load_state_dict(state)
    assert torch.equal(restored.partner_targets(targets), expected)
    if product_labels == "uniform":
        assert 0 <= int(expected.min()) and int(expected.max()) < K


def test_unknown_settings_are_refused():
    with pytest.raises(ValueError, match="unknown divergence 'tv'"):
        FDivergenceLoss("tv", num_classes=K)
    with pytest.raises(ValueError, match="product_labels"):
        FDivergenceLoss(num_classes=K, product_labels="shuffled")
