"""Generalized cross-entropy (GCE): the L_q loss between cross-entropy and mean absolute error."""

from __future__ import annotations

import torch

__all__ = ["generalized_cross_entropy"]


def generalized_cross_entropy(logits: torch.Tensor, targets: torch.Tensor,
                              q: float = 0.7) -> torch.Tensor:
    """Per-sample L_q loss ``(1 - p_y^q) / q`` (Zhang & Sabuncu, NeurIPS 2018, eq. 6).

    As q -> 0 it tends to cross-entropy, at q = 1 it is the mean absolute error (up to a factor
    2); its gradient with respect to the logits is ``p_y^q (p_k - q_k)``, cross-entropy's
    weighted by the confidence in the label (the GSS poster's table of gradient weights), so
    low-confidence (likely mislabeled) samples pull less. The paper's truncated variant
    (L_q truncated at ``k``) is not implemented. ``p_y^q`` is computed as
    ``exp(q log_softmax(z)_y)``: no clamp, no overflow.

    Args:
        logits: ``(B, K)`` scores.
        targets: ``(B,)`` class indices.
        q: the exponent, in ``(0, 1]``; the paper's 0.7.

    Returns:
        ``(B,)`` losses (``reduction="none"``).

    Examples:
        >>> import torch
        >>> z, y = torch.zeros(2, 4), torch.tensor([0, 3])
        >>> [round(v, 4) for v in generalized_cross_entropy(z, y).tolist()]  # (1 - 0.25^0.7)/0.7
        [0.8872, 0.8872]
    """
    log_p_y = torch.log_softmax(logits, dim=1).gather(1, targets.unsqueeze(1)).squeeze(1)
    return (1.0 - torch.exp(q * log_p_y)) / q
