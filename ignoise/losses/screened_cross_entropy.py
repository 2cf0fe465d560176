"""Cross-entropy over the samples a selection keeps (sample screening)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["screened_cross_entropy", "SCREENED_OUT"]

#: The target of a screened-out sample (PyTorch's default ``ignore_index``).
SCREENED_OUT = -100


def screened_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-sample cross-entropy in which samples with target :data:`SCREENED_OUT` get zero loss,
    scaled so that the batch mean is the mean over the kept samples only.

    A screened-out sample thus sends no gradient, and the kept ones are not down-weighted by how
    many were dropped (with nothing screened it is plain cross-entropy). The count stays on the
    device: no host synchronization.

    Args:
        logits: ``(B, K)`` scores.
        targets: ``(B,)`` class indices, :data:`SCREENED_OUT` for dropped samples.

    Returns:
        ``(B,)`` losses whose mean is the kept samples' mean cross-entropy.

    Examples:
        >>> import torch
        >>> z, y = torch.zeros(4, 3), torch.tensor([0, 1, -100, -100])
        >>> round(float(screened_cross_entropy(z, y).mean()), 4)  # log 3 over the two kept
        1.0986
    """
    losses = F.cross_entropy(logits, targets, reduction="none", ignore_index=SCREENED_OUT)
    kept = (targets != SCREENED_OUT).sum().clamp_min(1)
    return losses * (targets.numel() / kept)
