"""NT-Xent, the normalized temperature-scaled cross-entropy of SimCLR (Chen et al., ICML 2020),
the self-supervised ("intrinsic similarity") loss of Co-learning."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["nt_xent"]


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """Per-sample NT-Xent between two views' projections (SimCLR, eq. 1).

    The ``2B`` projections are L2-normalized; anchor ``i`` of one view has its other view as the
    positive and the other ``2B - 2`` projections of the batch as negatives:
    ``l(i, j) = -log exp(s_ij / t) / sum_{k != i} exp(s_ik / t)`` with ``s`` the cosine
    similarity. The loss of sample ``i`` is the mean of its two anchors' losses,
    ``(l(i, i') + l(i', i)) / 2``, so the mean over the batch is SimCLR's (and Co-learning's
    code's, ``losses/loss_ntxent.py``: cosine similarity, the sum over the ``2B`` anchors
    divided by ``2B``).

    Args:
        z1, z2: ``(B, D)`` projections of the two views, row ``i`` of each from sample ``i``
            (``B >= 2``).
        temperature: ``t``; Co-learning's code uses 0.5.

    Returns:
        ``(B,)`` losses (``reduction="none"``).

    Examples:
        >>> import torch
        >>> z = torch.eye(4)
        >>> loss = nt_xent(z, z, temperature=0.5)  # positives 1, negatives 0: -log e^2/(e^2+6)
        >>> [round(v, 4) for v in loss.tolist()]
        [0.5944, 0.5944, 0.5944, 0.5944]
    """
    b = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]).float(), dim=1)
    similarity = (z @ z.t()) / temperature
    self_pairs = torch.eye(2 * b, dtype=torch.bool, device=z.device)
    similarity = similarity.masked_fill(self_pairs, float("-inf"))  # no anchor is its own negative
    positives = torch.arange(2 * b, device=z.device).roll(b)  # i <-> i + B
    per_anchor = F.cross_entropy(similarity, positives, reduction="none")
    return (per_anchor[:b] + per_anchor[b:]) / 2
