"""A stratified, seeded hold-out split of a labelled set: the noisy validation set that selects
an epoch without looking at the test set."""

from __future__ import annotations

import numpy as np

from ...noise.report import check_labels

__all__ = ["stratified_hold_out"]

#: Mixed into the seed, so the split draws from a stream of its own: the same ``seed`` also
#: draws the label noise, and the two must not be correlated.
_STREAM = 0x5EED_0A1D


def stratified_hold_out(labels, fraction: float, num_classes: int, *,
                        seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split positions ``0..N-1`` into kept and held-out ones, stratified by ``labels``.

    Class ``c`` (of ``n_c`` samples) gives ``floor(fraction * n_c)`` or one more sample to the
    held-out part, so every class is held out within one sample of ``fraction``; the classes
    that get one more are those with the largest remainders (ties drawn from ``seed``), so
    that ``round(fraction * N)`` samples are held out in all, except that a class never gives
    its last sample (``floor(fraction * n_c) < n_c``, so every class keeps at least one; the
    total may then fall short by those). Within a class, the samples are drawn at random from
    ``seed``, on a generator of their own (not the one that drew the noise with the same
    seed).

    Args:
        labels: ``(N,)`` the labels to stratify by (for a noisy training set, the given ones:
            the only ones a user has).
        fraction: the share to hold out, in ``(0, 1)``.
        num_classes: number of classes ``K``.
        seed: seed of the draw; the same seed gives the same split.

    Returns:
        ``(kept, held)``: two sorted int64 arrays of positions, disjoint, covering ``0..N-1``.

    Raises:
        ValueError: ``fraction`` outside ``(0, 1)``; a fraction so small that no sample is held
            out (naming the smallest that holds one out, when there is one); labels out of
            range.

    Examples:
        >>> labels = np.repeat([0, 1, 2], [10, 20, 30])
        >>> kept, held = stratified_hold_out(labels, 0.2, 3, seed=0)
        >>> np.bincount(labels[held]).tolist(), len(kept)
        ([2, 4, 6], 48)
    """
    labels = check_labels(labels, num_classes, "labels")
    fraction = float(fraction)
    if not 0.0 < fraction < 1.0:  # also rejects NaN
        raise ValueError(f"hold-out fraction {fraction:g} is outside (0, 1)")
    n = len(labels)
    total = int(np.floor(fraction * n + 0.5))
    if total == 0:
        raise ValueError(
            f"hold-out fraction {fraction:g} of {n} samples holds out no sample: expected a "
            f"fraction of at least {0.5 / max(n, 1):.3g}"
        )
    rng = np.random.default_rng([_STREAM, int(seed)])
    counts = np.bincount(labels, minlength=num_classes)
    share = fraction * counts
    held_counts = np.floor(share).astype(np.int64)
    remainder = share - held_counts
    # one more for the largest remainders, never a class's last sample
    eligible = (remainder > 0) & (held_counts + 1 < counts)
    extra = int(np.clip(total - held_counts.sum(), 0, np.count_nonzero(eligible)))
    largest_first = np.lexsort((rng.random(num_classes), -remainder, ~eligible))
    held_counts[largest_first[:extra]] += 1
    if held_counts.sum() == 0:
        raise ValueError(f"hold-out fraction {fraction:g} holds out no sample: each of the "
                         f"{np.count_nonzero(counts)} classes has a single sample, which it "
                         "keeps for training")
    # Sorted by class, in a random order within each class; the first held_counts[c] of
    # class c are held out.
    order = np.lexsort((rng.random(n), labels))
    sorted_labels = labels[order]
    starts = np.cumsum(counts) - counts
    rank = np.arange(n) - starts[sorted_labels]
    held = np.zeros(n, dtype=bool)
    held[order[rank < held_counts[sorted_labels]]] = True
    return np.flatnonzero(~held), np.flatnonzero(held)
