"""Class-conditional synthetic label noise: symmetric, asymmetric, pair-flip and transition matrix.

The noise depends only on the clean class of a sample, never on its input. Every generator
takes the clean labels and returns a :class:`~ignoise.noise.report.NoisyLabels`; all draws come
from ``np.random.default_rng(seed)``, so a seed gives the same labels on every machine and the
global random state is never touched.

Two ways to choose the corrupted samples, set by ``exact``:

- ``exact=True``: exactly ``round(rate * n_c)`` samples of each clean class ``c`` (rounded half
  up, chosen by a seeded permutation of the class), so the per-class rates are exact;
- ``exact=False``: each sample is chosen independently with probability ``rate``.
"""

from __future__ import annotations

import numpy as np

from ignoise.noise.report import (
    NoisyLabels,
    check_labels,
    check_num_classes,
    check_rate,
    realized_noise,
)

__all__ = [
    "ASYMMETRIC_DATASETS",
    "CIFAR100_COARSE_LABELS",
    "asymmetric_noise",
    "cifar10_asymmetric_map",
    "cifar100_asymmetric_map",
    "pairflip_noise",
    "symmetric_noise",
    "transition_noise",
]

# Super-class of each CIFAR-100 fine class (fine classes in alphabetical order), as in the
# ``coarse_labels`` of the CIFAR-100 python pickle: 0 apple -> 4 fruit_and_vegetables, ...
CIFAR100_COARSE_LABELS = np.array(
    [
        4, 1, 14, 8, 0, 6, 7, 7, 18, 3,
        3, 14, 9, 18, 7, 11, 3, 9, 7, 11,
        6, 11, 5, 10, 7, 6, 13, 15, 3, 15,
        0, 11, 1, 10, 12, 14, 16, 9, 11, 5,
        5, 19, 8, 8, 15, 13, 14, 17, 18, 10,
        16, 4, 17, 4, 2, 0, 17, 4, 18, 17,
        10, 3, 2, 12, 12, 16, 12, 1, 9, 19,
        2, 10, 0, 1, 16, 12, 9, 13, 15, 13,
        16, 19, 2, 4, 6, 19, 5, 5, 8, 19,
        18, 1, 2, 15, 6, 0, 17, 8, 14, 13,
    ],
    dtype=np.int64,
)  # fmt: skip

# Datasets that have an asymmetric map, with their number of classes.
ASYMMETRIC_DATASETS = {"cifar10": 10, "cifar100": 100}


def cifar10_asymmetric_map() -> np.ndarray:
    """Return the standard CIFAR-10 asymmetric map (Patrini et al., 2017).

    truck (9) -> automobile (1), bird (2) -> airplane (0), deer (4) -> horse (7),
    cat (3) <-> dog (5); the other classes map to themselves.

    Returns:
        int64 array of length 10: entry ``c`` is the class that ``c`` flips to.

    Examples:
        >>> cifar10_asymmetric_map().tolist()
        [0, 1, 0, 5, 7, 3, 6, 7, 8, 1]
    """
    target = np.arange(10, dtype=np.int64)
    target[[9, 2, 4, 3, 5]] = [1, 0, 7, 5, 3]
    return target


