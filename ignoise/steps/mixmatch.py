"""The target-building pieces of MixMatch as DivideMix uses them: label refinement, co-guessing,
sharpening, mixup and the ramp-up of the unlabeled loss weight."""

from __future__ import annotations

import torch

__all__ = ["sharpen", "refine_labels", "co_guess", "mixup", "linear_rampup"]


def sharpen(probs: torch.Tensor, temperature: float) -> torch.Tensor:
    """Temperature sharpening ``p_k^(1/T) / sum_j p_j^(1/T)`` of each row.

    Args:
        probs: ``(B, K)`` distributions.
        temperature: ``T`` in (0, 1] sharpens; 1 leaves the rows as they are.

    Examples:
        >>> import torch
        >>> sharpen(torch.tensor([[0.6, 0.4]]), 0.5)
        tensor([[0.6923, 0.3077]])
    """
    sharp = probs.pow(1.0 / temperature)
    return sharp / sharp.sum(dim=1, keepdim=True)


def refine_labels(labels: torch.Tensor, probs: torch.Tensor,
                  clean_prob: torch.Tensor) -> torch.Tensor:
    """Label refinement (co-refinement when ``clean_prob`` comes from the other network):
    ``w * y + (1 - w) * p`` with ``w`` the sample's clean probability.

    Args:
        labels: ``(B, K)`` one-hot labels (or any target distributions).
        probs: ``(B, K)`` the trained network's prediction (DivideMix: the mean over two views).
        clean_prob: ``(B,)`` the probability that each label is clean.

    Examples:
        >>> import torch
        >>> y, p = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.2, 0.8]])
        >>> refine_labels(y, p, torch.tensor([0.5]))
        tensor([[0.6000, 0.4000]])
    """
    w = clean_prob.to(probs.dtype).unsqueeze(1)
    return w * labels + (1.0 - w) * probs


def co_guess(*probs: torch.Tensor) -> torch.Tensor:
    """The co-guessed distribution: the mean of the predictions of both networks on all views.

    Args:
        *probs: ``(B, K)`` softmax outputs (DivideMix: two networks times two views).

    Examples:
        >>> import torch
        >>> co_guess(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]]))
        tensor([[0.5000, 0.5000]])
    """
    return torch.stack(probs).mean(dim=0)


def mixup(
    inputs: torch.Tensor,
    targets: torch.Tensor,
    alpha: float,
    *,
    lam: torch.Tensor | None = None,
    perm: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """MixMatch's mixup: ``l x + (1 - l) x[perm]`` with ``l = max(b, 1 - b)``, ``b ~ Beta(a, a)``.

    Taking the larger weight keeps each mixed input closer to its own sample, so the first
    rows stay labeled and the last unlabeled for the two losses.

    Args:
        inputs: ``(B, ...)`` inputs of the whole batch (labeled then unlabeled).
        targets: ``(B, K)`` their target distributions.
        alpha: the Beta parameter.
        lam: a given mixing weight (tests); drawn from the torch generator otherwise.
        perm: a given partner permutation (tests); ``torch.randperm`` otherwise.

    Returns:
        ``(mixed_inputs, mixed_targets, lam)``; ``lam`` is a 0-d tensor, never read on the host.

    Examples:
        >>> import torch
        >>> x, q = torch.tensor([[0.0], [1.0]]), torch.eye(2)
        >>> lam, perm = torch.tensor(0.75), torch.tensor([1, 0])
        >>> mixed_x, mixed_q, lam = mixup(x, q, 4.0, lam=lam, perm=perm)
        >>> mixed_x.flatten().tolist(), mixed_q[0].tolist()
        ([0.25, 0.75], [0.75, 0.25])
    """
    if lam is None:
        # Drawn on the inputs' device: a CPU draw copied to a GPU would block the host. No
        # argument validation: checking alpha > 0 on a device tensor reads it back three times
        # per call (alpha is a checked float).
        a = torch.full((), float(alpha), device=inputs.device)
        draw = torch.distributions.Beta(a, a, validate_args=False).sample()
        lam = torch.maximum(draw, 1.0 - draw)
    if perm is None:
        perm = torch.randperm(inputs.shape[0], device=inputs.device)
    lam = lam.to(inputs.device)
    mixed_inputs = lam * inputs + (1.0 - lam) * inputs[perm]
    mixed_targets = lam * targets + (1.0 - lam) * targets[perm]
    return mixed_inputs, mixed_targets, lam


def linear_rampup(progress: float, start: float, length: float = 16.0) -> float:
    """The ramp-up factor of the unlabeled loss weight: 0 until ``start``, then linear to 1 over
    ``length`` epochs.

    DivideMix calls it with ``progress = epoch + batch / batches`` (epochs counted from 0) and
    ``start`` the number of warm-up epochs, so the unlabeled loss fades in during the first 16
    epochs of semi-supervised training. It works on Python floats: no host synchronization.

    Examples:
        >>> linear_rampup(10.0, 10), linear_rampup(18.0, 10), linear_rampup(40.0, 10)
        (0.0, 0.5, 1.0)
    """
    if length <= 0:
        return 1.0 if progress >= start else 0.0
    return min(max((progress - start) / length, 0.0), 1.0)
