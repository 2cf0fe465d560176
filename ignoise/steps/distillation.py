"""Pseudo-label supervising (GAL section 3.3, Algorithm 2): a third network C learns from the
joint prediction of A and B, never from the given labels."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from ..data import is_paired, move_batch

__all__ = ["joint_probabilities", "distillation_loss", "DistillationStep"]


def joint_probabilities(models: Sequence[torch.nn.Module], x: torch.Tensor) -> torch.Tensor:
    """Eq. 6: the mean of the models' softmax outputs, in float32.

    Examples:
        >>> m = torch.nn.Linear(2, 3)
        >>> joint_probabilities([m, m], torch.zeros(1, 2)).sum().item()
        1.0
    """
    return torch.stack([model(x).float().softmax(dim=1) for model in models]).mean(dim=0)


def distillation_loss(logits: torch.Tensor, joint: torch.Tensor,
                      pseudo_label_threshold: float = 0.8) -> dict[str, torch.Tensor]:
    """C's loss ``L = L_d + L_c`` (eq. 11) for a batch.

    - Pseudo-labels (eq. 7): ``argmax`` of the joint prediction.
    - ``L_c`` (eq. 9): cross-entropy on the pseudo-labels whose joint confidence (the max of
      the joint prediction) exceeds ``pseudo_label_threshold``, summed and divided by the
      *batch size*, not by the number of confident samples, as eq. 9 writes it.
    - ``L_d`` (eq. 10): ``KL(joint || softmax(logits))`` averaged over the batch.

    Args:
        logits: C's outputs, ``(B, K)``.
        joint: the joint prediction of A and B for the same samples, ``(B, K)``.
        pseudo_label_threshold: ``epsilon`` of eq. 9 (paper: 0.8).

    Returns:
        ``loss``, ``loss_kl`` (``L_d``), ``loss_pseudo`` (``L_c``) and ``confident_fraction``.

    Examples:
        >>> joint = torch.tensor([[0.9, 0.1], [0.6, 0.4]])
        >>> out = distillation_loss(torch.zeros(2, 2), joint)
        >>> round(float(out["loss_pseudo"]), 4), float(out["confident_fraction"])
        (0.3466, 0.5)
    """
    log_probs = F.log_softmax(logits.float(), dim=1)
    confidence, pseudo = joint.max(dim=1)
    confident = (confidence > pseudo_label_threshold).float()
    batch = logits.shape[0]
    loss_pseudo = (confident * F.nll_loss(log_probs, pseudo, reduction="none")).sum() / batch
    loss_kl = F.kl_div(log_probs, joint, reduction="sum") / batch
    return {
        "loss": loss_kl + loss_pseudo,
        "loss_kl": loss_kl,
        "loss_pseudo": loss_pseudo,
        "confident_fraction": confident.mean(),
    }


class DistillationStep:
    """One iteration of network C on the joint prediction of A and B.

    The joint prediction of each sample comes either from a per-epoch table
    (``joint=pseudo_labels.lookup`` of :class:`ignoise.handlers.PseudoLabels`, the paper's
    "every epoch", default in the recipes) or is computed online from ``teachers`` on C's
    own (augmented) batch, with the teachers in eval mode.

    Args:
        model: network C (prepared).
        optimizer: its optimizer (prepared).
        accelerator: the run's Accelerator.
        joint: ``batch -> (B, K)`` joint probabilities of the batch's samples.
        teachers: A and B, for online pseudo-labels (give ``joint`` or ``teachers``).
        pseudo_label_threshold: ``epsilon`` of eq. 9.

    A paired batch trains C on its ``"a"`` half, which covers the training set once per epoch.

    Returns (per call): ``loss``, ``loss_kl``, ``loss_pseudo``, ``confident_fraction`` as
    detached tensors; nothing here reads the device.

    Examples:
        >>> from accelerate import Accelerator
        >>> c, teacher = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
        >>> step = DistillationStep(c, torch.optim.SGD(c.parameters(), 0.1),
        ...                         Accelerator(cpu=True), teachers=[teacher, teacher])
        >>> out = step(None, {"x": torch.randn(8, 4), "y": torch.zeros(8, dtype=torch.long),
        ...                   "index": torch.arange(8)})
        >>> sorted(out)
        ['confident_fraction', 'loss', 'loss_kl', 'loss_pseudo']
    """

    def __init__(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        accelerator,
        *,
        joint: Callable[[dict], torch.Tensor] | None = None,
        teachers: Sequence[torch.nn.Module] | None = None,
        pseudo_label_threshold: float = 0.8,
    ) -> None:
        if (joint is None) == (teachers is None):
            raise ValueError("give exactly one of joint (per-epoch table) or teachers (online)")
        if not 0.0 <= pseudo_label_threshold < 1.0:
            raise ValueError(
                f"pseudo_label_threshold must lie in [0, 1), got {pseudo_label_threshold}"
            )
        self.model, self.optimizer, self.accelerator = model, optimizer, accelerator
        self.joint, self.teachers = joint, list(teachers) if teachers is not None else None
        self.pseudo_label_threshold = float(pseudo_label_threshold)

    def __call__(self, engine, batch: dict) -> dict:
        batch = move_batch(batch["a"] if is_paired(batch) else batch, self.accelerator.device)
        with torch.no_grad():
            joint = self.joint(batch) if self.joint is not None else self._online(batch["x"])
        self.model.train()
        with self.accelerator.autocast():
            logits = self.model(batch["x"])
        out = distillation_loss(logits, joint, self.pseudo_label_threshold)
        self.optimizer.zero_grad(set_to_none=True)
        self.accelerator.backward(out["loss"])
        self.optimizer.step()
        return {key: value.detach() for key, value in out.items()}

    def _online(self, x: torch.Tensor) -> torch.Tensor:
        modes = [teacher.training for teacher in self.teachers]
        for teacher in self.teachers:
            teacher.eval()
        with self.accelerator.autocast():
            joint = joint_probabilities(self.teachers, x)
        for teacher, mode in zip(self.teachers, modes):
            teacher.train(mode)
        return joint
