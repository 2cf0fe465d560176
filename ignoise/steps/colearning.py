"""Co-learning (Tan, Xia, Wu & Li, "Co-learning: Learning from noisy labels with
self-supervision", ACM MM 2021): one encoder shared by a classifier head trained on the noisy
labels and a projection head trained by contrastive self-supervision, the classifier's relations
across the batch pulled toward the projection head's.

Reconstructed from the authors' code (github.com/chengtan9907/Co-learning-Learning-from-noisy-
labels-with-self-supervision, ``algorithms/Colearning.py``, ``models/model.py``,
``losses/loss_ntxent.py``, ``losses/loss_structrue.py``); the paper's text was not at hand, so
where the two might differ the code is followed and the docstrings say so.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..data import move_batch
from ..losses import nt_xent, structural_similarity
from .mixmatch import mixup

__all__ = ["CoLearningNetwork", "CoLearningStep"]


class CoLearningNetwork(nn.Module):
    """A classification network with Co-learning's projection head on its penultimate features.

    The encoder is the network up to its last linear layer: ``features()`` and ``linear`` for
    ignoise's own networks (DigitsCNN, PreAct-ResNet; DigitsCNN's ``dropout`` kept before the
    classifier), or a torchvision-style ``fc`` (replaced here by the identity, so ``backbone(x)``
    gives the features). The projection head is the code's ``g``:
    ``Linear(d, d, bias=False), ReLU, Linear(d, projection_dim)`` with ``d`` the feature width.

    ``forward(x)`` returns the logits, so evaluators use the module as any classifier;
    ``forward(x, heads=True)`` returns ``(logits, projections, logits of the detached
    features)``, the last for the structural loss, which trains the classifier alone (the code
    steps it with an optimizer over ``fc`` only). Every head runs inside ``forward``, so DDP
    sees all of them.

    Args:
        backbone: the classification network.
        projection_dim: the projection's width (the code's ``feature_dim``: 512 in its
            configs, 128 its model's default).

    Raises:
        TypeError: for a network with neither ``features``/``linear`` nor ``fc``.

    Examples:
        >>> from ignoise.models import DigitsCNN
        >>> net = CoLearningNetwork(DigitsCNN(), projection_dim=32)
        >>> logits, z, detached = net(torch.zeros(3, 1, 8, 8), heads=True)
        >>> logits.shape, z.shape, net(torch.zeros(3, 1, 8, 8)).shape
        (torch.Size([3, 10]), torch.Size([3, 32]), torch.Size([3, 10]))
    """

    def __init__(self, backbone: nn.Module, projection_dim: int = 128) -> None:
        super().__init__()
        self.backbone = backbone
        if callable(getattr(backbone, "features", None)) and isinstance(
                getattr(backbone, "linear", None), nn.Linear):
            self.own_features = True
            self.classifier = backbone.linear
            dropout = getattr(backbone, "dropout", None)
            self.dropout = dropout if isinstance(dropout, nn.Module) else nn.Identity()
        elif isinstance(getattr(backbone, "fc", None), nn.Linear):
            self.own_features = False
            self.classifier = backbone.fc
            backbone.fc = nn.Identity()
            self.dropout = nn.Identity()
        else:
            raise TypeError(
                f"CoLearningNetwork needs a network with a features() method and a `linear` "
                f"classifier (ignoise's networks) or an `fc` classifier (torchvision's ResNets); "
                f"{type(backbone).__name__} has neither")
        width = self.classifier.in_features
        self.projection = nn.Sequential(nn.Linear(width, width, bias=False), nn.ReLU(inplace=True),
                                        nn.Linear(width, projection_dim))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate features."""
        return self.backbone.features(x) if self.own_features else self.backbone(x)

    def forward(self, x: torch.Tensor, heads: bool = False):
        h = self.encode(x)
        logits = self.classifier(self.dropout(h))
        if not heads:
            return logits
        return logits, self.projection(h), self.classifier(self.dropout(h.detach()))


