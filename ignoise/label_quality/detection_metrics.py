"""How well a score finds the corrupted labels: AUROC, average precision, precision at k.

A score ranks the training samples, higher = more likely mislabeled; where the clean labels are
known (synthetic noise, CIFAR-N) the corruption mask ``given != clean`` says which ones are.
"""

from __future__ import annotations

import numpy as np

__all__ = ["detection_metrics", "precision_at_k", "rank_order"]


def rank_order(scores, tiebreak=None) -> np.ndarray:
    """Sample indices from the highest score to the lowest; ties go to the higher ``tiebreak``
    (if given), then keep the index order.

    Examples:
        >>> rank_order([0.2, 0.9, 0.2, 0.5]).tolist()
        [1, 3, 0, 2]
        >>> rank_order([0.2, 0.9, 0.2, 0.5], tiebreak=[0, 0, 1, 0]).tolist()
        [1, 3, 2, 0]
    """
    scores = np.asarray(scores, dtype=np.float64)
    keys = [np.arange(len(scores))]
    if tiebreak is not None:
        keys.append(-np.asarray(tiebreak, dtype=np.float64))
    return np.lexsort((*keys, -scores))


def precision_at_k(scores, corrupted, k: int | None = None) -> float:
    """The fraction of corrupted samples among the ``k`` highest scores.

    Args:
        scores: ``(N,)`` higher = more likely mislabeled.
        corrupted: ``(N,)`` bool, the corruption mask.
        k: how many top samples; default the number of corrupted samples (then precision and
            recall at k are equal). Ties are broken by index, as in :func:`rank_order`.

    Returns:
        The precision, or NaN when ``k`` is 0.

    Examples:
        >>> precision_at_k([0.9, 0.8, 0.1, 0.7], [True, False, False, True])
        0.5
    """
    scores, corrupted = _check(scores, corrupted)
    k = int(corrupted.sum()) if k is None else int(k)
    if not 0 <= k <= len(scores):
        raise ValueError(f"k = {k}: expected a count in [0, {len(scores)}]")
    if k == 0:
        return float("nan")
    return float(corrupted[rank_order(scores)[:k]].mean())


def detection_metrics(scores, corrupted) -> dict:
    """AUROC, average precision and precision at the true number of corrupted samples.

    Args:
        scores: ``(N,)`` finite, higher = more likely mislabeled.
        corrupted: ``(N,)`` bool (or 0/1), the corruption mask ``given != clean``.

    Returns:
        ``{"auroc", "average_precision", "precision_at_k", "k", "num_corrupted",
        "num_samples"}``: :func:`sklearn.metrics.roc_auc_score` and
        :func:`sklearn.metrics.average_precision_score` of ``scores`` against ``corrupted``,
        and :func:`precision_at_k` with ``k = num_corrupted``. AUROC and average precision are
        NaN when every sample, or none, is corrupted (they need both kinds).

    Raises:
        ValueError: arrays of different lengths or shapes, non-finite scores, a mask that is
            not boolean.

    Examples:
        >>> m = detection_metrics([0.9, 0.8, 0.1, 0.7], [True, False, False, True])
        >>> m["auroc"], m["average_precision"], m["precision_at_k"], m["k"]
        (0.75, 0.8333333333333333, 0.5, 2)
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    scores, corrupted = _check(scores, corrupted)
    num_corrupted = int(corrupted.sum())
    both = 0 < num_corrupted < len(corrupted)
    return {
        "auroc": float(roc_auc_score(corrupted, scores)) if both else float("nan"),
        "average_precision": (float(average_precision_score(corrupted, scores)) if both
                              else float("nan")),
        "precision_at_k": precision_at_k(scores, corrupted),
        "k": num_corrupted,
        "num_corrupted": num_corrupted,
        "num_samples": len(scores),
    }


def _check(scores, corrupted) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores)
    corrupted = np.asarray(corrupted)
    if scores.ndim != 1 or corrupted.shape != scores.shape:
        raise ValueError(f"scores has shape {scores.shape} and corrupted {corrupted.shape}: "
                         "expected two 1-D arrays of the same length")
    if not (np.issubdtype(scores.dtype, np.floating) or np.issubdtype(scores.dtype, np.integer)):
        raise ValueError(f"scores must be numbers, got dtype {scores.dtype}")
    scores = scores.astype(np.float64)
    if not np.isfinite(scores).all():
        i = int(np.flatnonzero(~np.isfinite(scores))[0])
        raise ValueError(f"scores[{i}] = {scores[i]}: expected finite scores")
    if corrupted.dtype != bool:
        if not np.isin(corrupted, (0, 1)).all():
            raise ValueError(f"corrupted must be a boolean mask, got values "
                             f"{np.unique(corrupted)[:5].tolist()}")
        corrupted = corrupted.astype(bool)
    return scores, corrupted
