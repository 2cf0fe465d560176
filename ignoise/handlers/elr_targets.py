"""ELR's target estimates: per sample, a running average of the model's predictions, updated
each time the sample is in a batch (temporal ensembling) and held alike by every rank."""

from __future__ import annotations

import ignite.distributed as idist
import torch
from ignite.engine import Engine, Events

__all__ = ["ELRTargets"]


class ELRTargets:
    """The ``(N, K)`` table of target estimates ``t`` of Liu et al. (NeurIPS 2020, the
    temporal ensembling of its target estimation).

    Each time sample ``i`` is in a batch, the step calls :meth:`update` with its (detached)
    prediction ``p~_i``, and ``t_i <- beta t_i + (1 - beta) p~_i`` takes effect before the loss
    reads it, as in the authors' code. The table starts at zero, as theirs: the first update of
    a row gives ``(1 - beta) p~_i``.

    In a multi-process run every rank holds the whole table. :meth:`update` writes the rows of
    the rank's own batch at once; at ``ITERATION_COMPLETED`` (see :meth:`attach`) the updated
    rows of every rank are all-gathered and written everywhere, so all ranks leave each
    iteration with the same table. Where one sample is in several ranks' batches (a
    distributed sampler pads the last batches with repeated samples), the row of the highest
    rank wins on every rank. Nothing here reads the device on the host.

    Args:
        num_samples: ``N``, the size of the training set (``index`` ranges over it).
        num_classes: ``K``.
        beta: the momentum of the running average (the authors': CIFAR-10 0.7, CIFAR-100 0.9).
        batch_size: the largest batch one rank passes to :meth:`update`; the gathered rows are
            padded to it, so that ranks whose last batches differ in size still gather alike.
        device: where the table lives (the accelerator's device).

    Examples:
        >>> import torch
        >>> targets = ELRTargets(4, 2, beta=0.5, batch_size=2)
        >>> targets.update(torch.tensor([3, 1]), torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
        tensor([[0.5000, 0.0000],
                [0.0000, 0.5000]])
        >>> targets.update(torch.tensor([3]), torch.tensor([[0.0, 1.0]]))
        tensor([[0.2500, 0.5000]])
        >>> targets.table[3]
        tensor([0.2500, 0.5000])
    """

    def __init__(self, num_samples: int, num_classes: int, *, beta: float, batch_size: int,
                 device: torch.device | str = "cpu") -> None:
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"beta must lie in [0, 1), got {beta!r}")
        if num_samples < 1 or num_classes < 2 or batch_size < 1:
            raise ValueError(f"need num_samples >= 1, num_classes >= 2 and batch_size >= 1, got "
                             f"{num_samples}, {num_classes}, {batch_size}")
        self.num_samples, self.num_classes = int(num_samples), int(num_classes)
        self.beta, self.batch_size = float(beta), int(batch_size)
        self.device = torch.device(device)
        # Row N is scratch: padding of the gathered rows is written there and never read.
        self._table = torch.zeros(self.num_samples + 1, self.num_classes, device=self.device)
        self._pending: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._attached = False

    @property
    def table(self) -> torch.Tensor:
        """``(N, K)``: the target estimate of every sample (a view of the live table)."""
        return self._table[: self.num_samples]

    def attach(self, trainer: Engine) -> None:
        """Share each iteration's updates across ranks at ``ITERATION_COMPLETED`` (nothing to do
        in a single process)."""
        self._attached = True
        trainer.add_event_handler(Events.ITERATION_COMPLETED, self.share)

    def update(self, index: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
        """``t[index] <- beta t[index] + (1 - beta) probs``; returns the batch's new rows.

        Args:
            index: ``(B,)`` sample ids, on the table's device.
            probs: ``(B, K)`` predictions (detached here).

        Returns:
            ``(B, K)``: the batch's target estimates after the update, in the batch's order.
        """
        if index.shape[0] > self.batch_size:
            raise ValueError(f"a batch of {index.shape[0]} samples, more than batch_size = "
                             f"{self.batch_size} given to ELRTargets")
        multi = idist.get_world_size() > 1
        if multi and not self._attached:
            raise RuntimeError("ELRTargets in a multi-process run must be attached to the "
                               "trainer, which shares the ranks' updates each iteration")
        index = index.to(self.device)
        rows = (self.beta * self._table.index_select(0, index)
                + (1.0 - self.beta) * probs.detach().float().to(self.device))
        rows = self._write(index, rows)
        if multi:
            self._pending.append((index, rows))
        return rows

    def weight_on(self, labels: torch.Tensor) -> torch.Tensor:
        """``(N,)``: ``t_{i, y_i} / sum_k t_{i, k}``, the share of each sample's estimate on its
        label ``y_i`` (0 for a sample not yet trained on): the method's per-sample evidence."""
        table = self.table
        on_label = table.gather(1, labels.to(self.device).long().view(-1, 1)).squeeze(1)
        return on_label / table.sum(dim=1).clamp_min(1e-12)

    def share(self, engine: Engine | None = None) -> None:
        """Write every rank's rows updated since the last call on every rank (all-gather)."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        if idist.get_world_size() == 1:
            return
        for index, rows in pending:
            pad = self.batch_size - index.shape[0]
            if pad:
                index = torch.cat([index, index.new_full((pad,), self.num_samples)])
                rows = torch.cat([rows, rows.new_zeros(pad, self.num_classes)])
            self._write(idist.all_gather(index), idist.all_gather(rows))

    def _write(self, index: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """``table[index] = rows`` where a repeated index takes its last row in ``index``'s
        order, whatever order the device writes in; returns the rows as written."""
        order = torch.argsort(index, stable=True)
        ordered = index.index_select(0, order)
        last = torch.searchsorted(ordered, ordered, right=True) - 1
        winners = rows.index_select(0, order).index_select(0, last)
        self._table.index_copy_(0, ordered, winners)
        # back in the caller's order: what each sample now holds
        return winners.index_select(0, torch.argsort(order))

    def state_dict(self) -> dict:
        return {"table": self.table.cpu()}

    def load_state_dict(self, state: dict) -> None:
        table = state["table"]
        if tuple(table.shape) != (self.num_samples, self.num_classes):
            raise ValueError(f"ELRTargets: a saved table of shape {tuple(table.shape)}, expected "
                             f"{(self.num_samples, self.num_classes)}")
        self._table[: self.num_samples].copy_(table.to(self.device))
        self._pending = []
