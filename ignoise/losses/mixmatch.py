"""The losses of a MixMatch batch: soft cross-entropy on the labeled part, squared error of the
probabilities on the unlabeled part, and the uniform-prior regularizer over the whole batch."""

from __future__ import annotations

import math

import torch

__all__ = ["soft_cross_entropy", "probability_mse", "uniform_prior_penalty"]


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-sample cross-entropy against target distributions: ``-sum_k q_k log softmax(z)_k``.

    Args:
        logits: ``(B, K)`` scores.
        targets: ``(B, K)`` rows that sum to one (mixed, sharpened or one-hot).

    Returns:
        ``(B,)`` losses.

    Examples:
        >>> import torch
        >>> z = torch.tensor([[2.0, 0.0]])
        >>> q = torch.tensor([[1.0, 0.0]])
        >>> bool(torch.allclose(soft_cross_entropy(z, q), torch.nn.functional.cross_entropy(
        ...     z, torch.tensor([0]), reduction="none")))
        True
    """
    return -(torch.log_softmax(logits.float(), dim=1) * targets).sum(dim=1)


def probability_mse(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-sample mean squared error between ``softmax(logits)`` and target distributions.

    MixMatch and DivideMix use it on unlabeled samples: it is bounded, so a wrong guessed
    target cannot pull as hard as it would under cross-entropy.

    Args:
        logits: ``(B, K)`` scores.
        targets: ``(B, K)`` target distributions.

    Returns:
        ``(B,)`` losses, each the mean over the ``K`` classes (their batch mean is DivideMix's
        ``L_u``).

    Examples:
        >>> import torch
        >>> float(probability_mse(torch.zeros(1, 2), torch.tensor([[1.0, 0.0]])))
        0.25
    """
    return (torch.softmax(logits.float(), dim=1) - targets).pow(2).mean(dim=1)


def uniform_prior_penalty(logits: torch.Tensor) -> torch.Tensor:
    """``KL(uniform || mean prediction)`` over a batch: ``sum_k (1/K) log((1/K) / pbar_k)``.

    DivideMix's regularizer: it keeps the batch's mean prediction near uniform, so that the
    networks do not collapse onto a few classes when many targets are guessed.

    Args:
        logits: ``(B, K)`` scores of the whole mixed batch.

    Returns:
        A non-negative scalar, zero when the mean prediction is uniform.

    Examples:
        >>> import torch
        >>> float(uniform_prior_penalty(torch.zeros(3, 5)))
        0.0
    """
    num_classes = logits.shape[1]
    mean_prob = torch.softmax(logits.float(), dim=1).mean(dim=0)
    return (-math.log(num_classes) - mean_prob.log()).mean()
