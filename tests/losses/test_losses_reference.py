"""The per-sample losses on batches of several rows against plain loop-style references.

Each reference is written from the formula in the loss's docstring (DivideMix / MixMatch), with
Python floats and ``math``: no torch reduction is shared with the code under test.
"""

import math

import torch

from ignoise.losses import (
    SCREENED_OUT,
    confidence_penalty,
    probability_mse,
    screened_cross_entropy,
    soft_cross_entropy,
    uniform_prior_penalty,
)

LOGITS = [[1.0, 2.0, 0.5], [0.0, -1.0, 3.0], [2.5, 2.5, -0.5]]
TARGETS = [[0.2, 0.5, 0.3], [0.0, 0.0, 1.0], [0.6, 0.1, 0.3]]


def _softmax(row):
    top = max(row)
    exps = [math.exp(v - top) for v in row]
    return [e / sum(exps) for e in exps]


def test_soft_cross_entropy_is_per_row():
    expected = [-sum(q * math.log(p) for q, p in zip(qs, _softmax(z)))
                for z, qs in zip(LOGITS, TARGETS)]
    out = soft_cross_entropy(torch.tensor(LOGITS), torch.tensor(TARGETS))
    assert out.shape == (3,)
    assert torch.allclose(out, torch.tensor(expected), atol=1e-6)


def test_probability_mse_is_the_mean_over_classes_of_each_row():
    expected = [sum((p - q) ** 2 for p, q in zip(_softmax(z), qs)) / 3
                for z, qs in zip(LOGITS, TARGETS)]
    out = probability_mse(torch.tensor(LOGITS), torch.tensor(TARGETS))
    assert out.shape == (3,)
    assert torch.allclose(out, torch.tensor(expected), atol=1e-7)


def test_confidence_penalty_is_the_batch_mean_of_negative_entropy():
    rows = [sum(p * math.log(p) for p in _softmax(z)) for z in LOGITS]
    assert math.isclose(float(confidence_penalty(torch.tensor(LOGITS))), sum(rows) / 3,
                        rel_tol=1e-6)


def test_uniform_prior_penalty_is_kl_of_uniform_to_the_batch_mean():
    k = 3
    mean = [sum(_softmax(z)[c] for z in LOGITS) / len(LOGITS) for c in range(k)]
    expected = sum((1 / k) * math.log((1 / k) / m) for m in mean)
    assert math.isclose(float(uniform_prior_penalty(torch.tensor(LOGITS))), expected,
                        rel_tol=1e-5)


def test_screened_cross_entropy_rescales_by_the_kept_count():
    z = torch.tensor(LOGITS + [[0.3, 0.2, 0.1]])
    # One kept sample of four: its loss is scaled by 4, so the batch mean is its loss.
    y = torch.tensor([SCREENED_OUT, 2, SCREENED_OUT, SCREENED_OUT])
    kept_loss = -math.log(_softmax(LOGITS[1])[2])
    out = screened_cross_entropy(z, y)
    assert torch.allclose(out, torch.tensor([0.0, 4 * kept_loss, 0.0, 0.0]), atol=1e-5)
    # Nothing kept: all zero (the count is clamped to one, not divided by zero).
    none_kept = screened_cross_entropy(z, torch.full((4,), SCREENED_OUT))
    assert torch.equal(none_kept, torch.zeros(4))
    # Nothing screened: plain per-sample cross-entropy.
    y_all = torch.tensor([1, 2, 0, 0])
    plain = [-math.log(_softmax(r)[c]) for r, c in zip(z.tolist(), y_all.tolist())]
    assert torch.allclose(screened_cross_entropy(z, y_all), torch.tensor(plain), atol=1e-6)
