"""DivideMix's co-divide: every epoch, a two-component Gaussian mixture on each network's
per-sample losses gives every training sample a probability that its label is clean."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterable, Sequence

import ignite.distributed as idist
import numpy as np
import torch
import torch.nn.functional as F
from ignite.engine import Engine, Events
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture

from ..data import BalancedSubsets, move_batch, restrict_eval_loader
from ..losses import SCREENED_OUT

__all__ = ["CoDivide", "clean_probability"]


def clean_probability(
    losses: torch.Tensor,
    *,
    max_iter: int = 10,
    tol: float = 1e-2,
    reg_covar: float = 5e-4,
    seed: int = 0,
) -> torch.Tensor:
    """The posterior of the low-mean component of a two-component 1-D Gaussian mixture.

    Args:
        losses: ``(N,)`` per-sample losses, already normalized to [0, 1] (or averaged over
            epochs of normalized losses).
        max_iter, tol, reg_covar: scikit-learn's EM settings (DivideMix's values).
        seed: the mixture's ``random_state``, so that every rank and a resumed run fit the
            same mixture.

    Returns:
        ``(N,)`` float32 clean probabilities on the CPU.

    Examples:
        >>> import torch
        >>> losses = torch.cat([torch.full((50,), 0.1), torch.full((50,), 0.9)])
        >>> p = clean_probability(losses + 0.01 * torch.randn(100))
        >>> bool((p[:50] > 0.5).all() and (p[50:] < 0.5).all())
        True
    """
    x = losses.detach().double().cpu().numpy().reshape(-1, 1)
    if float(x.max() - x.min()) < 1e-12:
        return torch.ones(len(x))
    gmm = GaussianMixture(n_components=2, max_iter=max_iter, tol=tol, reg_covar=reg_covar,
                          random_state=seed)
    with warnings.catch_warnings():
        # DivideMix stops EM after 10 steps on purpose.
        warnings.simplefilter("ignore", ConvergenceWarning)
        gmm.fit(x)
    prob = gmm.predict_proba(x)[:, int(np.argmin(gmm.means_.ravel()))]
    return torch.from_numpy(prob).float()


class CoDivide:
    """Divides the training set by each network's per-sample loss, once per epoch.

    At the start of each epoch after the warm-up, every network is evaluated on the whole
    training set (without augmentation, in eval mode); its cross-entropy losses against the
    given labels are min-max normalized, optionally averaged over the last ``loss_history``
    epochs, and a two-component GMM turns them into clean probabilities. With two networks
    and a :class:`~ignoise.data.CoDivideBatchSampler`, network A's labeled
    subset becomes the samples that network B judges clean (``p > threshold``) and vice versa.

    In a multi-process run each rank evaluates its shard of the loader (each sample on exactly
    one rank) and the losses are summed across ranks, so every rank fits the same mixture on
    the same length-N losses and holds the same state.

    With ``subsets`` (DivideMix's Clothing1M code) network ``m`` is divided each epoch on a
    fresh class-balanced subset only (``subsets.mask(epoch, m)``): the losses are normalized and
    the mixture fitted over that subset, and the other network trains on it (labeled: judged
    clean; unlabeled: the rest of the subset). During the warm-up each network's batches come
    from a subset of ``warmup_subset_scale`` times that size (DivideMix: twice). Every network is
    evaluated on the union of the epoch's subsets, so that :attr:`predictions` covers what either
    network trains on (DivideMix evaluates each on its own subset only; the mixtures are the
    same). Samples outside the subsets keep their last clean probability and prediction (at
    first, all clean and the one-hot given label). The evaluation reads only the subsets where
    :func:`~ignoise.data.restrict_eval_loader` can limit the loader (every loader ignoise
    builds), else the whole pass.

    Attributes:
        clean_prob: ``(M, N)`` clean probability of each sample by each of the ``M`` networks.
        predictions: ``(N, K)`` mean softmax of the networks over the training set (the
            co-guessed prediction of every sample; a direction pool can update from it).

    Args:
        models: the networks (prepared).
        loader: a rank-split, unpadded loader over the training set with the evaluation
            transform (:func:`ignoise.data.make_eval_loader`).
        num_samples: training-set size ``N``.
        num_classes: ``K``.
        warmup_epochs: no division during the first ``warmup_epochs`` epochs.
        threshold: clean-probability threshold of the labeled subsets (DivideMix's ``tau``).
        sampler: a co-divide batch sampler that receives the divisions (two networks only).
        loss_history: average the normalized losses over this many epochs (DivideMix: 5 at 90%
            noise, else 1).
        predictions_every_epoch: evaluate every epoch from the second one, so that
            :attr:`predictions` is fresh during the warm-up too (for a direction pool).
        accelerator: for autocast during evaluation.
        device: where the state lives (default: the accelerator's device, else the CPU).
        seed: the GMM's random state.
        subsets: per-epoch class-balanced subsets (:class:`~ignoise.data.BalancedSubsets`) to
            divide on instead of the whole training set (needs ``loss_history`` 1).
        warmup_subset_scale: the warm-up subsets' size, in subsets.

    Examples:
        >>> import torch
        >>> from ignoise.data import eval_transform, load_digits_dataset, make_eval_loader
        >>> data = load_digits_dataset(transform=eval_transform("digits"))
        >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
        >>> divide = CoDivide([net], make_eval_loader(data, 512), num_samples=len(data),
        ...                   num_classes=10)
        >>> divide.divide()
        >>> divide.clean_prob.shape, divide.predictions.shape
        (torch.Size([1, 1437]), torch.Size([1437, 10]))
    """

    def __init__(
        self,
        models: Sequence[torch.nn.Module],
        loader: Iterable,
        *,
        num_samples: int,
        num_classes: int,
        warmup_epochs: int = 0,
        threshold: float = 0.5,
        sampler=None,
        loss_history: int = 1,
        predictions_every_epoch: bool = False,
        accelerator=None,
        device: torch.device | str | None = None,
        seed: int = 0,
        gmm_max_iter: int = 10,
        gmm_tol: float = 1e-2,
        gmm_reg_covar: float = 5e-4,
        subsets: BalancedSubsets | None = None,
        warmup_subset_scale: int = 2,
    ) -> None:
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must lie in (0, 1), got {threshold}")
        if loss_history < 1:
            raise ValueError(f"loss_history must be at least 1, got {loss_history}")
        if sampler is not None and len(models) != 2:
            raise ValueError(f"a co-divide sampler needs exactly two networks, got {len(models)}")
        if subsets is not None and loss_history != 1:
            raise ValueError(f"loss_history = {loss_history} averages each sample's losses over "
                             "epochs, but per-epoch subsets evaluate different samples each "
                             "epoch: expected 1")
        if subsets is not None and subsets.targets.numel() != num_samples:
            raise ValueError(f"the subsets are drawn over {subsets.targets.numel()} samples: "
                             f"expected num_samples = {num_samples}")
        self.models = list(models)
        self.loader = loader
        self.num_samples, self.num_classes = int(num_samples), int(num_classes)
        self.warmup_epochs = int(warmup_epochs)
        self.threshold = float(threshold)
        self.sampler = sampler
        self.loss_history = int(loss_history)
        self.predictions_every_epoch = predictions_every_epoch
        self.accelerator = accelerator
        self.device = torch.device(device or (accelerator.device if accelerator else "cpu"))
        self.gmm = {"max_iter": gmm_max_iter, "tol": gmm_tol, "reg_covar": gmm_reg_covar,
                    "seed": seed}
        m = len(self.models)
        self.clean_prob = torch.ones(m, self.num_samples, device=self.device)
        self.predictions: torch.Tensor | None = None
        self.history: list[torch.Tensor] = []  # (M, N) normalized losses, latest last
        self.divided = False
        self.subsets, self.warmup_subset_scale = subsets, int(warmup_subset_scale)
        #: ``(M, N)`` mask of the samples each network was last divided on (None: all).
        self.within: torch.Tensor | None = None

    def attach(self, trainer: Engine) -> None:
        """Divide at ``EPOCH_STARTED``; attach it before the handlers that read its state (a
        direction pool, a gradient-bias probe)."""
        trainer.add_event_handler(Events.EPOCH_STARTED, self)

    def __call__(self, engine: Engine) -> None:
        epoch = engine.state.epoch
        dividing = epoch > self.warmup_epochs
        if not dividing and self.subsets is not None and self.sampler is not None:
            size = self.warmup_subset_scale * self.subsets.size
            self.sampler.set_division(None, within=tuple(
                self.subsets.mask(epoch, len(self.models) + m, size) for m in range(2)))
        if dividing or (self.predictions_every_epoch and epoch > 1):
            self.divide(apply=dividing, epoch=epoch)

    def labeled(self, model_index: int) -> torch.Tensor:
        """``(N,)`` mask of the samples network ``model_index`` judges clean (within the
        subset it was last divided on)."""
        clean = self.clean_prob[model_index] > self.threshold
        if self.within is not None:
            clean = clean & self.within[model_index].to(clean.device)
        return clean

    def kept(self, batch: dict, model_index: int = 0) -> torch.Tensor:
        """``(B,)`` mask of the batch's samples judged clean; all of them before the first
        division (sample screening keeps every sample during the warm-up)."""
        if not self.divided:
            return torch.ones_like(batch["index"], dtype=torch.bool)
        return self.labeled(model_index).to(batch["index"].device)[batch["index"]]

    def screen(self, batch: dict, model_index: int = 0) -> torch.Tensor:
        """The batch's given labels with the samples judged noisy set to
        :data:`~ignoise.losses.SCREENED_OUT`: sample screening as a ``targets`` callable for
        :class:`~ignoise.steps.SupervisedStep` with
        :func:`~ignoise.losses.screened_cross_entropy`."""
        return torch.where(self.kept(batch, model_index), batch["y"], SCREENED_OUT)

    def divide(self, apply: bool = True, epoch: int = 0) -> None:
        """Evaluate every network, fit the mixtures, and (if ``apply``) hand the division to
        the sampler; ``epoch`` picks the subsets (with ``subsets``)."""
        within = None
        if self.subsets is not None:
            within = torch.stack([self.subsets.mask(epoch, m) for m in range(len(self.models))])
        union = None if within is None else within.any(dim=0)
        losses, probs = zip(*(self._evaluate(model, union) for model in self.models))
        losses = torch.stack(losses)
        if within is None:
            low = losses.min(dim=1, keepdim=True).values
            high = losses.max(dim=1, keepdim=True).values
            normalized = (losses - low) / (high - low).clamp_min(1e-12)
            self.history = (self.history + [normalized.cpu()])[-self.loss_history:]
            averaged = torch.stack(self.history).mean(dim=0)
            clean = torch.stack([clean_probability(row, **self.gmm) for row in averaged])
            predictions = torch.stack(probs).mean(dim=0)
        else:
            # Each network's mixture sees only its own subset's losses, normalized over it.
            clean = self.clean_prob.cpu().clone()
            for m, mask in enumerate(within):
                row = losses[m][mask.to(losses.device)].cpu()
                clean[m, mask] = clean_probability(
                    (row - row.min()) / (row.max() - row.min()).clamp_min(1e-12), **self.gmm)
            predictions = self._predictions_before(probs[0]).clone()
            predictions[union.to(predictions.device)] = (
                torch.stack(probs).mean(dim=0)[union.to(predictions.device)])
        # Fitted on identical inputs everywhere; the broadcast guards against any float drift.
        self.clean_prob = _broadcast(clean.to(self.device))
        self.predictions = _broadcast(predictions)
        if apply:
            self.divided = True
            self.within = None if within is None else within.to(self.device)
            if self.sampler is not None:
                self._hand_division()

    def _predictions_before(self, like: torch.Tensor) -> torch.Tensor:
        """The predictions so far; before any, the one-hot given labels (no evidence against
        them)."""
        if self.predictions is not None:
            return self.predictions
        return F.one_hot(self.subsets.targets, self.num_classes).to(like)

    @torch.no_grad()
    def _evaluate(self, model: torch.nn.Module,
                  subset: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Losses and softmax of ``model`` on every sample, or on the ``subset`` mask's (zero
        elsewhere)."""
        was_training = model.training
        model.eval()
        losses = torch.zeros(self.num_samples, device=self.device)
        probs = torch.zeros(self.num_samples, self.num_classes, device=self.device)
        seen = torch.zeros(self.num_samples, device=self.device)
        autocast = self.accelerator.autocast if self.accelerator else contextlib.nullcontext
        loader = self.loader
        if subset is not None:
            loader = restrict_eval_loader(self.loader, subset.nonzero().flatten()) or self.loader
        for batch in loader:
            batch = move_batch(batch, self.device)
            with autocast():
                logits = model(batch["x"]).float()
            index = batch["index"]
            losses.index_copy_(0, index, F.cross_entropy(logits, batch["y"], reduction="none"))
            probs.index_copy_(0, index, torch.softmax(logits, dim=1))
            seen.index_fill_(0, index, 1.0)
        model.train(was_training)
        losses, probs, seen = (idist.all_reduce(t) for t in (losses, probs, seen))
        needed = torch.ones_like(seen, dtype=torch.bool) if subset is None else subset.to(
            seen.device)
        missing = int((needed & (seen == 0)).sum())
        if missing:
            raise RuntimeError(
                f"co-divide: {missing} of {int(needed.sum())} training samples to divide were "
                "not evaluated; the loader must cover the whole training set across ranks"
            )
        if subset is not None:
            seen = torch.where(needed, seen, torch.zeros_like(seen))
        seen = seen.clamp_min(1.0)
        return losses / seen * needed, probs / seen.unsqueeze(1) * needed.unsqueeze(1)

    def summary(self, clean_targets=None, given_targets=None) -> dict:
        """Fraction judged clean per network and, where clean labels are known, the precision
        and recall of those labeled subsets for finding correctly labeled samples."""
        out = {}
        if not self.divided:
            return out
        for m in range(len(self.models)):
            labeled = self.labeled(m).cpu()
            out[f"labeled_fraction_{m}"] = float(labeled.float().mean())
            if clean_targets is not None and given_targets is not None:
                correct = torch.as_tensor(clean_targets) == torch.as_tensor(given_targets)
                if self.within is not None:  # recall within the subset divided on
                    correct = correct & self.within[m].cpu()
                hits = float((labeled & correct).sum())
                out[f"labeled_precision_{m}"] = hits / max(float(labeled.sum()), 1.0)
                out[f"labeled_recall_{m}"] = hits / max(float(correct.sum()), 1.0)
        return out

    def state_dict(self) -> dict:
        state = {"clean_prob": self.clean_prob.cpu(), "divided": self.divided,
                 "history": torch.stack(self.history) if self.history else torch.zeros(0)}
        if self.predictions is not None:
            state["predictions"] = self.predictions.cpu()
        if self.within is not None:
            state["within"] = self.within.cpu()
        return state

    def load_state_dict(self, state: dict) -> None:
        self.clean_prob = state["clean_prob"].to(self.device)
        self.divided = bool(state["divided"])
        self.history = list(state["history"].unbind(0)) if state["history"].numel() else []
        self.predictions = state["predictions"].to(self.device) if "predictions" in state else None
        self.within = state["within"].to(self.device) if "within" in state else None
        if self.divided and self.sampler is not None:
            self._hand_division()

    def _hand_division(self) -> None:
        # Co-divide: each network learns from the division of the other (and its subset).
        if self.within is None:
            self.sampler.set_division(self.labeled(1), self.labeled(0))
        else:
            self.sampler.set_division(self.labeled(1), self.labeled(0),
                                      within=(self.within[1], self.within[0]))


def _broadcast(tensor: torch.Tensor) -> torch.Tensor:
    return idist.broadcast(tensor, src=0) if idist.get_world_size() > 1 else tensor
