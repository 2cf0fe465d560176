"""Symmetric cross-entropy (SCE, "SL"): cross-entropy plus reverse cross-entropy."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["reverse_cross_entropy", "symmetric_cross_entropy"]


def reverse_cross_entropy(logits: torch.Tensor, targets: torch.Tensor,
                          log_zero: float = -4.0) -> torch.Tensor:
    """Per-sample reverse cross-entropy ``-sum_k p_k log q_k`` with ``log 0 = A`` (Wang et al.,
    ICCV 2019, eq. 4 and section 3.3), which for a one-hot ``q`` is ``-A (1 - p_y)``.

    Args:
        logits: ``(B, K)`` scores.
        targets: ``(B,)`` class indices.
        log_zero: ``A < 0``, the value taken for ``log 0``. The paper's -4; the authors' code
            clamps the one-hot label at 1e-4 before a natural log, i.e. ``A = ln 1e-4 ~ -9.21``.

    Returns:
        ``(B,)`` losses (``reduction="none"``).

    Examples:
        >>> import torch
        >>> z, y = torch.zeros(1, 4), torch.tensor([2])
        >>> round(float(reverse_cross_entropy(z, y)), 4)  # 4 * (1 - 1/4)
        3.0
    """
    p_y = torch.softmax(logits, dim=1).gather(1, targets.unsqueeze(1)).squeeze(1)
    return -log_zero * (1.0 - p_y)


def symmetric_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, alpha: float = 0.1,
                            beta: float = 1.0, log_zero: float = -4.0) -> torch.Tensor:
    """Per-sample symmetric cross-entropy ``alpha CE + beta RCE`` (Wang et al., ICCV 2019,
    eq. 5); see :func:`reverse_cross_entropy` for ``A = log_zero``.

    Its gradient with respect to the logits is ``(alpha - beta A p_y)(p_k - q_k)``: with A < 0,
    cross-entropy's direction weighted up by the confidence in the label. The GSS poster's
    table writes the weight ``alpha + beta A p_y``, i.e. with ``A`` standing for ``|log 0|``;
    the tests pin the derivation.

    Args:
        logits: ``(B, K)`` scores.
        targets: ``(B,)`` class indices.
        alpha: weight of cross-entropy (the paper: 0.1 on CIFAR-10, 6.0 on CIFAR-100).
        beta: weight of reverse cross-entropy (the paper: 1.0 on CIFAR-10, 0.1 on CIFAR-100).
        log_zero: ``A``, the paper's -4.

    Returns:
        ``(B,)`` losses (``reduction="none"``).

    Examples:
        >>> import torch
        >>> z, y = torch.zeros(1, 4), torch.tensor([2])
        >>> round(float(symmetric_cross_entropy(z, y)), 4)  # 0.1 log 4 + 1.0 * 3
        3.1386
    """
    ce = F.cross_entropy(logits, targets, reduction="none")
    return alpha * ce + beta * reverse_cross_entropy(logits, targets, log_zero)
