"""One call that attaches the handlers every run has: evaluation, history, checkpoint,
TensorBoard, progress bar and the divergence check."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ignite.engine import Engine, Events
from ignite.handlers import ProgressBar
from ignite.handlers.tensorboard_logger import OutputHandler, TensorboardLogger

from ..metrics.accuracy_history import AccuracyHistory
from ..metrics.epoch_mean import EpochMean
from .checkpointing import attach_checkpoint
from .divergence import DivergenceGuard
from .run_clock import RunClock

__all__ = ["attach_common_handlers", "CommonHandlers"]


class CommonHandlers:
    """What :func:`attach_common_handlers` attached: the history, clock, checkpoint (``None``
    when off), logger (``None`` when off) and ``to_save``, what a checkpoint holds or would
    hold (to restore a run by hand with :func:`ignoise.engine.load_checkpoint`)."""

    def __init__(self, history, clock, checkpoint, tb_logger, to_save) -> None:
        self.history = history
        self.clock = clock
        self.checkpoint = checkpoint
        self.tb_logger = tb_logger
        self.to_save = to_save


def attach_common_handlers(
    trainer: Engine,
    *,
    accelerator,
    evaluators: dict[str, tuple[Engine, Iterable]],
    output_dir: str | Path | None = None,
    to_save: dict | None = None,
    primary: str = "test_accuracy",
    log_every: int = 20,
    scalar_keys: Iterable[str] = ("loss",),
    progress: bool = True,
    tensorboard: bool = True,
    checkpoint: bool = True,
    n_saved: int = 2,
) -> CommonHandlers:
    """Attach, in this order at the end of each epoch: the divergence check, the evaluators,
    the accuracy history, the checkpoint (which therefore includes that epoch's history), and
    the epoch's TensorBoard scalars. A non-finite loss raises
    :class:`~ignoise.engine.RunDiverged` (see :class:`~ignoise.engine.DivergenceGuard`).

    Args:
        trainer: the trainer from :func:`ignoise.engine.create_trainer`.
        accelerator: the run's Accelerator; the progress bar and TensorBoard run on its main
            process only, everything else on every rank.
        evaluators: name -> (evaluator, loader); each runs once per epoch and its metrics are
            recorded as ``f"{name}_{metric}"``.
        output_dir: where checkpoints (``checkpoints/``) and TensorBoard events (``tb/``) go;
            ``None`` turns both off.
        to_save: the objects to checkpoint; the trainer, the history and the clock are added.
        primary: the history key whose best and last a run reports.
        log_every: iterations between TensorBoard points, progress-bar updates and NaN checks
            (each reads a value from the device, so not every iteration).
        scalar_keys: scalar entries of the step's output to log every ``log_every`` iterations
            and to average over each epoch into the history as ``f"train_{key}"`` (e.g.
            ``"agreement_ratio"``); iterations whose output lacks a key are skipped.
        progress, tensorboard, checkpoint: switch the progress bar, TensorBoard logging and
            checkpointing (the last two need ``output_dir``).
        n_saved: checkpoints kept.

    Examples:
        >>> import torch
        >>> from accelerate import Accelerator
        >>> trainer = Engine(lambda e, b: {"loss": torch.tensor(0.5)})
        >>> handlers = attach_common_handlers(trainer, accelerator=Accelerator(cpu=True),
        ...                                   evaluators={}, progress=False)
        >>> _ = trainer.run([0, 1], max_epochs=2)
        >>> [row["train_loss"] for row in handlers.history.rows], handlers.checkpoint
        ([0.5, 0.5], None)
    """
    main = accelerator.is_main_process
    every = Events.ITERATION_COMPLETED(every=log_every)
    scalar_keys = tuple(scalar_keys)

    # First of the end-of-epoch handlers: a diverged epoch is neither evaluated nor saved.
    DivergenceGuard(every=log_every).attach(trainer)
    for key in scalar_keys:
        # Summed on the device and read once per epoch: no per-iteration host sync.
        EpochMean(key, device=accelerator.device).attach(trainer, key)

    for evaluator, loader in evaluators.values():
        trainer.add_event_handler(Events.EPOCH_COMPLETED, _run_evaluator(evaluator, loader))
    sources = {"train": trainer, **{n: e for n, (e, _) in evaluators.items()}}
    history = AccuracyHistory(sources, primary=primary)
    history.attach(trainer)

    clock = RunClock()
    clock.attach(trainer)
    to_save = {**(to_save or {}), "trainer": trainer, "history": history, "clock": clock}
    saver = None
    if checkpoint and output_dir is not None:
        saver = attach_checkpoint(trainer, to_save, output_dir, n_saved=n_saved)

    handlers = CommonHandlers(history, clock, saver, None, to_save)
    if main and tensorboard and output_dir is not None:
        # Opened when training starts, so a run that fails to resume leaves no event file.
        trainer.add_event_handler(Events.STARTED, _open_tensorboard(handlers, output_dir, every,
                                                                    scalar_keys))
    if main and progress:
        bar = ProgressBar(persist=False)
        bar.attach(trainer, output_transform=lambda out: {"loss": float(out["loss"])},
                   event_name=every, closing_event_name=Events.EPOCH_COMPLETED)
    return handlers


def _run_evaluator(evaluator: Engine, loader):
    def run(_: Engine) -> None:
        evaluator.run(loader)

    return run


def _open_tensorboard(handlers: CommonHandlers, output_dir, every, scalar_keys):
    def open_logger(trainer: Engine) -> None:
        if handlers.tb_logger is not None:
            return
        tb_logger = TensorboardLogger(log_dir=str(Path(output_dir) / "tb"))
        tb_logger.attach(
            trainer,
            OutputHandler(
                tag="train",
                output_transform=lambda out: {k: float(out[k]) for k in scalar_keys if k in out},
            ),
            event_name=every,
        )
        trainer.add_event_handler(Events.EPOCH_COMPLETED, _log_epoch(tb_logger, handlers.history))
        trainer.add_event_handler(Events.COMPLETED, lambda _: tb_logger.close())
        handlers.tb_logger = tb_logger

    return open_logger


def _log_epoch(tb_logger: TensorboardLogger, history: AccuracyHistory):
    def log(trainer: Engine) -> None:
        row = history.rows[-1]
        for key, value in row.items():
            if key != "epoch" and isinstance(value, (int, float)):
                tb_logger.writer.add_scalar(f"epoch/{key}", value, trainer.state.epoch)

    return log
