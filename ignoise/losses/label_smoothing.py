"""Cross-entropy toward label-smoothed targets."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["label_smoothed_cross_entropy"]


def label_smoothed_cross_entropy(logits: torch.Tensor, targets: torch.Tensor,
                                 smoothing: float = 0.1) -> torch.Tensor:
    """Per-sample cross-entropy toward ``(1 - eps) onehot(y) + eps / K`` (Szegedy et al., CVPR
    2016, section 7; studied under label noise by Lukasik et al., ICML 2020, eq. 3, the
    "Label Smooth [18]" row of the GAL paper's Table 3).

    Equal to ``(1 - eps) CE(z, y) + eps mean_k(-log p_k)``; PyTorch's ``label_smoothing``
    argument, which spreads ``eps`` over all K classes, the given one included.

    Args:
        logits: ``(B, K)`` scores.
        targets: ``(B,)`` class indices.
        smoothing: ``eps`` in ``[0, 1]``; 0.1 as in Szegedy et al.

    Returns:
        ``(B,)`` losses (``reduction="none"``).

    Examples:
        >>> import torch
        >>> z, y = torch.zeros(1, 4), torch.tensor([2])
        >>> round(float(label_smoothed_cross_entropy(z, y)), 4)  # uniform: log 4 for any eps
        1.3863
    """
    return F.cross_entropy(logits, targets, reduction="none", label_smoothing=smoothing)
