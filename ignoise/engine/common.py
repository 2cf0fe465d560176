"""One call that attaches the handlers every run has: evaluation, history, checkpoint,
TensorBoard, progress bar and the divergence check."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

import torch
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
    epoch_lines: bool = True,
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
        progress, tensorboard, checkpoint: switch the progress bar (shown on a terminal),
            TensorBoard logging and checkpointing (the last two need ``output_dir``).
        epoch_lines: print one line per epoch (loss, test and validation accuracy): above
            the bar on a terminal, alone in a log file or with ``progress=False``.
        n_saved: checkpoints kept.

    Examples:
        >>> import torch
        >>> from accelerate import Accelerator
        >>> trainer = Engine(lambda e, b: {"loss": torch.tensor(0.5)})
        >>> handlers = attach_common_handlers(trainer, accelerator=Accelerator(cpu=True),
        ...                                   evaluators={}, progress=False, epoch_lines=False)
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

    if accelerator.num_processes > 1:
        # BatchNorm running statistics are updated per rank: every rank evaluates (and the
        # checkpoint saves) rank 0's, so the reported accuracy is that of the saved network.
        modules = [m for m in (to_save or {}).values() if isinstance(m, torch.nn.Module)]
        trainer.add_event_handler(Events.EPOCH_COMPLETED, _broadcast_buffers(modules))
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
    bar = None
    if main and progress and sys.stderr.isatty():
        bar = ProgressBar(persist=False)
        bar.attach(trainer, output_transform=lambda out: {"loss": float(out["loss"])},
                   event_name=every, closing_event_name=Events.EPOCH_COMPLETED)
    if main and epoch_lines:  # above the bar on a terminal; a log file gets the lines alone
        trainer.add_event_handler(Events.EPOCH_COMPLETED, _print_epoch(history, primary, bar))
    return handlers


def _print_epoch(history: AccuracyHistory, primary: str, bar: ProgressBar | None):
    write = bar.log_message if bar is not None else (lambda text: print(text, flush=True))

    def show(trainer: Engine) -> None:
        row = history.rows[-1]
        parts = [f"epoch {row['epoch']}/{trainer.state.max_epochs}"]
        if "train_loss" in row:
            parts.append(f"loss {row['train_loss']:.4f}")
        for key in dict.fromkeys((primary, "test_accuracy", "val_accuracy")):
            if key in row:
                parts.append(f"{key} {100 * row[key]:.2f}%")
        write("  ".join(parts))

    return show


def _broadcast_buffers(modules: list[torch.nn.Module]):
    def broadcast(_: Engine) -> None:
        for module in modules:
            for buffer in module.buffers():
                torch.distributed.broadcast(buffer, src=0)

    return broadcast


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
        trainer.add_event_handler(Events.EPOCH_STARTED, _log_learning_rates(tb_logger,
                                                                            handlers.to_save))
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


def _log_learning_rates(tb_logger: TensorboardLogger, to_save: dict):
    """Each checkpointed optimizer's learning rate (per parameter group) at each epoch."""
    optimizers = {name: obj for name, obj in to_save.items()
                  if isinstance(obj, torch.optim.Optimizer)}

    def log(trainer: Engine) -> None:
        for name, optimizer in optimizers.items():
            for i, group in enumerate(optimizer.param_groups):
                suffix = f"/{i}" if len(optimizer.param_groups) > 1 else ""
                tb_logger.writer.add_scalar(f"lr/{name}{suffix}", float(group["lr"]),
                                            trainer.state.epoch)

    return log
