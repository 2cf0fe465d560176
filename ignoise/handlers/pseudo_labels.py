"""GAL's per-epoch pseudo-labels: the joint prediction of A and B over the whole training set,
held as one table indexed by sample and shared by every process."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch
from ignite.engine import Engine, Events

from ..steps.distillation import joint_probabilities
from .training_set_predictions import predict_training_set

__all__ = ["PseudoLabels"]


class PseudoLabels:
    """Refreshes the joint prediction (eq. 6) of the teachers at the start of each epoch.

    Each process predicts its share of the training set (a rank-split evaluation loader, no
    augmentation), and the shares are summed across processes into an ``(N, K)`` table, so
    every rank holds the same one. :meth:`lookup` serves a batch's rows to
    :class:`ignoise.steps.DistillationStep`. After each refresh :meth:`summary` gives the
    fraction of samples whose joint confidence exceeds the threshold and, where the clean
    labels are known (diagnostics only), the precision of the pseudo-labels (eq. 7): among
    the confident ones (those eq. 9 trains on) and among all.

    Args:
        teachers: networks A and B.
        loader: the training set in a fixed order with the evaluation transform, split by rank
            (:func:`ignoise.data.make_eval_loader`); batches must carry ``index``.
        num_samples: training-set size ``N``.
        num_classes: ``K``.
        accelerator: the run's Accelerator (device, autocast).
        pseudo_label_threshold: ``epsilon`` of eq. 9, for the summary.
        clean_targets: the clean labels, if known.
        start_epoch: first epoch (1-based) whose start triggers a refresh (GAL: the first epoch
            after the warm-up).

    Examples:
        >>> from accelerate import Accelerator
        >>> teacher = torch.nn.Linear(2, 2)
        >>> batch = {"x": torch.randn(4, 2), "y": torch.zeros(4, dtype=torch.long),
        ...          "index": torch.arange(4)}
        >>> table = PseudoLabels([teacher], [batch], 4, 2, Accelerator(cpu=True))
        >>> table.refresh(); table.lookup(batch).shape
        torch.Size([4, 2])
    """

    def __init__(
        self,
        teachers: Sequence[torch.nn.Module],
        loader: Iterable,
        num_samples: int,
        num_classes: int,
        accelerator,
        *,
        pseudo_label_threshold: float = 0.8,
        clean_targets: Sequence[int] | np.ndarray | None = None,
        start_epoch: int = 1,
    ) -> None:
        self.teachers = list(teachers)
        self.loader = loader
        self.accelerator = accelerator
        self.pseudo_label_threshold = float(pseudo_label_threshold)
        self.start_epoch = int(start_epoch)
        device = accelerator.device
        self.joint = torch.full((num_samples, num_classes), 1.0 / num_classes, device=device)
        self.clean = (None if clean_targets is None else
                      torch.as_tensor(np.asarray(clean_targets), dtype=torch.long, device=device))
        self.refreshed_epoch = 0
        self.stats: dict[str, float] = {}

    def attach(self, trainer: Engine) -> None:
        trainer.add_event_handler(
            Events.EPOCH_STARTED(event_filter=lambda _, epoch: epoch >= self.start_epoch), self
        )

    def __call__(self, trainer: Engine) -> None:
        self.refresh()
        self.refreshed_epoch = trainer.state.epoch

    @torch.no_grad()
    def refresh(self) -> None:
        """Predict the training set with the teachers and rebuild the table on every rank."""
        self.joint = predict_training_set(
            lambda x: joint_probabilities(self.teachers, x), self.loader, *self.joint.shape,
            self.accelerator, models=self.teachers)
        self.stats = self._summarize()

    def lookup(self, batch: dict) -> torch.Tensor:
        """The joint prediction of the batch's samples, ``(B, K)``."""
        return self.joint[batch["index"].to(self.joint.device)]

    def _summarize(self) -> dict[str, float]:
        confidence, pseudo = self.joint.max(dim=1)
        confident = confidence > self.pseudo_label_threshold
        stats = {"pseudo_label_confident_fraction": float(confident.float().mean())}
        if self.clean is not None:
            correct = pseudo == self.clean
            stats["pseudo_label_accuracy"] = float(correct.float().mean())
            if bool(confident.any()):  # undefined when nothing is confident
                stats["pseudo_label_precision"] = float(correct[confident].float().mean())
        return stats

    def summary(self) -> dict[str, float]:
        """The last refresh's figures (empty before the first refresh)."""
        return dict(self.stats)

    def state_dict(self) -> dict:
        return {"joint": self.joint.cpu(), "refreshed_epoch": self.refreshed_epoch,
                "stats": dict(self.stats)}

    def load_state_dict(self, state: dict) -> None:
        self.joint = state["joint"].to(self.joint.device)
        self.refreshed_epoch = int(state["refreshed_epoch"])
        self.stats = {k: float(v) for k, v in state["stats"].items()}
