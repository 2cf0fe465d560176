"""What a method's ``build`` returns: everything a run needs besides the run itself."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

__all__ = ["MethodParts"]


@dataclass
class MethodParts:
    """A method composed for one run.

    Attributes:
        trainer: the Ignite trainer (its step, samplers' epochs and the method's handlers
            attached; schedulers stepped).
        train_loader: what the trainer runs over.
        evaluators: name -> ``(evaluator, loader)``; ``"test"`` gives ``test_accuracy``.
        to_save: what a checkpoint holds besides the trainer, history, clock and RNG state:
            models, optimizers, schedulers, samplers, stateful handlers.
        scalar_keys: step outputs averaged per epoch into the history (``train_<key>``) and
            logged to TensorBoard; the step returns them in every phase.
        history_sources: callables ``() -> dict`` whose values join each epoch's history row.
        extra_results: ``history -> dict`` of method-specific figures for ``results.json``.
        epoch_length: iterations per epoch when the loader has no length of its own.
        primary: the history key whose best and last the run reports.
        method_name: the name ``results.json`` records, when it is not the registered one
            (GAL's ablations are ``gal_<variant>``).
        predict_probs: ``x -> (B, K)`` class probabilities of the run's reported predictor;
            with ``train_eval`` it feeds the per-sample evidence
            (:class:`~ignoise.handlers.SampleEvidence`, saved as ``evidence.npz``).
        train_eval: the training set in a fixed order without augmentation, rank-split.
        predict_models: the modules ``predict_probs`` uses (evaluation mode for the pass).
        evidence_signals: the method's own per-sample signals, name -> ``() -> (N,)``.
    """

    trainer: object
    train_loader: Iterable
    evaluators: dict
    to_save: dict
    scalar_keys: tuple[str, ...] = ("loss",)
    history_sources: list[Callable[[], dict]] = field(default_factory=list)
    extra_results: Callable | None = None
    epoch_length: int | None = None
    primary: str = "test_accuracy"
    method_name: str | None = None
    predict_probs: Callable | None = None
    train_eval: Iterable | None = None
    predict_models: list = field(default_factory=list)
    evidence_signals: dict = field(default_factory=dict)
