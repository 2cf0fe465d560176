"""The variational f-divergence loss of Wei & Liu (ICLR 2021), "When optimizing f-divergence is
robust with label noise": a classifier trained to maximize the f-divergence between the joint
distribution of inputs and noisy labels and the product of their marginals."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

__all__ = ["DIVERGENCES", "FDivergenceLoss", "f_divergence_terms", "product_partners"]

Term = Callable[[torch.Tensor], torch.Tensor]

_LOG2 = math.log(2.0)

#: name -> ``(g, f* o g)``: the activation ``g`` and the conjugate composed with it, both of the
#: classifier's probability ``v = h(x, y) = p(y | x)`` of the paired label (the f-div paper's
#: Table 1, as the authors' code writes them; ``f* o g`` is simplified where ``f*`` undoes part
#: of ``g``).
DIVERGENCES: dict[str, tuple[Term, Term]] = {
    "total_variation": (lambda v: torch.tanh(v) / 2.0, lambda v: torch.tanh(v) / 2.0),
    # g(v) = log 2 - log(1 + e^-v), f*(t) = -log(2 - e^t)  =>  f*(g(v)) = log(1 + e^v) - log 2
    "jensen_shannon": (lambda v: _LOG2 - torch.nn.functional.softplus(-v),
                       lambda v: torch.nn.functional.softplus(v) - _LOG2),
    "pearson": (lambda v: v, lambda v: v * v / 4.0 + v),
    "kl": (lambda v: v, lambda v: torch.exp(v - 1.0)),
    # f* of Jeffrey has no closed form (Lambert W): the authors' third-order expansion
    "jeffrey": (lambda v: v, lambda v: v + v * v / 4.0 + v * v * v / 16.0),
    # the authors' g(v) = -e^v (f-GAN writes -e^-v) and f*(t) = -1 - log(-t)
    "reverse_kl": (lambda v: -torch.exp(v), lambda v: -1.0 - v),
    # g(v) = 1 - e^v, f*(t) = t / (1 - t)
    "squared_hellinger": (lambda v: 1.0 - torch.exp(v), lambda v: torch.exp(-v) - 1.0),
}


def product_partners(batch_size: int, *, generator: torch.Generator | None = None,
                     device: torch.device | str | None = None) -> torch.Tensor:
    """A random pairing of a batch with itself in which no sample is its own partner.

    A uniformly random order ``s`` of the batch is read as one cycle: the partner of ``s[j]``
    is ``s[j + 1]`` (the last one's is ``s[0]``). Pairing each input with its partner's label
    then draws ``(x, y')`` from the product of the marginals, the labels always from another
    sample (a batch of one is its own partner). Everything stays on ``device``: no host sync.

    Returns:
        ``(B,)`` int64 partner positions.

    Examples:
        >>> partners = product_partners(5, generator=torch.Generator().manual_seed(0))
        >>> sorted(partners.tolist()), bool((partners != torch.arange(5)).all())
        ([0, 1, 2, 3, 4], True)
    """
    order = torch.randperm(batch_size, generator=generator, device=device)
    return torch.empty_like(order).scatter_(0, order, order.roll(-1))


def f_divergence_terms(logits: torch.Tensor, targets: torch.Tensor, partner_targets: torch.Tensor,
                       divergence: str = "total_variation") -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample joint and product terms of the variational f-divergence, as losses.

    With ``v = softmax(z)_y`` the probability of a label, the variational bound is
    ``D_f >= E_joint[g(v(x, y))] - E_product[f*(g(v(x, y')))]`` (the variational form of
    ``D_f`` the f-div paper maximizes, with the f-GAN parametrization ``T = g(h)``; its Table 1
    gives ``g`` and ``f*``); the loss minimized is its negative, per sample
    ``-g(v(x_i, y_i)) + f*(g(v(x_i, y'_i)))``.

    Args:
        logits: ``(B, K)`` scores.
        targets: ``(B,)`` the given labels (the joint pairs).
        partner_targets: ``(B,)`` labels drawn independently of the inputs (the product pairs),
            e.g. ``targets[product_partners(B)]``.
        divergence: a key of :data:`DIVERGENCES`.

    Returns:
        ``(joint, product)``, each ``(B,)``: ``-g(v(x, y))`` and ``f*(g(v(x, y')))``.

    Examples:
        >>> z = torch.zeros(2, 4)  # v = 1/4 everywhere
        >>> joint, product = f_divergence_terms(z, torch.tensor([0, 1]), torch.tensor([1, 0]))
        >>> round(float(joint[0]), 4), round(float(product[0]), 4)  # -tanh(.25)/2, tanh(.25)/2
        (-0.1225, 0.1225)
    """
    if divergence not in DIVERGENCES:
        raise ValueError(f"unknown divergence {divergence!r}: expected one of "
                         f"{', '.join(DIVERGENCES)}")
    activation, conjugate_of_activation = DIVERGENCES[divergence]
    probs = torch.softmax(logits, dim=1)
    v_joint = probs.gather(1, targets.unsqueeze(1)).squeeze(1)
    v_product = probs.gather(1, partner_targets.unsqueeze(1)).squeeze(1)
    return -activation(v_joint), conjugate_of_activation(v_product)


class FDivergenceLoss:
    """The f-div loss ``(logits, targets) -> (B,)`` with its own draws of the product pairs.

    Per sample, ``-g(v(x_i, y_i)) + f*(g(v(x_i, y'_i)))`` (:func:`f_divergence_terms`); the
    batch mean is the negative variational f-divergence the authors' code minimizes. Where the
    product label ``y'_i`` comes from:

    - ``"permuted"`` (the default; the authors' CIFAR code): the given label of another sample
      of the same batch (:func:`product_partners`), so ``y'`` follows the noisy-label
      marginal. The authors draw the product pairs from a second, independently shuffled
      loader (inputs of one batch, labels of another) and forward those inputs once more;
      pairing within the batch draws from the same product distribution without the second
      forward pass.
    - ``"uniform"`` (the authors' Clothing1M code, on a class-balanced subset): a uniformly
      random class.

    The draws come from a private generator on the loss's device, so they never synchronize
    with the host; :meth:`state_dict` holds it, so a resumed run draws what an uninterrupted
    one would.

    Args:
        divergence: a key of :data:`DIVERGENCES` (the paper's default: ``"total_variation"``).
        num_classes: ``K`` (for ``"uniform"``).
        product_labels: ``"permuted"`` or ``"uniform"``.
        seed: seed of the generator.
        device: where the draws happen (the logits' device).

    Examples:
        >>> loss = FDivergenceLoss("total_variation", num_classes=3, seed=0)
        >>> loss(torch.zeros(4, 3), torch.tensor([0, 1, 2, 0])).shape
        torch.Size([4])
    """

    PRODUCT_LABELS = ("permuted", "uniform")

    def __init__(self, divergence: str = "total_variation", *, num_classes: int,
                 product_labels: str = "permuted", seed: int = 0,
                 device: torch.device | str = "cpu") -> None:
        if divergence not in DIVERGENCES:
            raise ValueError(f"unknown divergence {divergence!r}: expected one of "
                             f"{', '.join(DIVERGENCES)}")
        if product_labels not in self.PRODUCT_LABELS:
            raise ValueError(f"product_labels must be one of {self.PRODUCT_LABELS}, got "
                             f"{product_labels!r}")
        self.divergence = divergence
        self.num_classes = int(num_classes)
        self.product_labels = product_labels
        self.generator = torch.Generator(device=device).manual_seed(int(seed))

    def partner_targets(self, targets: torch.Tensor) -> torch.Tensor:
        """``(B,)`` the product pairs' labels for a batch with given labels ``targets``."""
        if self.product_labels == "uniform":
            return torch.randint(0, self.num_classes, targets.shape, generator=self.generator,
                                 device=targets.device)
        partners = product_partners(targets.shape[0], generator=self.generator,
                                    device=targets.device)
        return targets[partners]

    def __call__(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        joint, product = f_divergence_terms(logits, targets, self.partner_targets(targets),
                                            self.divergence)
        return joint + product

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
