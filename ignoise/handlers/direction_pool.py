"""The gradient switching strategy's direction pool: per sample, a distribution over the classes
(the candidate gradient directions) from which the training target is drawn."""

from __future__ import annotations

from collections.abc import Callable

import ignite.distributed as idist
import torch
from ignite.engine import Engine, Events

__all__ = ["DirectionPool", "strategy_values", "pool_probabilities", "align_to_prior",
           "PREDICTED_CONFIDENCE", "ORIGINAL_WEIGHT", "REDRAW", "CLASS_BALANCE"]

#: Readings of the predicted strategy's weight (see :func:`strategy_values`).
PREDICTED_CONFIDENCE = ("predicted", "given")
#: What weighs the original strategy: the predicted probability of the given label (the
#: poster's ``p_y~``) or a clean probability handed to the pool (DivideMix's co-divide).
ORIGINAL_WEIGHT = ("given_prob", "clean_prob")
#: How often a sample's target is drawn again.
REDRAW = ("epoch", "iteration")
#: The class frequencies the predictions are aligned to before the pool reads them
#: (:func:`align_to_prior`): none, uniform (the prior of DivideMix's regularizer) or the given
#: labels' frequencies.
CLASS_BALANCE = ("none", "uniform", "given")


def align_to_prior(predictions: torch.Tensor, prior: torch.Tensor,
                   rows: torch.Tensor | None = None) -> torch.Tensor:
    """Distribution alignment (ReMixMatch, Berthelot et al. 2020): scale every class's
    probabilities by ``prior_k / mean_i p_ik`` and renormalize each row.

    A network that drifts toward a few classes predicts them on average more often than the
    prior; alignment takes that surplus back before the pool follows the predictions, so
    the predicted strategy cannot pull whole classes into a few (self-training's class
    collapse).

    Args:
        predictions: ``(N, K)`` predicted distributions of the training set.
        prior: ``(K,)`` class frequencies summing to one.
        rows: optional ``(N,)`` mask of the rows whose mean is taken (the samples predicted).

    Examples:
        >>> import torch
        >>> p = torch.tensor([[0.9, 0.1], [0.7, 0.3]])
        >>> align_to_prior(p, torch.tensor([0.5, 0.5]))
        tensor([[0.6923, 0.3077],
                [0.3684, 0.6316]])
    """
    if rows is None:
        mean = predictions.mean(dim=0)
    else:
        rows = rows.to(predictions).unsqueeze(1)
        mean = (predictions * rows).sum(dim=0) / rows.sum().clamp_min(1.0)
    scaled = predictions * (prior.to(predictions) / mean.clamp_min(1e-12))
    return scaled / scaled.sum(dim=1, keepdim=True).clamp_min(1e-12)


