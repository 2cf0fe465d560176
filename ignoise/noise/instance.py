"""Instance-dependent label noise (Xia et al., "Part-dependent label noise", NeurIPS 2020).

The probability that a sample is mislabelled, and the class it is mislabelled as, depend on its
input. This is the generation of the paper's code, used by most later work on
instance-dependent noise, vectorized over the samples of each class.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from ignoise.noise.report import (
    NoisyLabels,
    check_labels,
    check_num_classes,
    check_rate,
    realized_noise,
)

__all__ = ["instance_dependent_noise"]


def instance_dependent_noise(
    labels: np.ndarray,
    features: np.ndarray,
    rate: float,
    num_classes: int,
    *,
    seed: int = 0,
    std: float = 0.1,
    normalize: bool = True,
) -> NoisyLabels:
    """Corrupt labels with a flip rate and a flip direction that depend on each sample's input.

    For sample ``i`` with flattened features ``x_i`` and clean label ``y``:

    1. its flip rate ``q_i`` is drawn from the normal ``N(rate, std^2)`` truncated to
       ``[0, 1]``;
    2. class scores are ``s = x_i @ W[y]``, with ``W`` of shape ``(K, d, K)`` drawn from
       ``N(0, 1)`` once for the whole data set;
    3. ``s[y] = -inf``; ``p = q_i * softmax(s)``; ``p[y] = 1 - q_i``;
    4. the noisy label is drawn from ``p``.

    A sample thus keeps its label with probability ``1 - q_i``, and the realized rate is about
    the mean of the truncated normal (close to ``rate`` when ``rate`` is a few ``std`` away
    from 0 and 1). ``rate = 0`` returns the clean labels: the truncated normal around 0 would
    otherwise still flip about ``0.8 * std`` of them.

    The paper's code multiplies the raw (transformed) image by ``W``; with ``normalize=True``
    (default) each ``x_i`` is first scaled to unit L2 norm, so the softmax temperature does not
    depend on the input's scale or dimension. ``normalize=False`` follows the code literally.

    Args:
        labels: clean labels, integers in ``[0, num_classes)``.
        features: one row per sample (any trailing shape, flattened), e.g. images or embeddings.
        rate: mean flip rate, in ``[0, 1)``.
        num_classes: number of classes ``K`` (at least 2).
        seed: seed of the generator (flip rates, projection ``W`` and label draws).
        std: standard deviation of the flip rates before truncation (0: every ``q_i = rate``).
        normalize: scale each feature row to unit L2 norm before projecting it.

    Returns:
        The noisy labels and their report, ``kind="instance"``.

    Raises:
        ValueError: if ``rate`` is outside ``[0, 1)``, ``std`` is negative or not finite,
            ``num_classes < 2``, a label is out of range, or ``features`` has a different number
            of rows than ``labels``.

    Examples:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> labels = rng.integers(0, 10, size=2000)
        >>> features = rng.normal(size=(2000, 32))
        >>> report = instance_dependent_noise(labels, features, 0.3, 10)
        >>> abs(report.rate - 0.3) < 0.05
        True
    """
    rate = check_rate(rate)
    num_classes = check_num_classes(num_classes)
    labels = check_labels(labels, num_classes)
    std = float(std)
    if not (np.isfinite(std) and std >= 0):
        raise ValueError(f"flip-rate std {std:g} must be a finite number >= 0")
    features = np.asarray(features)
    if features.ndim == 0 or features.shape[0] != labels.shape[0]:
        rows = features.shape[0] if features.ndim else "no"
        raise ValueError(
            f"features have {rows} rows but there are {labels.shape[0]} labels: "
            "expected one feature row per label"
        )
    n = labels.shape[0]
    if rate == 0.0 or n == 0:
        return realized_noise(labels, labels, num_classes, kind="instance", nominal_rate=rate)

    rng = np.random.default_rng(seed)
    flip_rates = _draw_flip_rates(rate, std, n, rng)
    uniforms = rng.random(n)
    flat = features.reshape(n, -1)
    noisy = labels.copy()
    for c in range(num_classes):
        # Drawn for every class, present or not, so W[c] is the c-th slice of one (K, d, K) draw.
        projection = rng.standard_normal((flat.shape[1], num_classes))
        members = np.flatnonzero(labels == c)
        if members.size == 0:
            continue
        x = flat[members].astype(np.float64)
        if normalize:
            norms = np.linalg.norm(x, axis=1, keepdims=True)
            x = x / np.where(norms > 0, norms, 1.0)
        scores = x @ projection
        scores[:, c] = -np.inf
        probs = np.exp(scores - scores.max(axis=1, keepdims=True))
        probs *= (flip_rates[members] / probs.sum(axis=1))[:, None]
        probs[:, c] = 1.0 - flip_rates[members]
        cumulative = np.cumsum(probs, axis=1)
        drawn = (cumulative <= uniforms[members, None]).sum(axis=1)
        noisy[members] = np.minimum(drawn, num_classes - 1)  # round-off past the last bin
    return realized_noise(labels, noisy, num_classes, kind="instance", nominal_rate=rate)


def _draw_flip_rates(rate: float, std: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n`` flip rates from ``N(rate, std^2)`` truncated to ``[0, 1]``."""
    if std == 0.0:
        return np.full(n, rate)
    low, high = (0.0 - rate) / std, (1.0 - rate) / std
    return stats.truncnorm(low, high, loc=rate, scale=std).rvs(size=n, random_state=rng)
