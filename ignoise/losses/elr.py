"""Early-learning regularization (ELR): cross-entropy plus ``lambda log(1 - <p, t>)``, which keeps
the prediction ``p`` close to ``t``, a running average of the model's own earlier predictions."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["elr_loss", "elr_regularizer", "clamped_probabilities", "ELR_CLAMP"]

#: The authors' code clamps the softmax to ``[1e-4, 1 - 1e-4]`` (ELR and ELR+ alike).
ELR_CLAMP = 1e-4


def clamped_probabilities(logits: torch.Tensor, clamp: float = ELR_CLAMP) -> torch.Tensor:
    """``softmax(z)`` clamped to ``[clamp, 1 - clamp]`` and renormalized, detached: what ELR's
    target estimates average (the authors' ``elr_loss``; the paper's temporal ensembling
    averages ``p``).

    Examples:
        >>> import torch
        >>> clamped_probabilities(torch.tensor([[0.0, 20.0]]))
        tensor([[1.0000e-04, 9.9990e-01]])
    """
    probs = torch.softmax(logits.detach().float(), dim=1).clamp(clamp, 1.0 - clamp)
    return probs / probs.sum(dim=1, keepdim=True)


def elr_regularizer(logits: torch.Tensor, target_estimates: torch.Tensor,
                    clamp: float = ELR_CLAMP) -> torch.Tensor:
    """Per-sample ``log(1 - <p, t>)``, the regularization term of the ELR loss (Liu et al.,
    NeurIPS 2020).

    ``p`` is the softmax of ``logits`` clamped to ``[clamp, 1 - clamp]`` as in the authors'
    code (without renormalizing it; the clamp has no gradient where it is active, and keeps
    ``<p, t>`` below 1); ``t`` is treated as a constant. Its gradient with respect to ``z_k`` is
    ``p_k (<p, t> - t_k) / (1 - <p, t>)`` (the paper's lemma on the regularizer's gradient,
    ``g_k`` with ``sum_{j != k} (t_j - t_k) p_j = <p, t> - t_k``): minimizing it raises
    ``<p, t>``, pulling ``p`` toward ``t``.

    Args:
        logits: ``(B, K)`` scores.
        target_estimates: ``(B, K)`` target estimates ``t`` (rows summing to at most 1).
        clamp: the clamp of the softmax; 0 disables it.

    Returns:
        ``(B,)`` values (negative: ``log`` of a number in ``(0, 1)``).

    Examples:
        >>> import torch
        >>> z, t = torch.zeros(1, 4), torch.tensor([[1.0, 0.0, 0.0, 0.0]])
        >>> round(float(elr_regularizer(z, t)), 4)  # log(1 - 1/4)
        -0.2877
    """
    probs = torch.softmax(logits, dim=1)
    if clamp > 0:
        probs = probs.clamp(clamp, 1.0 - clamp)
    return torch.log1p(-(probs * target_estimates.detach()).sum(dim=1))


def elr_loss(logits: torch.Tensor, labels: torch.Tensor, target_estimates: torch.Tensor,
             lam: float = 3.0, clamp: float = ELR_CLAMP) -> torch.Tensor:
    """Per-sample ELR loss ``CE(z, y) + lambda log(1 - <p, t>)`` (the paper's ELR loss).

    Its gradient with respect to the logits is ``(p_k - q_k) + lambda p_k (<p, t> - t_k) /
    (1 - <p, t>)``, the GSS poster's row for ELR (its ``theta`` is ``lambda`` and its
    ``p-hat`` is ``t``), where no clamp is active.

    Args:
        logits: ``(B, K)`` scores.
        labels: ``(B,)`` class indices or ``(B, K)`` label distributions (ELR+'s mixed
            one-hot labels).
        target_estimates: ``(B, K)`` the samples' target estimates ``t``
            (:class:`~ignoise.handlers.ELRTargets`).
        lam: ``lambda``, the regularization weight (the authors': CIFAR-10 3, CIFAR-100 7).
        clamp: see :func:`elr_regularizer`.

    Returns:
        ``(B,)`` losses (``reduction="none"``).

    Examples:
        >>> import torch
        >>> z, y, t = torch.zeros(1, 4), torch.tensor([0]), torch.tensor([[1.0, 0, 0, 0]])
        >>> round(float(elr_loss(z, y, t, lam=3.0)), 4)  # log 4 + 3 log(3/4)
        0.5232
    """
    return (F.cross_entropy(logits, labels, reduction="none")
            + lam * elr_regularizer(logits, target_estimates, clamp))
