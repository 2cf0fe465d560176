"""JoCoR's joint loss: the two networks' cross-entropies and a co-regularization, the symmetric
Kullback-Leibler divergence between their predictions."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["co_regularization", "jocor_loss"]


def co_regularization(logits_a: torch.Tensor, logits_b: torch.Tensor) -> torch.Tensor:
    """Per-sample ``KL(p_a || p_b) + KL(p_b || p_a)`` (Wei et al., CVPR 2020, Section 3.1,
    the contrastive loss ``l_con``), ``p = softmax(logits)``.

    Written as ``sum_k (p_a,k - p_b,k)(log p_a,k - log p_b,k)``, the same sum. Neither side is
    detached: the authors' ``kl_loss_compute(pred, soft_targets)`` passes ``softmax(soft_targets)``
    to ``F.kl_div`` without ``detach``, so each network is pulled toward the other and the
    other toward it.

    Args:
        logits_a, logits_b: ``(B, K)`` scores of the two networks.

    Returns:
        ``(B,)`` divergences (``reduction="none"``).

    Examples:
        >>> z = torch.zeros(2, 3)
        >>> co_regularization(z, z).tolist()
        [0.0, 0.0]
    """
    log_p_a, log_p_b = F.log_softmax(logits_a, dim=1), F.log_softmax(logits_b, dim=1)
    return ((log_p_a.exp() - log_p_b.exp()) * (log_p_a - log_p_b)).sum(1)


def jocor_loss(logits_a: torch.Tensor, logits_b: torch.Tensor, targets: torch.Tensor,
               co_lambda: float) -> torch.Tensor:
    """Per-sample joint loss ``(1 - lambda)(CE(p_a, y) + CE(p_b, y)) + lambda l_con`` (Wei et
    al., CVPR 2020, Section 3.1: ``l = (1 - lambda) l_sup + lambda l_con``, ``l_sup`` the sum of
    the two networks' cross-entropies, ``l_con`` :func:`co_regularization`), as the authors'
    ``loss_jocor``.

    Args:
        logits_a, logits_b: ``(B, K)`` scores of the two networks.
        targets: ``(B,)`` class indices.
        co_lambda: ``lambda`` in ``[0, 1]``.

    Returns:
        ``(B,)`` losses (``reduction="none"``).

    Examples:
        >>> z, y = torch.zeros(1, 4), torch.tensor([2])
        >>> round(jocor_loss(z, z, y, 0.9).item(), 4)  # 0.1 * 2 log 4
        0.2773
    """
    supervised = (F.cross_entropy(logits_a, targets, reduction="none")
                  + F.cross_entropy(logits_b, targets, reduction="none"))
    return (1.0 - co_lambda) * supervised + co_lambda * co_regularization(logits_a, logits_b)