class CoLearningStep:
    """One Co-learning iteration on a batch with two augmented views (``x``, ``x2``).

    The loss is ``L_sup + w_c L_con + w_s L_struct`` (the code: ``loss_sup + loss_con`` for
    the whole network, and ``loss_feat`` for the classifier ``fc`` alone):

    - ``L_sup``: cross-entropy on the noisy labels. As the code, on a mixup of the first view
      (one ``lambda ~ Beta(5, 5)`` per batch, partners a permutation of the batch;
      :func:`~ignoise.steps.mixmatch.mixup`, which keeps ``max(lambda, 1 - lambda)``: the same
      distribution of mixed pairs), cross-entropy toward the mixed one-hot labels (the code's
      ``lam CE(y_a) + (1 - lam) CE(y_b)``, equal). ``mixup_alpha = 0``: plain cross-entropy
      on ``x``.
    - ``L_con`` (intrinsic similarity): NT-Xent (:func:`~ignoise.losses.nt_xent`, cosine,
      temperature 0.5) between the projections of the two views.
    - ``L_struct`` (structural similarity): :func:`~ignoise.losses.structural_similarity`
      between the projection head's relations (detached, the target) and the classifier's
      logits on the first view, with the encoder's features detached: only the classifier
      learns from it, as in the code.

    The views and the mixed batch go through the network in one forward (``3B`` rows; ``2B``
    without mixup), so batch normalization sees them together; the code forwards each
    separately (and once more, unused). The code takes a weakly augmented view (random-resized
    crop and flip) for ``L_sup``/``L_struct`` and two strongly augmented ones (plus colour
    jitter and grayscale) for ``L_con``; here the loader's two views of the dataset's own
    augmentation serve all three (``x`` for ``L_sup``, ``L_struct`` and one side of ``L_con``).
    The code steps the classifier with a separate Adam on ``L_struct`` before the main step;
    here one optimizer steps on the sum (to first order the same update). Nothing here reads
    the device.

    Args:
        model: a :class:`CoLearningNetwork` (prepared by Accelerate).
        optimizer: its optimizer (prepared).
        accelerator: the run's Accelerator.
        num_classes: ``K``.
        temperature: NT-Xent's temperature.
        mixup_alpha: the Beta parameter of the supervised mixup (0: no mixup).
        contrastive_weight: ``w_c``.
        structure_weight: ``w_s``.

    Returns (per call): ``loss``, ``supervised_loss``, ``contrastive_loss``,
    ``structural_loss`` (detached 0-d tensors), and ``logits`` (of ``x``), ``index``, ``y``.

    Examples:
        >>> from accelerate import Accelerator
        >>> from ignoise.models import DigitsCNN
        >>> net = CoLearningNetwork(DigitsCNN(), projection_dim=16)
        >>> step = CoLearningStep(net, torch.optim.SGD(net.parameters(), 0.1),
        ...                       Accelerator(cpu=True), num_classes=10)
        >>> out = step(None, {"x": torch.randn(8, 1, 8, 8), "x2": torch.randn(8, 1, 8, 8),
        ...                   "y": torch.randint(0, 10, (8,)), "index": torch.arange(8)})
        >>> sorted(k for k in out if k.endswith("loss"))
        ['contrastive_loss', 'loss', 'structural_loss', 'supervised_loss']
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: torch.optim.Optimizer,
        accelerator,
        *,
        num_classes: int,
        temperature: float = 0.5,
        mixup_alpha: float = 5.0,
        contrastive_weight: float = 1.0,
        structure_weight: float = 1.0,
    ) -> None:
        self.model, self.optimizer, self.accelerator = model, optimizer, accelerator
        self.num_classes = num_classes
        self.temperature = temperature
        self.mixup_alpha = mixup_alpha
        self.contrastive_weight = contrastive_weight
        self.structure_weight = structure_weight

    def __call__(self, engine, batch: dict) -> dict:
        if "x2" not in batch:
            raise KeyError("CoLearningStep needs batches with two views, 'x' and 'x2' "
                           "(build the loader with views=2)")
        batch = move_batch(batch, self.accelerator.device)
        x, x2, y = batch["x"], batch["x2"], batch["y"]
        b = x.shape[0]
        parts = [x, x2]
        if self.mixup_alpha > 0:
            # A scatter, not F.one_hot, which checks the class range on the host off CUDA.
            onehot = torch.zeros(b, self.num_classes, dtype=x.dtype,
                                 device=y.device).scatter_(1, y[:, None], 1.0)
            mixed_x, mixed_targets, _ = mixup(x, onehot, self.mixup_alpha)
            parts.append(mixed_x)
        self.model.train()
        with self.accelerator.autocast():
            logits, projections, classifier_only = self.model(torch.cat(parts), heads=True)
        logits, projections = logits.float(), projections.float()
        if self.mixup_alpha > 0:
            supervised = -(mixed_targets.float() * logits[2 * b:].log_softmax(1)).sum(1).mean()
        else:
            supervised = F.cross_entropy(logits[:b], y)
        contrastive = nt_xent(projections[:b], projections[b:2 * b], self.temperature).mean()
        structural = structural_similarity(projections[:b], classifier_only[:b].float()).mean()
        loss = (supervised + self.contrastive_weight * contrastive
                + self.structure_weight * structural)
        self.optimizer.zero_grad(set_to_none=True)
        self.accelerator.backward(loss)
        self.optimizer.step()
        return {
            "loss": loss.detach(),
            "supervised_loss": supervised.detach(),
            "contrastive_loss": contrastive.detach(),
            "structural_loss": structural.detach(),
            "logits": logits[:b].detach(),
            "index": batch["index"],
            "y": y,
        }