def cifar100_asymmetric_map(mapping: str = "superclass") -> np.ndarray:
    """Return a CIFAR-100 asymmetric map: each class flips to the next one of its group of five.

    Args:
        mapping: ``"superclass"``: the groups are the 20 real super-classes (the CIFAR-100 coarse
            labels), each class flipping to the next class of its super-class in label order,
            cyclically; ``"blocks"``: the groups are blocks of five consecutive labels,
            ``c -> 5 * (c // 5) + (c + 1) % 5`` (the convention of the Co-teaching and
            DivideMix code, which treats the blocks as super-classes although they are not).

    Returns:
        int64 array of length 100: entry ``c`` is the class that ``c`` flips to.

    Raises:
        ValueError: if ``mapping`` is neither ``"superclass"`` nor ``"blocks"``.

    Examples:
        >>> target = cifar100_asymmetric_map()
        >>> int(target[4]), int(target[30])  # beaver -> dolphin (aquatic mammals)
        (30, 55)
        >>> cifar100_asymmetric_map("blocks")[:5].tolist()
        [1, 2, 3, 4, 0]
    """
    classes = np.arange(100, dtype=np.int64)
    if mapping == "blocks":
        return 5 * (classes // 5) + (classes + 1) % 5
    if mapping != "superclass":
        raise ValueError(
            f"unknown CIFAR-100 asymmetric mapping {mapping!r}: expected 'superclass' or 'blocks'"
        )
    target = np.empty(100, dtype=np.int64)
    for coarse in range(20):
        members = np.flatnonzero(CIFAR100_COARSE_LABELS == coarse)
        target[members] = np.roll(members, -1)
    return target


def symmetric_noise(
    labels: np.ndarray,
    rate: float,
    num_classes: int,
    *,
    include_true_class: bool = False,
    exact: bool = True,
    seed: int = 0,
) -> NoisyLabels:
    """Corrupt a fraction ``rate`` of the labels with uniformly drawn classes.

    With ``include_true_class=False`` a chosen sample gets a class drawn uniformly among the
    ``K - 1`` *other* classes, so the realized rate equals ``rate``. With
    ``include_true_class=True`` the new class is drawn uniformly among all ``K`` classes (the
    convention of e.g. the DivideMix code), so a chosen sample keeps its label with probability
    ``1 / K`` and the realized rate is about ``rate * (K - 1) / K``.

    Args:
        labels: clean labels, integers in ``[0, num_classes)``.
        rate: fraction of samples chosen for corruption, in ``[0, 1)``.
        num_classes: number of classes ``K`` (at least 2).
        include_true_class: whether the new class may be the true one (see above).
        exact: choose exactly ``round(rate * n_c)`` samples per class (``True``) or each sample
            independently with probability ``rate`` (``False``).
        seed: seed of the generator.

    Returns:
        The noisy labels and their report, ``kind="sym"``.

    Raises:
        ValueError: if ``rate`` is outside ``[0, 1)``, ``num_classes < 2`` or a label is out of
            range.

    Examples:
        >>> import numpy as np
        >>> report = symmetric_noise(np.repeat(np.arange(10), 100), 0.4, 10, seed=1)
        >>> report.rate
        0.4
    """
    rate = check_rate(rate)
    num_classes = check_num_classes(num_classes)
    labels = check_labels(labels, num_classes)
    rng = np.random.default_rng(seed)
    chosen = _choose(labels, rate, num_classes, exact, rng)
    if include_true_class:
        new = rng.integers(0, num_classes, size=labels.shape[0])
    else:
        new = (labels + rng.integers(1, num_classes, size=labels.shape[0])) % num_classes
    noisy = np.where(chosen, new, labels)
    return realized_noise(labels, noisy, num_classes, kind="sym", nominal_rate=rate)


def asymmetric_noise(
    labels: np.ndarray,
    rate: float,
    *,
    dataset: str = "cifar10",
    cifar100_mapping: str = "superclass",
    exact: bool = True,
    seed: int = 0,
) -> NoisyLabels:
    """Flip a fraction ``rate`` of the samples of each mapped class to its asymmetric target.

    Classes that map to themselves (e.g. airplane in CIFAR-10) are left untouched, so the
    overall realized rate is ``rate`` times the share of mapped samples.

    Args:
        labels: clean labels, integers in ``[0, K)`` with ``K`` the dataset's class count.
        rate: fraction of each mapped class that is flipped, in ``[0, 1)``.
        dataset: ``"cifar10"`` (:func:`cifar10_asymmetric_map`) or ``"cifar100"``
            (:func:`cifar100_asymmetric_map`).
        cifar100_mapping: ``"superclass"`` or ``"blocks"``, for CIFAR-100 only.
        exact: flip exactly ``round(rate * n_c)`` samples per mapped class (``True``) or each
            sample independently with probability ``rate`` (``False``).
        seed: seed of the generator.

    Returns:
        The noisy labels and their report, ``kind="asym"``.

    Raises:
        ValueError: if ``rate`` is outside ``[0, 1)``, ``dataset`` or ``cifar100_mapping`` is
            unknown, or a label is out of the dataset's range.

    Examples:
        >>> import numpy as np
        >>> report = asymmetric_noise(np.repeat(np.arange(10), 100), 0.4, dataset="cifar10")
        >>> float(report.transition[9, 1]), float(report.transition[0, 0])  # truck -> automobile
        (0.4, 1.0)
    """
    rate = check_rate(rate)
    if dataset == "cifar10":
        target = cifar10_asymmetric_map()
    elif dataset == "cifar100":
        target = cifar100_asymmetric_map(cifar100_mapping)
    else:
        raise ValueError(
            f"no asymmetric map for dataset {dataset!r}: expected one of "
            f"{sorted(ASYMMETRIC_DATASETS)}"
        )
    num_classes = target.shape[0]
    try:
        labels = check_labels(labels, num_classes)
    except ValueError as error:
        raise ValueError(f"asymmetric noise for {dataset}: {error}") from None
    rng = np.random.default_rng(seed)
    chosen = _choose(labels, rate, num_classes, exact, rng)
    noisy = np.where(chosen, target[labels], labels)
    return realized_noise(labels, noisy, num_classes, kind="asym", nominal_rate=rate)


def pairflip_noise(
    labels: np.ndarray,
    rate: float,
    num_classes: int,
    *,
    exact: bool = True,
    seed: int = 0,
) -> NoisyLabels:
    """Flip a fraction ``rate`` of each class ``c`` to the next class ``(c + 1) mod K``.

    Args:
        labels: clean labels, integers in ``[0, num_classes)``.
        rate: fraction of samples flipped, in ``[0, 1)``.
        num_classes: number of classes ``K`` (at least 2).
        exact: flip exactly ``round(rate * n_c)`` samples per class (``True``) or each sample
            independently with probability ``rate`` (``False``).
        seed: seed of the generator.

    Returns:
        The noisy labels and their report, ``kind="pairflip"``.

    Raises:
        ValueError: if ``rate`` is outside ``[0, 1)``, ``num_classes < 2`` or a label is out of
            range.

    Examples:
        >>> import numpy as np
        >>> report = pairflip_noise(np.repeat(np.arange(4), 10), 0.3, 4)
        >>> report.transition[3].tolist()
        [0.3, 0.0, 0.0, 0.7]
    """
    rate = check_rate(rate)
    num_classes = check_num_classes(num_classes)
    labels = check_labels(labels, num_classes)
    rng = np.random.default_rng(seed)
    chosen = _choose(labels, rate, num_classes, exact, rng)
    noisy = np.where(chosen, (labels + 1) % num_classes, labels)
    return realized_noise(labels, noisy, num_classes, kind="pairflip", nominal_rate=rate)


def transition_noise(
    labels: np.ndarray,
    matrix: np.ndarray,
    *,
    exact: bool = True,
    seed: int = 0,
) -> NoisyLabels:
    """Draw each noisy label from the row of a transition matrix given by its clean label.

    Args:
        labels: clean labels, integers in ``[0, K)``.
        matrix: row-stochastic ``K x K`` matrix, ``matrix[i, j] = P(noisy = j | clean = i)``.
        exact: ``True``: for each clean class ``c`` the number of samples sent to each class
            is ``matrix[c] * n_c`` rounded so that the counts sum to ``n_c`` (largest
            remainder), assigned to a seeded permutation of the class; ``False``: each label is
            drawn independently from its row.
        seed: seed of the generator.

    Returns:
        The noisy labels and their report, ``kind="matrix"``; the nominal rate is the expected
        rate, ``1 - mean(matrix[clean, clean])``.

    Raises:
        ValueError: if ``matrix`` is not ``K x K`` with ``K >= 2``, has a negative or
            non-finite entry or a row not summing to 1 (tolerance 1e-6), or a label is out of
            range.

    Examples:
        >>> import numpy as np
        >>> matrix = np.array([[0.8, 0.2], [0.5, 0.5]])
        >>> report = transition_noise(np.repeat([0, 1], 10), matrix)
        >>> report.transition.tolist()
        [[0.8, 0.2], [0.5, 0.5]]
    """
    matrix = _check_matrix(matrix)
    num_classes = matrix.shape[0]
    labels = check_labels(labels, num_classes)
    rng = np.random.default_rng(seed)
    noisy = labels.copy()
    if exact:
        for c in range(num_classes):
            members = np.flatnonzero(labels == c)
            counts = _largest_remainder(matrix[c], members.size)
            noisy[rng.permutation(members)] = np.repeat(np.arange(num_classes), counts)
    else:
        uniforms = rng.random(labels.shape[0])
        cumulative = np.cumsum(matrix, axis=1)
        cumulative[:, -1] = 1.0  # guard against round-off leaving a gap below 1
        for c in range(num_classes):
            members = np.flatnonzero(labels == c)
            noisy[members] = np.searchsorted(cumulative[c], uniforms[members], side="right")
    expected = 1.0 - float(np.diag(matrix)[labels].mean()) if labels.size else 0.0
    return realized_noise(labels, noisy, num_classes, kind="matrix", nominal_rate=expected)


def _choose(
    labels: np.ndarray, rate: float, num_classes: int, exact: bool, rng: np.random.Generator
) -> np.ndarray:
    """Return the bool mask of the samples chosen for corruption (see the module docstring)."""
    n = labels.shape[0]
    keys = rng.random(n)
    if not exact:
        return keys < rate
    # Sorting by (class, random key) is a seeded permutation within each class; a sample's
    # rank in its class decides whether it falls within the class's quota.
    counts = np.bincount(labels, minlength=num_classes)
    quota = np.floor(rate * counts + 0.5).astype(np.int64)
    order = np.lexsort((keys, labels))
    starts = np.cumsum(counts) - counts
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - starts[labels[order]]
    return rank < quota[labels]


def _largest_remainder(probs: np.ndarray, total: int) -> np.ndarray:
    """Split ``total`` into integer counts proportional to ``probs`` (largest remainder)."""
    expected = probs * total
    counts = np.floor(expected).astype(np.int64)
    missing = total - int(counts.sum())
    if missing > 0:
        # Stable sort: ties go to the lower class index, so the result is deterministic.
        counts[np.argsort(counts - expected, kind="stable")[:missing]] += 1
    return counts


def _check_matrix(matrix: np.ndarray) -> np.ndarray:
    """Return ``matrix`` as float64, renormalized, after checking it is row-stochastic."""
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"transition matrix must be K x K, got shape {matrix.shape}")
    check_num_classes(matrix.shape[0])
    if not np.isfinite(matrix).all():
        r, c = np.argwhere(~np.isfinite(matrix))[0]
        raise ValueError(f"transition matrix entry [{r}, {c}] = {matrix[r, c]} is not finite")
    if (matrix < 0).any():
        r, c = np.argwhere(matrix < 0)[0]
        raise ValueError(
            f"transition matrix entry [{r}, {c}] = {matrix[r, c]:g} is negative: "
            "expected probabilities"
        )
    sums = matrix.sum(axis=1)
    off = np.abs(sums - 1.0) > 1e-6
    if off.any():
        r = int(np.flatnonzero(off)[0])
        raise ValueError(f"transition matrix row {r} sums to {sums[r]:.10g}, expected 1")
    # Renormalize so the tolerated round-off cannot push counts past the class size.
    return matrix / sums[:, None]
