"""Instance-dependent noise against Xia et al. (2020), "Part-dependent label noise: towards
instance-dependent label noise" (NeurIPS), the generation algorithm of its appendix and of its
code (``get_instance_noisy_label``), re-implemented here with plain loops:

1. ``q_i ~ N(tau, std^2)`` truncated to ``[0, 1]``, one flip rate per sample;
2. ``W ~ N(0, 1)`` of shape ``(K, d, K)``, ``W[c]`` the projection of class ``c``;
3. ``p = x_i W[y_i]``; ``p[y_i] = -inf``; ``p = q_i softmax(p)``; ``p[y_i] = 1 - q_i``;
4. the noisy label is drawn from ``p``.

The library draws from one ``numpy.random.default_rng(seed)`` in this order: the ``N`` flip
rates (scipy's truncnorm), ``N`` uniforms for the label draws, then ``W`` (``W[c]`` the c-th
``(d, K)`` block); a label is the first class whose cumulative probability exceeds the sample's
uniform. The reference below follows that stream, so the labels must be *equal*; if the library
ever changes its order of draws, only ``reference_stream`` needs to change, and
``test_zero_features_flip_at_the_truncated_normal_mean_to_every_other_class_alike`` (which
depends on no stream) still checks the distribution.
"""

import math

import numpy as np
import pytest
from scipy import stats

from ignoise.noise import instance_dependent_noise


def reference_stream(n: int, d: int, k: int, tau: float, std: float, seed: int):
    """The random numbers of the library's stream: flip rates, uniforms, W."""
    rng = np.random.default_rng(seed)
    if std == 0.0:
        q = np.full(n, tau)
    else:
        q = stats.truncnorm((0 - tau) / std, (1 - tau) / std, loc=tau, scale=std).rvs(
            size=n, random_state=rng)
    u = rng.random(n)
    w = rng.standard_normal((k, d, k))
    return q, u, w


def xia_transition_rows(features, labels, q, w, normalize: bool) -> list[list[float]]:
    """Step 3 of the algorithm, one sample at a time, one class at a time."""
    rows = []
    num_classes = w.shape[2]
    for i, y in enumerate(labels):
        x = [float(v) for v in np.asarray(features[i]).reshape(-1)]
        if normalize:
            norm = math.sqrt(sum(v * v for v in x))
            if norm > 0:
                x = [v / norm for v in x]
        scores = []
        for j in range(num_classes):
            scores.append(sum(x[t] * float(w[y][t][j]) for t in range(len(x))))
        scores[y] = -math.inf
        top = max(scores[j] for j in range(num_classes) if j != y)
        exps = [0.0 if j == y else math.exp(scores[j] - top) for j in range(num_classes)]
        total = sum(exps)
        row = [q[i] * e / total for e in exps]
        row[y] = 1.0 - q[i]
        rows.append(row)
    return rows


def draw(row: list[float], u: float) -> int:
    """The first class whose cumulative probability exceeds ``u`` (inverse-CDF sampling)."""
    cumulative = 0.0
    for j, p in enumerate(row):
        cumulative += p
        if u < cumulative:
            return j
    return len(row) - 1


def xia_instance_noise(labels, features, tau, k, *, seed, std=0.1, normalize=True):
    n = len(labels)
    d = int(np.prod(np.asarray(features).shape[1:]))
    q, u, w = reference_stream(n, d, k, tau, std, seed)
    rows = xia_transition_rows(features, labels, q, w, normalize)
    return np.array([draw(rows[i], u[i]) for i in range(n)]), rows, q


@pytest.mark.parametrize("tau, std, normalize, seed", [
    (0.3, 0.1, True, 0),
    (0.45, 0.1, False, 1),   # the paper's code literally: raw features times W
    (0.2, 0.0, True, 2),     # every q_i = tau
    (0.6, 0.2, True, 3),
])
def test_labels_equal_the_papers_algorithm_on_a_small_fixed_case(tau, std, normalize, seed):
    k, n = 4, 240
    rng = np.random.default_rng(100 + seed)
    labels = rng.integers(0, k - 1, size=n)  # class 3 absent: W[3] is still drawn, unused
    features = rng.normal(size=(n, 2, 3)) * 3.0  # image-like rows, flattened to d = 6
    want, rows, q = xia_instance_noise(labels, features, tau, k, seed=seed, std=std,
                                    normalize=normalize)
    got = instance_dependent_noise(labels, features, tau, k, seed=seed, std=std,
                                   normalize=normalize)
    np.testing.assert_array_equal(got.noisy, want)
    np.testing.assert_array_equal(got.clean, labels)
    # the case is not trivial: samples flip, and not all of a class to the same target
    assert 0.1 < got.rate < 0.9
    assert len({int(t) for t in want[want != labels]}) >= 3
    # each row is a distribution whose own-class mass is 1 - q_i
    for row, y, q_i in zip(rows, labels, q):
        assert sum(row) == pytest.approx(1.0, abs=1e-12) and min(row) >= 0.0
        assert row[y] == 1.0 - q_i and 0.0 <= q_i <= 1.0


def test_a_changed_projection_changes_the_labels():
    # Sanity check of the reference's sensitivity: the same stream with W negated gives
    # other labels, so equality above is not a coincidence of the flip rates and uniforms.
    k, d, n = 4, 6, 240
    rng = np.random.default_rng(100)
    labels = rng.integers(0, k, size=n)
    features = rng.normal(size=(n, d))
    q, u, w = reference_stream(n, d, k, 0.4, 0.1, 0)
    rows = xia_transition_rows(features, labels, q, -w, True)
    negated = np.array([draw(rows[i], u[i]) for i in range(n)])
    got = instance_dependent_noise(labels, features, 0.4, k, seed=0)
    assert (negated != got.noisy).sum() > 10


def truncated_normal_mean(tau: float, std: float) -> float:
    """Mean of ``N(tau, std^2)`` truncated to ``[0, 1]``, from the closed form."""
    phi = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    cdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))
    a, b = (0 - tau) / std, (1 - tau) / std
    return tau + std * (phi(a) - phi(b)) / (cdf(b) - cdf(a))


@pytest.mark.parametrize("tau", [0.05, 0.4])
def test_zero_features_flip_at_the_truncated_normal_mean_to_every_other_class_alike(tau):
    # With x = 0 every score is 0, so whatever W is, a sample flips with probability q_i and
    # then to each of the K - 1 other classes with probability q_i / (K - 1).
    k, n = 5, 40_000
    labels = np.repeat(np.arange(k), n // k)
    report = instance_dependent_noise(labels, np.zeros((n, 3)), tau, k, seed=11)
    mean = truncated_normal_mean(tau, 0.1)  # 0.1009 for tau = 0.05: truncation at 0 shows
    sigma = math.sqrt(mean * (1 - mean) / n)
    assert abs(report.rate - mean) < 4 * sigma, (report.rate, mean)
    if tau < 0.1:
        assert report.rate > tau + 0.04  # not the untruncated mean
    per_class = n // k
    for c in range(k):
        row = report.transition[c]
        off = np.delete(row, c)
        sigma_off = math.sqrt(mean / (k - 1) * (1 - mean / (k - 1)) / per_class)
        assert np.all(np.abs(off - mean / (k - 1)) < 5 * sigma_off), (c, row)
