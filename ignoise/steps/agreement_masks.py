"""The gradient agreement coefficient of GAL (eq. 4) over parameter pairs, and the masks it gives.

The coefficient of a unit (a whole tensor, an output channel, or an element) is the cosine of
the two networks' vectors for that unit. It is computed for every unit at once from flat views:
the vectors are concatenated, ``a * b``, ``a * a`` and ``b * b`` are summed per unit with one
segment reduction each, and the per-unit results are cut back into one view per tensor.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["AGREEMENT_GRANULARITIES", "AgreementUnits", "agreement_coefficients"]

#: ``tensor``: one coefficient per parameter tensor (the paper's ``P_i``); ``channel``: one per
#: output channel (slice along dim 0; a 1-D tensor's entries are channels); ``element``: one per
#: scalar, the cosine of two scalars being the agreement of their signs.
AGREEMENT_GRANULARITIES = ("tensor", "channel", "element")


class AgreementUnits:
    """How a list of parameter shapes is cut into the units whose agreement is measured.

    Built once per model; units are contiguous runs of the flattened, concatenated parameters.

    Args:
        shapes: the parameter shapes, in the order the vectors will be given.
        granularity: one of :data:`AGREEMENT_GRANULARITIES`.
        device: where the unit lengths live (the parameters' device).

    Examples:
        >>> units = AgreementUnits([(4, 3), (4,)], "channel")
        >>> units.num_units, [tuple(s) for s in units.mask_shapes]
        (8, [(4, 1), (4,)])
    """

    def __init__(self, shapes: Sequence[Sequence[int]], granularity: str = "tensor",
                 device: torch.device | str = "cpu") -> None:
        if granularity not in AGREEMENT_GRANULARITIES:
            raise ValueError(
                f"unknown agreement granularity {granularity!r}: expected one of "
                f"{AGREEMENT_GRANULARITIES}"
            )
        shapes = [torch.Size(s) for s in shapes]
        if not shapes:
            raise ValueError("no parameters to measure agreement on")
        self.granularity = granularity
        self.shapes = shapes
        self.tensor_numels = [s.numel() for s in shapes]
        self.numel = sum(self.tensor_numels)
        if granularity == "tensor":
            counts, lengths = [1] * len(shapes), self.tensor_numels
            self.mask_shapes = [torch.Size([]) for _ in shapes]
        elif granularity == "channel":
            counts = [s[0] if len(s) else 1 for s in shapes]
            lengths = [n // c for n, c in zip(self.tensor_numels, counts) for _ in range(c)]
            self.mask_shapes = [torch.Size([c] + [1] * (len(s) - 1)) if len(s) else s
                                for s, c in zip(shapes, counts)]
        else:
            counts, lengths = self.tensor_numels, None
            self.mask_shapes = list(shapes)
        #: Units per tensor (Python ints, so splitting never reads the device).
        self.unit_counts = counts
        self.num_units = sum(counts)
        self.lengths = None if lengths is None else torch.tensor(lengths, device=device)
        self._unit_counts_t = torch.tensor(counts, device=device)
        self._tensor_numels_t = torch.tensor(self.tensor_numels, device=device,
                                             dtype=torch.float32)
        # Work buffers, allocated on first use and reused: a step then allocates nothing large.
        self._flat: dict[str, torch.Tensor] = {}
        self._sums: list[torch.Tensor] = []

    def sum(self, flat: torch.Tensor) -> torch.Tensor:
        """Per-unit sums of a flat vector of length :attr:`numel`."""
        if self.lengths is None:
            return flat
        return torch.segment_reduce(flat, "sum", lengths=self.lengths)

    def buffer(self, name: str, device: torch.device) -> torch.Tensor:
        """The float32 work buffer ``name`` of length :attr:`numel` (allocated once)."""
        buffer = self._flat.get(name)
        if buffer is None or buffer.device != device:
            buffer = self._flat[name] = torch.empty(self.numel, device=device)
        return buffer

    def flat(self, name: str, tensors: Sequence[torch.Tensor]) -> torch.Tensor:
        """The tensors concatenated into the work buffer ``name``."""
        if any(t.dtype != torch.float32 for t in tensors):
            return torch.cat([t.reshape(-1) for t in tensors]).float()
        return torch.cat([t.reshape(-1) for t in tensors],
                         out=self.buffer(name, tensors[0].device))

    def sums(self, vectors_a: Sequence[torch.Tensor], vectors_b: Sequence[torch.Tensor]):
        """``a + b`` per tensor, in work buffers shaped like the parameters (reused)."""
        if [(t.shape, t.dtype, t.device) for t in self._sums] != \
                [(t.shape, t.dtype, t.device) for t in vectors_a]:
            self._sums = [torch.empty_like(t) for t in vectors_a]
        torch._foreach_copy_(self._sums, list(vectors_a))
        torch._foreach_add_(self._sums, list(vectors_b))
        return self._sums

    def split(self, per_unit: torch.Tensor) -> list[torch.Tensor]:
        """Cut a per-unit vector into one view per tensor, shaped to broadcast against it."""
        return [chunk.view(shape) for chunk, shape in
                zip(torch.split(per_unit, self.unit_counts), self.mask_shapes)]

    def element_fraction(self, mask: torch.Tensor) -> torch.Tensor:
        """Fraction of all parameter elements whose unit is in ``mask``."""
        mask = mask.float()
        if self.lengths is None:
            return mask.mean()
        return (mask * self.lengths).sum() / self.numel

    def tensor_fraction(self, mask: torch.Tensor) -> torch.Tensor:
        """Mean over tensors of the fraction of each tensor's elements in ``mask``."""
        weighted = mask.float() if self.lengths is None else mask.float() * self.lengths
        per_tensor = torch.segment_reduce(weighted, "sum", lengths=self._unit_counts_t)
        return (per_tensor / self._tensor_numels_t).mean()


def agreement_coefficients(vectors_a: Sequence[torch.Tensor], vectors_b: Sequence[torch.Tensor],
                           units: AgreementUnits) -> torch.Tensor:
    """Eq. 4 for every unit: ``<a, b> / (|a| |b|)``; element units give ``sign(a * b)``, the
    cosine of two scalars.

    Where the cosine is undefined: two zero vectors are equal and count as agreeing (1; a unit
    that no sample reached, e.g. a dead ReLU, has a zero gradient in both networks alike, and
    on identical batches every unit must agree), one zero vector against a non-zero one as
    not (0).

    Whole tensors use multi-tensor norms only: ``<a, b> = (|a + b|^2 - |a|^2 - |b|^2) / 2``.
    Channels and elements use flat float32 copies and one segment reduction per sum.

    Args:
        vectors_a, vectors_b: one tensor per parameter of network A and B (gradients, or
            whatever the reading compares), in the order ``units`` was built with.
        units: the unit layout.

    Returns:
        A float32 vector of length ``units.num_units``.

    Examples:
        >>> units = AgreementUnits([(2,), (2,)], "tensor")
        >>> a = [torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1.0])]
        >>> b = [torch.tensor([1.0, 1.0]), torch.tensor([-1.0, -1.0])]
        >>> agreement_coefficients(a, b, units)
        tensor([ 0.7071, -1.0000])
    """
    if units.granularity == "tensor":
        square = lambda vectors: torch.stack(torch._foreach_norm(list(vectors))).float() ** 2
        sq_a, sq_b = square(vectors_a), square(vectors_b)
        dot = (square(units.sums(vectors_a, vectors_b)) - sq_a - sq_b) / 2
        return _cosine(dot, sq_a, sq_b)
    fa, fb = units.flat("a", vectors_a), units.flat("b", vectors_b)
    if units.lengths is None:
        return torch.where((fa == 0) & (fb == 0), 1.0, torch.sign(fa * fb))
    product = lambda x, y: units.sum(torch.mul(x, y, out=units.buffer("product", x.device)))
    return _cosine(product(fa, fb), product(fa, fa), product(fb, fb))


def _cosine(dot: torch.Tensor, sq_a: torch.Tensor, sq_b: torch.Tensor) -> torch.Tensor:
    norms = sq_a.sqrt() * sq_b.sqrt()
    cosine = (dot / norms.clamp_min(torch.finfo(norms.dtype).tiny)).clamp(-1.0, 1.0)
    return torch.where(norms > 0, cosine, ((sq_a == 0) & (sq_b == 0)).float())
