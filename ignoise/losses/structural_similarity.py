"""Co-learning's structural similarity: the classifier's pairwise relations across the batch are
pulled toward those of the self-supervised projection head (Tan et al., ACM MM 2021)."""

from __future__ import annotations

import torch

__all__ = ["pairwise_gaussian_similarity", "structural_similarity"]

#: Co-learning's ``eps`` (``losses/loss_utils.py``): the floor of a squared distance, the
#: distance of a sample to itself, and the offset inside the log.
EPS = 1e-12


def pairwise_gaussian_similarity(features: torch.Tensor) -> torch.Tensor:
    """``P_ij = exp(-||f_i - f_j||^2)`` over the batch, the relation matrix of Co-learning.

    As the authors' code (``Distance_squared`` then ``CalPairwise``): the squared distances
    come from ``||a||^2 + ||b||^2 - 2 a.b``, floored at ``EPS``, and the diagonal is ``EPS``
    (so ``P_ii = exp(-1e-12)``, about 1).

    Args:
        features: ``(B, D)``.

    Returns:
        ``(B, B)`` similarities in (0, 1].

    Examples:
        >>> import torch
        >>> p = pairwise_gaussian_similarity(torch.tensor([[0.0, 0.0], [1.0, 0.0]]))
        >>> [[round(v, 4) for v in row] for row in p.tolist()]
        [[1.0, 0.3679], [0.3679, 1.0]]
    """
    f = features.float()
    squared = f.pow(2).sum(dim=1, keepdim=True)
    distance = torch.addmm(squared + squared.t(), f, f.t(), beta=1.0, alpha=-2.0).clamp_min(EPS)
    diagonal = torch.eye(f.shape[0], dtype=torch.bool, device=f.device)
    return torch.exp(-distance.masked_fill(diagonal, EPS))


def structural_similarity(reference: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
    """Per-sample structural similarity loss ``-(1/B) sum_j P_ij log(Q_ij + eps)``.

    ``P`` is the relation matrix (:func:`pairwise_gaussian_similarity`) of ``reference`` (the
    projection head's outputs, detached: a target) and ``Q`` that of ``features`` (the
    classifier's logits). The paper names it the agreement (a KL divergence) of the two heads'
    relation matrices; this is the authors' code (``losses/loss_structrue.py``:
    ``-(q1 * log(q2 + eps)).mean()`` over the ``B x B`` entries, no row normalization), whose
    gradient is that of ``KL(P || Q)`` with ``P`` fixed, up to the normalization of ``P`` and
    ``Q`` the paper may apply (not in the code; see :mod:`ignoise.steps.colearning`).

    Args:
        reference: ``(B, D)`` the target relations' features (detached here).
        features: ``(B, K)`` the features whose relations learn.

    Returns:
        ``(B,)`` losses, row ``i`` over its ``B`` pairs; their mean is the code's loss.

    Examples:
        >>> import torch
        >>> same = torch.tensor([[0.0], [1.0]])
        >>> [round(v, 4) for v in structural_similarity(same, same).tolist()]
        [0.1839, 0.1839]
    """
    p = pairwise_gaussian_similarity(reference.detach())
    q = pairwise_gaussian_similarity(features)
    return -(p * torch.log(q + EPS)).mean(dim=1)
