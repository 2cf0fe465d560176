"""Selection among the samples on which two networks disagree, done on the device: the
disagreement set (Decoupling, Co-teaching+), the small-loss part of a set whose size only the
device knows, and the mean over such a set.

The disagreement set has a data-dependent size, so boolean-mask indexing would make the host
wait for the device. Here every set is a boolean mask of the batch's length: the small-loss
samples are the candidates whose rank (agreeing samples ranked last) is below a keep count
looked up on the device, and losses are averaged with the mask as weights.
"""

from __future__ import annotations

import torch

__all__ = ["disagreement_mask", "keep_counts", "small_loss_mask", "masked_mean"]


def disagreement_mask(logits_a: torch.Tensor, logits_b: torch.Tensor) -> torch.Tensor:
    """``(B,)`` bool: the samples whose predicted classes (argmax) differ between the two
    networks, the set ``{x : h_1(x) != h_2(x)}`` of Decoupling (Algorithm 1) and
    Co-teaching+ (Algorithm 1, step 4).

    Examples:
        >>> a, b = torch.tensor([[2., 0.], [0., 1.]]), torch.tensor([[1., 0.], [1., 0.]])
        >>> disagreement_mask(a, b)
        tensor([False,  True])
    """
    return logits_a.argmax(1) != logits_b.argmax(1)


def keep_counts(batch_size: int, forget_rate: float, device=None) -> torch.Tensor:
    """``(batch_size + 1,)`` int64 on ``device``: entry ``n`` is
    :func:`~ignoise.steps.keep_count` ``(n, forget_rate)`` (``ceil((1 - rate) n)``, at least
    one) for a set of ``n`` samples, and 0 for the empty set.

    Computed on the device in float64, the arithmetic of ``keep_count``, so that a step can
    index it with a set size it never reads.

    Examples:
        >>> keep_counts(5, 0.4).tolist()
        [0, 1, 2, 2, 3, 3]
    """
    n = torch.arange(batch_size + 1, device=device)
    kept = torch.ceil((1.0 - forget_rate) * n.double() - 1e-9).long()
    return kept.clamp(min=1).minimum(n)


def small_loss_mask(losses: torch.Tensor, candidates: torch.Tensor,
                    counts: torch.Tensor) -> torch.Tensor:
    """``(B,)`` bool: the ``counts[n]`` candidates of smallest loss, ``n`` the number of
    candidates (the ``argmin`` over ``D'`` with ``|D'| >= lambda(e) |D|`` of Co-teaching+'s
    Algorithm 1, steps 5-6, with ``D`` the candidates).

    Non-candidates are ranked after every candidate (an infinite key); the samples of rank
    below the count are kept. Nothing is read on the host.

    Args:
        losses: ``(B,)`` per-sample losses (detached).
        candidates: ``(B,)`` bool, the set to select from.
        counts: from :func:`keep_counts` for this batch size and forget rate.

    Examples:
        >>> small_loss_mask(torch.tensor([0.3, 0.1, 0.2, 0.05]),
        ...                 torch.tensor([True, True, True, False]), keep_counts(4, 0.5))
        tensor([False,  True,  True, False])
    """
    k = counts.index_select(0, candidates.sum().view(1))
    order = torch.argsort(torch.where(candidates, losses, torch.inf))
    rank = torch.empty_like(order).scatter_(0, order, torch.arange(len(order),
                                                                   device=order.device))
    return (rank < k) & candidates


def masked_mean(values: torch.Tensor, mask: torch.Tensor,
                min_count: float | torch.Tensor = 1.0) -> torch.Tensor:
    """``sum(values[mask]) / max(|mask|, min_count)`` without indexing by the mask: 0 (with
    zero gradients) for an empty mask; with ``min_count`` 1, the plain mean over the set.
    ``min_count`` may be a 0-d tensor (a floor chosen on the device).

    Examples:
        >>> masked_mean(torch.tensor([1.0, 2.0, 6.0]), torch.tensor([True, False, True]))
        tensor(3.5000)
        >>> masked_mean(torch.tensor([1.0, 2.0]), torch.tensor([False, False]))
        tensor(0.)
    """
    total = torch.where(mask, values, 0.0).sum()
    count = mask.sum().to(values.dtype)
    if isinstance(min_count, torch.Tensor):
        return total / torch.maximum(count, min_count.to(values.dtype))
    return total / count.clamp(min=min_count)
