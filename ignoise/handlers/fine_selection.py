"""FINE's selection (Kim, Ko, Kim & Yun, NeurIPS 2021, "FINE Samples for Learning with Noisy
Labels"): a sample is kept when its feature lines up with the principal eigenvector of its
labeled class, judged per class by a two-component Gaussian mixture on the alignments."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterable

import ignite.distributed as idist
import numpy as np
import torch
import torch.nn.functional as F
from ignite.engine import Engine, Events
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from ..data import move_batch
from ..losses import SCREENED_OUT
from .gradient_bias import final_linear

__all__ = ["FineSelection", "class_gram_matrices", "principal_directions", "fine_scores",
           "fine_clean_probability", "FINE_SCORES", "EIGEN_FROM"]

#: How a sample's alignment is scored: the paper's square or the authors' absolute value.
FINE_SCORES = ("squared", "absolute")
#: Which samples of a class build its gram matrix.
EIGEN_FROM = ("selected", "all")


def class_gram_matrices(features: torch.Tensor, labels: torch.Tensor, num_classes: int,
                        weights: torch.Tensor | None = None) -> torch.Tensor:
    """``(K, D, D)`` per-class gram matrices ``sum_{i: y_i = k} w_i z_i z_i^T`` in float64.

    The features are used as they are (the authors take the SVD of the raw feature matrix of a
    class, whose top right singular vector is the top eigenvector of this matrix).

    Args:
        features: ``(N, D)``; labels: ``(N,)``; weights: ``(N,)`` (default all ones; 0 leaves
            a sample out).

    Examples:
        >>> z = torch.tensor([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
        >>> class_gram_matrices(z, torch.tensor([0, 0, 1]), 2)[0]
        tensor([[1., 0.],
                [0., 4.]], dtype=torch.float64)
    """
    z = features.double()
    if weights is not None:
        z = z * weights.double().unsqueeze(1).sqrt()
    grams = torch.zeros(num_classes, z.shape[1], z.shape[1], dtype=torch.float64,
                        device=z.device)
    for k in range(num_classes):  # one matmul per class: per-epoch work
        members = z[labels == k]
        grams[k] = members.T @ members
    return grams


def principal_directions(grams: torch.Tensor) -> torch.Tensor:
    """``(K, D)`` the unit eigenvector of each gram matrix's largest eigenvalue, its sign fixed
    so that its largest-magnitude component is positive (the score does not depend on the sign;
    the state then does not either)."""
    _, vectors = torch.linalg.eigh(grams)
    top = vectors[..., -1]  # eigh sorts the eigenvalues in ascending order
    pivot = top.gather(1, top.abs().argmax(dim=1, keepdim=True))
    return top * torch.where(pivot < 0, -1.0, 1.0).to(top.dtype)


def fine_scores(features: torch.Tensor, labels: torch.Tensor, directions: torch.Tensor,
                score: str = "squared") -> torch.Tensor:
    """``(N,)`` FINE scores: the alignment of each normalized feature with its labeled class's
    principal direction, ``<u_{y_i}, z_i / |z_i|>^2`` (the paper's Algorithm 1) or its absolute
    value (``score="absolute"``, the authors' code).

    Examples:
        >>> u = torch.tensor([[1.0, 0.0]])
        >>> fine_scores(torch.tensor([[3.0, 4.0]]), torch.tensor([0]), u)
        tensor([0.3600])
    """
    if score not in FINE_SCORES:
        raise ValueError(f"score must be one of {FINE_SCORES}, got {score!r}")
    z = F.normalize(features.to(directions.dtype), dim=1)
    inner = (z * directions[labels]).sum(dim=1)
    return inner.square() if score == "squared" else inner.abs()


def fine_clean_probability(scores: torch.Tensor, labels: torch.Tensor, num_classes: int, *,
                           seed: int = 0, max_iter: int = 100, tol: float = 1e-6,
                           reg_covar: float = 1e-6) -> torch.Tensor:
    """``(N,)`` per class, the posterior of the larger-mean component of a two-component 1-D
    Gaussian mixture fitted on that class's scores (the authors' ``fit_mixture``: full
    covariance, ``tol`` 1e-6, 100 EM iterations). A class with fewer than two samples or equal
    scores keeps every sample (probability 1).

    Examples:
        >>> s = torch.cat([torch.full((20,), 0.9), torch.full((20,), 0.1)])
        >>> p = fine_clean_probability(s + 0.01 * torch.randn(40), torch.zeros(40).long(), 1)
        >>> bool((p[:20] > 0.5).all() and (p[20:] < 0.5).all())
        True
    """
    x_all = scores.detach().double().cpu().numpy()
    y_all = labels.detach().cpu().numpy()
    prob = np.ones(len(x_all))
    for k in range(num_classes):
        members = np.flatnonzero(y_all == k)
        x = x_all[members].reshape(-1, 1)
        if len(x) < 2 or float(x.max() - x.min()) < 1e-12:
            continue
        gmm = GaussianMixture(n_components=2, covariance_type="full", max_iter=max_iter,
                              tol=tol, reg_covar=reg_covar, random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            gmm.fit(x)
        prob[members] = gmm.predict_proba(x)[:, int(np.argmax(gmm.means_.ravel()))]
    return torch.from_numpy(prob).float()


class FineSelection:
    """FINE's per-epoch selection of the samples to train on, indexed by ``index``.

    At the start of each selecting epoch (``epoch > warmup_epochs`` and
    ``(epoch - warmup_epochs - 1) % every == 0``; the authors' CIFAR code reselects every 10
    epochs, its Clothing1M code every epoch) the network runs in eval mode over the training
    set and the input of its final linear layer (the penultimate features ``z``) is read. Per
    class ``k``, the gram matrix of the features labeled ``k`` (of the samples selected last
    time, ``eigen_from="selected"``, as the authors' code; all of them at the first selection or
    with ``"all"``) gives its principal eigenvector ``u_k``; every sample gets the score
    :func:`fine_scores`, and :func:`fine_clean_probability` per class; the samples whose
    probability exceeds ``threshold`` (the authors' ``zeta`` = 0.5) are selected. Before the
    first selection every sample is kept.

    Each rank extracts its share of the features (a rank-split loader); the per-class gram
    matrices and the scores are summed across ranks, so every rank holds the same length-N
    state; the directions and the division are broadcast from rank 0 against float drift.
    During a selection each rank holds its share of the features on ``device``
    (``N / world_size x D`` floats: about 4 GB per rank for Clothing1M's 1M x 2048 on two).

    Attributes:
        clean: ``(N,)`` bool, the selected samples.
        clean_prob: ``(N,)`` their mixture probabilities; scores: ``(N,)`` their scores.
        directions: ``(K, D)`` the principal eigenvectors (``None`` before the first selection).

    Args:
        model: the network (prepared); its last ``nn.Linear`` is the classifier.
        loader: a rank-split, unpadded loader over the training set with the evaluation
            transform.
        given: ``(N,)`` the given labels.
        num_classes: ``K``.
        warmup_epochs: epochs before the first selection.
        every: epochs between selections.
        threshold: clean-probability threshold.
        eigen_from: ``"selected"`` or ``"all"`` (see above).
        score: ``"squared"`` (the paper) or ``"absolute"`` (the authors' code).
        accelerator: for autocast during the feature pass.
        device: where the state lives (default: the accelerator's device, else the CPU).
        seed: the mixtures' random state.

    Examples:
        >>> from ignoise.data import eval_transform, load_digits_dataset, make_eval_loader
        >>> data = load_digits_dataset(transform=eval_transform("digits"))
        >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
        >>> fine = FineSelection(net, make_eval_loader(data, 512), data.targets, 10)
        >>> fine.select()
        >>> fine.clean.shape, fine.directions.shape
        (torch.Size([1437]), torch.Size([10, 64]))
    """

    def __init__(
        self,
        model: torch.nn.Module,
        loader: Iterable,
        given,
        num_classes: int,
        *,
        warmup_epochs: int = 0,
        every: int = 1,
        threshold: float = 0.5,
        eigen_from: str = "selected",
        score: str = "squared",
        accelerator=None,
        device: torch.device | str | None = None,
        seed: int = 0,
    ) -> None:
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must lie in (0, 1), got {threshold}")
        if every < 1:
            raise ValueError(f"every must be at least 1, got {every}")
        if warmup_epochs < 0:
            raise ValueError(f"warmup_epochs must be non-negative, got {warmup_epochs}")
        if eigen_from not in EIGEN_FROM:
            raise ValueError(f"eigen_from must be one of {EIGEN_FROM}, got {eigen_from!r}")
        if score not in FINE_SCORES:
            raise ValueError(f"score must be one of {FINE_SCORES}, got {score!r}")
        self.model, self.loader = model, loader
        self.layer = final_linear(model)
        self.num_classes = int(num_classes)
        self.warmup_epochs, self.every = int(warmup_epochs), int(every)
        self.threshold, self.eigen_from, self.score = float(threshold), eigen_from, score
        self.accelerator = accelerator
        self.device = torch.device(device or (accelerator.device if accelerator else "cpu"))
        self.seed = int(seed)
        self.given = torch.as_tensor(np.asarray(given), dtype=torch.long).to(self.device)
        n = len(self.given)
        self.clean = torch.ones(n, dtype=torch.bool, device=self.device)
        self.clean_prob = torch.ones(n, device=self.device)
        self.scores = torch.zeros(n, device=self.device)
        self.directions: torch.Tensor | None = None
        self.selected = False

    @property
    def num_samples(self) -> int:
        return len(self.given)

    def attach(self, trainer: Engine) -> None:
        """Select at ``EPOCH_STARTED`` of each selecting epoch; attach it before the handlers
        that read the selection (a gradient-bias probe)."""
        trainer.add_event_handler(Events.EPOCH_STARTED, self)

    def selects_at(self, epoch: int) -> bool:
        """Whether epoch ``epoch`` (1-based) starts with a selection."""
        return epoch > self.warmup_epochs and (epoch - self.warmup_epochs - 1) % self.every == 0

    def __call__(self, engine: Engine) -> None:
        if self.selects_at(engine.state.epoch):
            self.select()

    def kept(self, batch: dict) -> torch.Tensor:
        """``(B,)`` mask of the batch's selected samples (all before the first selection)."""
        return self.clean.to(batch["index"].device)[batch["index"]]

    def screen(self, batch: dict) -> torch.Tensor:
        """The batch's given labels with the unselected samples set to
        :data:`~ignoise.losses.SCREENED_OUT`: a ``targets`` callable for
        :class:`~ignoise.steps.SupervisedStep` with
        :func:`~ignoise.losses.screened_cross_entropy` (cross-entropy on the selected samples,
        averaged over them)."""
        return torch.where(self.kept(batch), batch["y"], SCREENED_OUT)

    def select(self) -> None:
        """Extract the features, find the directions, score every sample and divide."""
        index, features = self._features()
        labels = self.given[index]
        if self.eigen_from == "selected" and self.selected:
            # a class left without any selected sample falls back to all of its samples
            has_selected = torch.zeros(self.num_classes, dtype=torch.bool, device=self.device)
            has_selected[self.given[self.clean]] = True
            weights = (self.clean | ~has_selected[self.given])[index].to(features.device)
        else:
            weights = None
        grams = class_gram_matrices(features, labels.to(features.device), self.num_classes,
                                    weights)
        grams = idist.all_reduce(grams.to(self.device))
        directions = _broadcast(principal_directions(grams))
        scores = torch.zeros(self.num_samples, dtype=torch.float64, device=self.device)
        scores[index] = fine_scores(features, labels.to(features.device),
                                    directions.to(features.device), self.score).to(self.device)
        scores = idist.all_reduce(scores)
        prob = fine_clean_probability(scores, self.given, self.num_classes, seed=self.seed)
        self.clean_prob = _broadcast(prob.to(self.device))
        self.clean = self.clean_prob > self.threshold
        self.scores = scores.float()
        self.directions = directions.float()
        self.selected = True

    @torch.no_grad()
    def _features(self) -> tuple[torch.Tensor, torch.Tensor]:
        """This rank's ``(index, features)``: the input of the final linear layer, in eval
        mode; checks that the ranks together covered the training set."""
        was_training = self.model.training
        self.model.eval()
        captured = {}
        hook = self.layer.register_forward_pre_hook(lambda mod, args: captured.update(z=args[0]))
        autocast = self.accelerator.autocast if self.accelerator else contextlib.nullcontext
        indices, features = [], []
        try:
            for batch in self.loader:
                batch = move_batch(batch, self.device)
                with autocast():
                    self.model(batch["x"])
                indices.append(batch["index"])
                features.append(captured["z"].float().flatten(1))
        finally:
            hook.remove()
            self.model.train(was_training)
        index = torch.cat(indices) if indices else torch.zeros(0, dtype=torch.long,
                                                               device=self.device)
        seen = torch.zeros(self.num_samples, device=self.device)
        seen[index] = 1.0
        missing = int((idist.all_reduce(seen) == 0).sum())
        if missing:
            raise RuntimeError(
                f"FINE: {missing} of {self.num_samples} training samples were not evaluated; "
                "the loader must cover the whole training set across ranks")
        dim = self.layer.in_features
        return index, torch.cat(features) if features else torch.zeros(0, dim,
                                                                        device=self.device)

    def summary(self, clean_targets=None) -> dict:
        """Fraction selected and, where clean labels are known, the precision and recall of the
        selection for finding correctly labeled samples."""
        if not self.selected:
            return {}
        clean = self.clean.cpu()
        out = {"fine_selected_fraction": float(clean.float().mean())}
        if clean_targets is not None:
            correct = torch.as_tensor(np.asarray(clean_targets)) == self.given.cpu()
            hits = float((clean & correct).sum())
            out["fine_precision"] = hits / max(float(clean.sum()), 1.0)
            out["fine_recall"] = hits / max(float(correct.sum()), 1.0)
        return out

    def state_dict(self) -> dict:
        state = {"clean": self.clean.cpu(), "clean_prob": self.clean_prob.cpu(),
                 "scores": self.scores.cpu(), "selected": self.selected}
        if self.directions is not None:
            state["directions"] = self.directions.cpu()
        return state

    def load_state_dict(self, state: dict) -> None:
        self.clean = state["clean"].to(self.device).bool()
        self.clean_prob = state["clean_prob"].to(self.device)
        self.scores = state["scores"].to(self.device)
        self.selected = bool(state["selected"])
        directions = state.get("directions")
        self.directions = directions.to(self.device) if directions is not None else None


def _broadcast(tensor: torch.Tensor) -> torch.Tensor:
    return idist.broadcast(tensor, src=0) if idist.get_world_size() > 1 else tensor
