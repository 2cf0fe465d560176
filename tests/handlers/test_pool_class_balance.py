"""The pool's class balance: predictions aligned to the given labels' class frequencies
(ReMixMatch's distribution alignment) before the strategies read them."""

import pytest
import torch

from ignoise.handlers import DirectionPool, align_to_prior, pool_probabilities


def reference_alignment(predictions, prior, rows=None):
    """Plain loops: each class's column times prior / (mean over the counted rows)."""
    n, k = predictions.shape
    counted = [i for i in range(n) if rows is None or bool(rows[i])]
    mean = [sum(float(predictions[i, c]) for i in counted) / len(counted) for c in range(k)]
    out = torch.zeros(n, k)
    for i in range(n):
        scaled = [float(predictions[i, c]) * float(prior[c]) / mean[c] for c in range(k)]
        total = sum(scaled)
        for c in range(k):
            out[i, c] = scaled[c] / total
    return out


def test_alignment_matches_the_plain_reference():
    predictions = torch.softmax(torch.randn(40, 5, generator=torch.Generator().manual_seed(0)), 1)
    prior = torch.tensor([0.1, 0.3, 0.2, 0.25, 0.15])
    assert torch.allclose(align_to_prior(predictions, prior),
                          reference_alignment(predictions, prior), atol=1e-6)
    rows = torch.arange(40) % 3 != 0
    assert torch.allclose(align_to_prior(predictions, prior, rows),
                          reference_alignment(predictions, prior, rows), atol=1e-6)


def test_predictions_already_at_the_prior_are_left_alone():
    predictions = torch.tensor([[0.7, 0.3], [0.3, 0.7]])
    assert torch.allclose(align_to_prior(predictions, torch.tensor([0.5, 0.5])), predictions)


def test_alignment_moves_the_argmax_off_an_over_predicted_class():
    # Every sample leans to class 0; the given labels are balanced, so the least sure of them
    # are handed back to class 1.
    predictions = torch.tensor([[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.55, 0.45]])
    aligned = align_to_prior(predictions, torch.tensor([0.5, 0.5]))
    assert predictions.argmax(1).tolist() == [0, 0, 0, 0]
    assert aligned.argmax(1).tolist() == [0, 0, 1, 1]
    assert torch.allclose(aligned.sum(1), torch.ones(4))


@pytest.mark.parametrize("balance, prior", [("given", [0.75, 0.25]), ("uniform", [0.5, 0.5])])
def test_the_pool_reads_predictions_aligned_to_its_prior(balance, prior):
    given = torch.tensor([0, 0, 0, 1])  # given frequencies (0.75, 0.25)
    predictions = torch.tensor([[0.5, 0.5], [0.6, 0.4], [0.9, 0.1], [0.2, 0.8]])
    pool = DirectionPool(given, 2, total_epochs=4, lambda1=1.0, lambda2=0.1,
                         class_balance=balance)
    pool.update(predictions, epoch=2)
    expected = pool_probabilities(align_to_prior(predictions, torch.tensor(prior)),
                                  given, 0.5, lambda1=1.0, lambda2=0.1)
    assert torch.allclose(pool.probs, expected, atol=1e-6)
    plain = DirectionPool(given, 2, total_epochs=4, lambda1=1.0, lambda2=0.1)
    plain.update(predictions, epoch=2)
    assert torch.allclose(plain.probs, pool_probabilities(predictions, given, 0.5, lambda1=1.0,
                                                          lambda2=0.1), atol=1e-6)
    assert not torch.allclose(plain.probs, pool.probs)


def test_an_unknown_class_balance_is_rejected():
    with pytest.raises(ValueError, match="class_balance.*'sinkhorn'"):
        DirectionPool(torch.tensor([0, 1]), 2, total_epochs=2, class_balance="sinkhorn")


def test_an_aligned_pool_does_not_pour_the_classes_into_the_one_the_network_leans_to():
    # 4 balanced classes; the network sees each sample's class (+1.5 on its logit) but leans to
    # class 0 (+2 on every sample's): unaligned, the predicted strategy draws most samples to 0.
    n, k = 4000, 4
    gen = torch.Generator().manual_seed(0)
    clean = torch.arange(n) % k
    logits = torch.randn(n, k, generator=gen) + 1.5 * torch.eye(k)[clean]
    logits[:, 0] += 2.0
    predictions = logits.softmax(1)
    shares, right = {}, {}
    for balance in ("none", "uniform"):
        pool = DirectionPool(clean, k, total_epochs=1, lambda1=1.0, lambda2=0.0,
                             class_balance=balance)
        pool.update(predictions, epoch=1)  # t = 1: only the predicted strategy is left
        pool.start_epoch(2)
        shares[balance] = torch.bincount(pool.drawn, minlength=k).float() / n
        right[balance] = float((pool.drawn == clean).float().mean())
    # measured: class 0 draws 0.70 unaligned and 0.36 aligned; 0.49 and 0.67 drawn right
    assert shares["none"][0] > 0.6 and right["none"] < 0.55
    assert shares["uniform"].max() < 0.4 and shares["uniform"].min() > 0.18
    assert right["uniform"] > 0.6
