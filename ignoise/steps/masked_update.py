"""Applying an optimizer's step only where a mask allows: masked entries keep their value and
their optimizer state, so they do not drift under momentum or weight decay."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch

__all__ = ["MaskedUpdate"]


class MaskedUpdate:
    """Snapshot a network's parameters and optimizer state, let the optimizer step, then put
    back the snapshot wherever the mask says "no update".

    Every per-element state tensor of the optimizer (SGD's momentum buffer, Adam's moments) is
    restored with the parameters; a state tensor created by this step (the first momentum
    step) is reset to zero where masked. Scalar state such as Adam's step counter cannot be
    masked per element and advances. Restoring uses ``torch._foreach_lerp_`` with weights 0 or
    1, which reproduces the step's result or the snapshot bit for bit.

    Args:
        optimizer: the optimizer that owns ``params`` (an Accelerate-prepared one works).
        params: the parameters, in the order the masks will be given.

    Examples:
        >>> p = torch.nn.Parameter(torch.ones(2, 2))
        >>> opt = torch.optim.SGD([p], lr=1.0, momentum=0.9)
        >>> update = MaskedUpdate(opt, [p])
        >>> p.grad = torch.ones(2, 2)
        >>> update.snapshot(); opt.step()
        >>> update.restore([torch.tensor([1.0, 0.0]).view(2, 1)])  # freeze the first row
        >>> p.data
        tensor([[1., 1.],
                [0., 0.]])
    """

    def __init__(self, optimizer, params: Iterable[torch.nn.Parameter]) -> None:
        self.optimizer = getattr(optimizer, "optimizer", optimizer)
        self.params = list(params)
        #: The parameters as they were at the last :meth:`snapshot`.
        self.params_before: list[torch.Tensor] = []
        self._state_before: dict[tuple[int, str], torch.Tensor] = {}
        self._snapshot_keys: set[tuple[int, str]] = set()

    def _state_tensors(self) -> list[tuple[tuple[int, str], torch.Tensor]]:
        found = []
        for i, p in enumerate(self.params):
            for key, value in self.optimizer.state.get(p, {}).items():
                if torch.is_tensor(value) and value.shape == p.shape:
                    found.append(((i, key), value))
        return found

    @torch.no_grad()
    def snapshot(self) -> None:
        """Copy the parameters and the per-element optimizer state (call before stepping).

        The copies go into buffers allocated once, so a step allocates nothing.
        """
        if not self.params_before:
            self.params_before = [torch.empty_like(p) for p in self.params]
        torch._foreach_copy_(self.params_before, [p.detach() for p in self.params])
        state = self._state_tensors()
        for key, value in state:
            if key not in self._state_before or self._state_before[key].shape != value.shape:
                self._state_before[key] = torch.empty_like(value)
        if state:
            torch._foreach_copy_([self._state_before[k] for k, _ in state], [v for _, v in state])
        self._snapshot_keys = {k for k, _ in state}

    @torch.no_grad()
    def restore(self, frozen: Sequence[torch.Tensor]) -> None:
        """Put the snapshot back where ``frozen`` is 1 (one float mask per parameter, 0 or 1,
        broadcastable to it)."""
        weights = [_as(w, p) for w, p in zip(frozen, self.params)]
        torch._foreach_lerp_(self.params, self.params_before, weights)
        state = self._state_tensors()
        if state:
            now = [v for _, v in state]
            # State created by this very step (the first momentum step) goes back to zero.
            before = [self._state_before[k] if k in self._snapshot_keys else torch.zeros_like(v)
                      for (k, _), v in zip(state, now)]
            torch._foreach_lerp_(now, before, [_as(weights[i], v) for (i, _), v in state])


def _as(weight: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return weight if weight.dtype == like.dtype else weight.to(like.dtype)