def strategy_values(
    predictions: torch.Tensor,
    given: torch.Tensor,
    progress: float,
    *,
    lambda1: float,
    lambda2: float,
    predicted_confidence: str = "predicted",
    confidence_gate: float = 0.0,
    clean_prob: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The three strategies' weights at training progress ``t = e / E``.

    - original, on the given label: ``v_or = p_y~ (1 - t)``, or ``w (1 - t)`` with a clean
      probability ``w`` (``clean_prob``, e.g. the co-divide's) in place of ``p_y~``;
    - predicted, on the predicted class ``argmax p``: ``v_pr = c lambda1 t``, where ``c`` is the
      predicted class's confidence ``max_k p_k`` (``predicted_confidence="predicted"``, the
      default) or, reading the poster's formula literally, the given label's ``p_y~``
      (``"given"``);
    - random, on every class alike: ``v_rd = lambda2 t``, the weight of one uniformly random
      class, i.e. ``lambda2 t / K`` on each class in expectation.

    With ``confidence_gate = g > 0`` the predicted strategy fires only where the prediction is
    confident, ``max_k p_k >= g`` (``v_pr = 0`` elsewhere): an uncertain sample then switches
    between its given label and random directions instead of following a guess.

    Why the default reads ``c = max p``: the poster wants confident mislabeled samples to get
    their prediction as the principal direction; with ``c = p_y~`` a confidently mislabeled
    sample (``p_y~`` near 0) would get almost no predicted weight, the opposite of that intent.

    Args:
        predictions: ``(N, K)`` predicted distributions.
        given: ``(N,)`` given labels.
        progress: ``t = e / E`` in [0, 1].
        lambda1, lambda2: the schedules' scales.
        predicted_confidence: ``"predicted"`` or ``"given"``.
        confidence_gate: ``g`` in [0, 1); 0 (the poster) never gates.
        clean_prob: optional ``(N,)`` weights of the original strategy in place of ``p_y~``.

    Returns:
        ``(v_or, v_pr, v_rd)``, each ``(N,)``.

    Examples:
        >>> import torch
        >>> p = torch.tensor([[0.1, 0.9]])
        >>> values = strategy_values(p, torch.tensor([0]), 0.5, lambda1=1.0, lambda2=0.2)
        >>> [round(float(v), 3) for v in values]
        [0.05, 0.45, 0.1]
    """
    if predicted_confidence not in PREDICTED_CONFIDENCE:
        raise ValueError(f"predicted_confidence must be one of {PREDICTED_CONFIDENCE}, "
                         f"got {predicted_confidence!r}")
    p_given = predictions.gather(1, given.unsqueeze(1)).squeeze(1)
    top = predictions.max(dim=1).values
    confidence = top if predicted_confidence == "predicted" else p_given
    original = p_given if clean_prob is None else clean_prob.to(p_given)
    v_or = original * (1.0 - progress)
    v_pr = confidence * (lambda1 * progress)
    if confidence_gate > 0:
        v_pr = v_pr * (top >= confidence_gate)
    v_rd = torch.full_like(v_or, lambda2 * progress)
    return v_or, v_pr, v_rd


def pool_probabilities(
    predictions: torch.Tensor,
    given: torch.Tensor,
    progress: float,
    *,
    lambda1: float,
    lambda2: float,
    predicted_confidence: str = "predicted",
    confidence_gate: float = 0.0,
    clean_prob: torch.Tensor | None = None,
    keep_given: float | None = None,
) -> torch.Tensor:
    """The normalized pool: ``v_or e_y~ + v_pr e_argmax(p) + (v_rd / K) 1``, rows summing to 1.

    A row whose three weights are all zero (possible only when ``p_y~ = 0`` exactly) becomes
    uniform. With ``keep_given = k``, a sample whose original weight (``p_y~``, or its clean
    probability) is at least ``k`` keeps its given label (a one-hot row): a sample judged
    clean with confidence follows its principal direction, the given one, and only the
    uncertain rest switch. The other arguments are :func:`strategy_values`'s.

    Examples:
        >>> import torch
        >>> p = torch.tensor([[0.1, 0.9]])
        >>> pool_probabilities(p, torch.tensor([0]), 0.5, lambda1=1.0, lambda2=0.2)
        tensor([[0.1667, 0.8333]])
    """
    num_classes = predictions.shape[1]
    v_or, v_pr, v_rd = strategy_values(predictions, given, progress, lambda1=lambda1,
                                       lambda2=lambda2, predicted_confidence=predicted_confidence,
                                       confidence_gate=confidence_gate, clean_prob=clean_prob)
    pool = (v_rd / num_classes).unsqueeze(1).expand_as(predictions).clone()
    pool.scatter_add_(1, given.unsqueeze(1), v_or.unsqueeze(1))
    pool.scatter_add_(1, predictions.argmax(dim=1, keepdim=True), v_pr.unsqueeze(1))
    pool = pool + 1e-12 / num_classes
    pool = pool / pool.sum(dim=1, keepdim=True)
    if keep_given is not None:
        original = (predictions.gather(1, given.unsqueeze(1)).squeeze(1) if clean_prob is None
                    else clean_prob.to(pool))
        one_hot = torch.zeros_like(pool).scatter_(1, given.unsqueeze(1), 1.0)
        pool = torch.where((original >= keep_given).unsqueeze(1), one_hot, pool)
    return pool


class DirectionPool:
    """Per-sample pools of gradient directions (GSS) and the targets drawn from them.

    The pool of sample ``i`` is a distribution over the ``K`` classes, stored as one ``(N, K)``
    tensor indexed by the batch's ``index``. It starts as the one-hot given label (at
    ``t = 0`` only the original strategy has weight) and is rebuilt from the model's
    predictions after every epoch with :func:`pool_probabilities`, at progress
    ``t = e / total_epochs`` where ``e`` is the number of completed epochs. Any step takes
    :meth:`draw_targets` in place of the given labels, e.g.
    ``SupervisedStep(..., targets=pool.draw_targets)``.

    Where the predictions come from:

    - ``attach(trainer, output_transform=...)``: from the training step's own outputs (probs or
      logits with ``index``), collected during the epoch and applied at ``EPOCH_COMPLETED``;
    - ``attach(trainer, predictions=callable)``: from a callable that returns the ``(N, K)``
      predictions of every sample (or ``None`` when it has none yet), read at the next
      ``EPOCH_STARTED``, e.g. the co-guessed predictions of :class:`CoDivide`.

    Both give the pool used during epoch ``e + 1`` progress ``t = e / E``. In a multi-process run
    the collected predictions are summed across ranks and the pool is broadcast from rank 0, so
    every rank holds the same pool; per-epoch draws use a generator seeded from
    ``(seed, epoch)`` and are the same on every rank too.

    Args:
        given: ``(N,)`` given labels (the dataset's ``targets``).
        num_classes: ``K``.
        total_epochs: ``E`` of the schedules (the run's epochs).
        lambda1: scale of the predicted strategy.
        lambda2: scale of the random strategy.
        redraw: ``"epoch"`` draws one target per sample at the start of each epoch (the same
            whatever the number of processes); ``"iteration"`` draws anew each time a sample is
            in a batch (from a generator seeded by ``(seed, epoch, rank)``).
        predicted_confidence: see :func:`strategy_values`.
        momentum: ``0`` rebuilds the pool from the latest predictions only; ``m > 0`` keeps
            ``m`` of the previous pool (an accumulating reading of "updating the pool").
        max_progress: the schedules stop at ``t = min(e / E, max_progress)``; 1 (the poster)
            lets the original strategy fade out completely.
        confidence_gate: the predicted strategy fires only where ``max_k p_k`` reaches it
            (:func:`strategy_values`); 0 (the poster) never gates.
        keep_given: samples whose original weight reaches it keep their given label
            (:func:`pool_probabilities`); ``None`` (the poster) switches every sample.
        original_weight: ``"given_prob"`` (the poster's ``p_y~``) or ``"clean_prob"``: the
            clean probability from the ``clean_prob`` callable of :meth:`attach` (GSS-SSL:
            the co-divide's, averaged over the two networks).
        class_balance: ``"none"`` (the poster) reads the predictions as they are;
            ``"uniform"`` first aligns them to equal class frequencies (the prior DivideMix's
            regularizer assumes), ``"given"`` to the given labels' frequencies
            (:func:`align_to_prior`).
        seed: seed of the draws.
        device: where the pool lives (the accelerator's device).

    Examples:
        >>> import torch
        >>> pool = DirectionPool(torch.tensor([0, 1, 2]), 3, total_epochs=10)
        >>> pool.draw_targets({"index": torch.tensor([2, 0])}).tolist()  # t = 0: the given labels
        [2, 0]
        >>> pool.update(torch.tensor([[0.1, 0.8, 0.1]] * 3), epoch=5)
        >>> pool.probs[0]
        tensor([0.1333, 0.8333, 0.0333])
    """

    def __init__(
        self,
        given: torch.Tensor,
        num_classes: int,
        *,
        total_epochs: int,
        lambda1: float = 1.0,
        lambda2: float = 0.1,
        redraw: str = "epoch",
        predicted_confidence: str = "predicted",
        momentum: float = 0.0,
        max_progress: float = 1.0,
        confidence_gate: float = 0.0,
        keep_given: float | None = None,
        original_weight: str = "given_prob",
        class_balance: str = "none",
        seed: int = 0,
        device: torch.device | str = "cpu",
    ) -> None:
        if redraw not in REDRAW:
            raise ValueError(f"redraw must be one of {REDRAW}, got {redraw!r}")
        if predicted_confidence not in PREDICTED_CONFIDENCE:
            raise ValueError(f"predicted_confidence must be one of {PREDICTED_CONFIDENCE}, "
                             f"got {predicted_confidence!r}")
        if total_epochs < 1:
            raise ValueError(f"total_epochs must be a positive integer, got {total_epochs!r}")
        if lambda1 < 0 or lambda2 < 0:
            raise ValueError(f"lambda1 and lambda2 must be non-negative, got {lambda1}, {lambda2}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must lie in [0, 1), got {momentum}")
        if not 0.0 < max_progress <= 1.0:
            raise ValueError(f"max_progress must lie in (0, 1], got {max_progress}")
        if not 0.0 <= confidence_gate < 1.0:
            raise ValueError(f"confidence_gate must lie in [0, 1), got {confidence_gate}")
        if keep_given is not None and not 0.0 < keep_given <= 1.0:
            raise ValueError(f"keep_given must lie in (0, 1] or be None, got {keep_given}")
        if original_weight not in ORIGINAL_WEIGHT:
            raise ValueError(f"original_weight must be one of {ORIGINAL_WEIGHT}, "
                             f"got {original_weight!r}")
        if class_balance not in CLASS_BALANCE:
            raise ValueError(f"class_balance must be one of {CLASS_BALANCE}, got {class_balance!r}")
        self.device = torch.device(device)
        self.given = torch.as_tensor(given, dtype=torch.long).to(self.device)
        given_ok = self.given.ndim == 1 and 0 <= int(self.given.min())
        if not given_ok or int(self.given.max()) >= num_classes:
            raise ValueError(f"given labels must be a 1-D tensor of classes in [0, {num_classes})")
        self.num_classes = int(num_classes)
        self.total_epochs = int(total_epochs)
        self.lambda1, self.lambda2 = float(lambda1), float(lambda2)
        self.redraw, self.predicted_confidence = redraw, predicted_confidence
        self.momentum, self.seed = float(momentum), int(seed)
        self.max_progress, self.confidence_gate = float(max_progress), float(confidence_gate)
        self.keep_given = None if keep_given is None else float(keep_given)
        self.original_weight, self.class_balance = original_weight, class_balance
        self.prior = (torch.bincount(self.given, minlength=self.num_classes).float()
                      if class_balance == "given" else torch.ones(self.num_classes,
                                                                  device=self.device))
        self.prior /= self.prior.sum()
        self.probs = torch.nn.functional.one_hot(self.given, self.num_classes).float()
        self.drawn = self.given.clone()
        self.progress = 0.0
        self._generator = torch.Generator(device=self.device)
        self._generator.manual_seed(self.seed)
        self._sum: torch.Tensor | None = None
        self._count: torch.Tensor | None = None
        self._output_transform: Callable | None = None
        self._predictions: Callable | None = None
        self._clean_prob: Callable | None = None

    # -- attaching -------------------------------------------------------------------------

    def attach(
        self,
        trainer: Engine,
        *,
        output_transform: Callable[[dict], tuple[torch.Tensor, torch.Tensor]] | None = None,
        predictions: Callable[[], torch.Tensor | None] | None = None,
        clean_prob: Callable[[], torch.Tensor | None] | None = None,
    ) -> None:
        """Register the pool on ``trainer``.

        Args:
            trainer: the trainer.
            output_transform: ``output -> (probs (B, K), index (B,))`` to collect the step's
                predictions, e.g. ``lambda o: (o["logits"].softmax(1), o["index"])``.
            predictions: ``() -> (N, K) | None``, read at each ``EPOCH_STARTED``; attach the
                pool after the handler that computes them.
            clean_prob: ``() -> (N,) | None``, read with the predictions: each sample's clean
                probability (e.g. ``lambda: division.clean_prob.mean(0)`` of a
                :class:`CoDivide`); needed by ``original_weight="clean_prob"``.
        """
        if (output_transform is None) == (predictions is None):
            raise ValueError("give exactly one of output_transform= and predictions=")
        if self.original_weight == "clean_prob" and clean_prob is None:
            raise ValueError('original_weight="clean_prob" needs attach(..., clean_prob=...)')
        self._output_transform, self._predictions = output_transform, predictions
        self._clean_prob = clean_prob
        trainer.add_event_handler(Events.EPOCH_STARTED, self._epoch_started)
        if output_transform is not None:
            trainer.add_event_handler(Events.ITERATION_COMPLETED, self._collect)
            trainer.add_event_handler(Events.EPOCH_COMPLETED, self._apply_collected)

    def _epoch_started(self, engine: Engine) -> None:
        epoch = engine.state.epoch
        if self._predictions is not None:
            predictions = self._predictions()
            if predictions is not None:
                self.update(predictions, epoch - 1, clean_prob=self._current_clean_prob())
        self.start_epoch(epoch)

    def start_epoch(self, epoch: int) -> None:
        """Seed the epoch's draws from ``(seed, epoch)`` and, with ``redraw="epoch"``, draw every
        sample's target for the epoch."""
        rank = idist.get_rank() if self.redraw == "iteration" else 0
        self._generator.manual_seed(self.seed * 1_000_003 + epoch * 1_009 + rank)
        if self.redraw == "epoch":
            self.drawn = torch.multinomial(self.probs, 1, generator=self._generator).squeeze(1)
        self._sum = self._count = None

    def _collect(self, engine: Engine) -> None:
        probs, index = self._output_transform(engine.state.output)
        if self._sum is None:
            self._sum = torch.zeros(len(self.given), self.num_classes, device=self.device)
            self._count = torch.zeros(len(self.given), device=self.device)
        index = index.to(self.device)
        self._sum.index_add_(0, index, probs.detach().float().to(self.device))
        self._count.index_add_(0, index, torch.ones_like(index, dtype=torch.float))

    def _apply_collected(self, engine: Engine) -> None:
        if self._sum is None:
            return
        total, count = idist.all_reduce(self._sum), idist.all_reduce(self._count)
        seen = count > 0
        predictions = total / count.clamp_min(1.0).unsqueeze(1)
        self.update(predictions, engine.state.epoch, rows=seen,
                    clean_prob=self._current_clean_prob())
        self._sum = self._count = None

    def _current_clean_prob(self) -> torch.Tensor | None:
        if self.original_weight != "clean_prob" or self._clean_prob is None:
            return None
        return self._clean_prob()

    # -- the pool --------------------------------------------------------------------------

    def update(self, predictions: torch.Tensor, epoch: int,
               rows: torch.Tensor | None = None,
               clean_prob: torch.Tensor | None = None) -> None:
        """Rebuild the pool from ``(N, K)`` predictions after ``epoch`` completed epochs.

        Args:
            predictions: predicted distributions of every sample.
            epoch: completed epochs ``e``; the schedules use
                ``t = min(e / E, max_progress)``.
            rows: optional ``(N,)`` mask of the samples to update (the others keep their pool).
            clean_prob: ``(N,)`` clean probabilities; used with
                ``original_weight="clean_prob"`` (ignored otherwise).
        """
        self.progress = min(max(epoch / self.total_epochs, 0.0), self.max_progress)
        if self.original_weight != "clean_prob":
            clean_prob = None
        elif clean_prob is not None:
            clean_prob = clean_prob.to(self.device).float()
        predictions = predictions.to(self.device).float()
        if self.class_balance != "none":
            predictions = align_to_prior(predictions, self.prior, rows)
        fresh = pool_probabilities(predictions, self.given, self.progress,
                                   lambda1=self.lambda1, lambda2=self.lambda2,
                                   predicted_confidence=self.predicted_confidence,
                                   confidence_gate=self.confidence_gate, clean_prob=clean_prob,
                                   keep_given=self.keep_given)
        if self.momentum > 0:
            fresh = self.momentum * self.probs + (1.0 - self.momentum) * fresh
        if rows is not None:
            fresh = torch.where(rows.to(self.device).unsqueeze(1), fresh, self.probs)
        if idist.get_world_size() > 1:
            fresh = idist.broadcast(fresh, src=0)
        self.probs = fresh

    def draw_targets(self, batch: dict) -> torch.Tensor:
        """The batch's targets (class indices), drawn from the pools of its samples.

        With ``redraw="epoch"`` they are the epoch's draws; with ``"iteration"`` one
        ``torch.multinomial`` over the batch's pool rows. No host synchronization.
        """
        index = batch["index"].to(self.device)
        if self.redraw == "epoch":
            return self.drawn[index]
        return torch.multinomial(self.probs[index], 1, generator=self._generator).squeeze(1)

    def switched_fraction(self) -> float:
        """Fraction of the epoch's drawn targets that differ from the given labels (a diagnostic
        read once per epoch; meaningful with ``redraw="epoch"``)."""
        return float((self.drawn != self.given).float().mean())

    def state_dict(self) -> dict:
        return {"probs": self.probs.cpu(), "drawn": self.drawn.cpu(), "progress": self.progress,
                "generator": self._generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.probs = state["probs"].to(self.device)
        self.drawn = state["drawn"].to(self.device)
        self.progress = float(state["progress"])
        self._generator.set_state(state["generator"])
