"""A run: the Accelerator, seeding, the output folder, resume and ``results.json``."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from pathlib import Path

from ignite.engine import Engine

from .accelerator import create_accelerator, seed_everything
from .checkpointing import latest_checkpoint, load_checkpoint
from .common import CommonHandlers, attach_common_handlers
from .rng_state import RNGState

__all__ = ["Run", "RESULT_KEYS", "plain_json"]

#: The keys every ``results.json`` has (docs/concepts.rst, "Run outputs"); methods add their own.
RESULT_KEYS = (
    "method", "dataset", "noise", "noise_rate", "seed", "epochs", "test_acc_best",
    "test_acc_last", "history", "wall_time_s",
)


class Run:
    """What every run shares, created before anything else: the Accelerator, the seeds, the
    output folder and the check of ``resume`` (so that a bad resume fails before any data or
    model is built).

    Usable with plain keyword arguments; the methods build it with :meth:`from_config`.

    Args:
        output_dir: where ``results.json``, checkpoints and TensorBoard events go; ``None``
            writes nothing (no checkpoints, no TensorBoard, no ``results.json``).
        seed: seeds Python, NumPy and torch on every rank.
        method: the name recorded in ``results.json``.
        config: plain values recorded in ``results.json`` (``dataset``, ``noise``,
            ``noise_rate`` are read from it when present).
        mixed_precision, cpu: see :func:`ignoise.engine.create_accelerator`.
        resume: continue from the last checkpoint in ``output_dir``.
        checkpoint, tensorboard, progress: switch those handlers.
        log_every: iterations between TensorBoard points, progress updates and NaN checks.

    Examples:
        >>> run = Run(seed=0, cpu=True)   # nothing written, no checkpoints
        >>> run.shard
        {'seed': 0, 'rank': 0, 'world_size': 1}
    """

    def __init__(
        self,
        *,
        output_dir: str | Path | None = None,
        seed: int = 0,
        method: str = "custom",
        config: dict | None = None,
        mixed_precision: str = "no",
        cpu: bool = False,
        resume: bool = False,
        checkpoint: bool = True,
        tensorboard: bool = True,
        progress: bool = True,
        log_every: int = 20,
    ) -> None:
        self.method = method
        self.config = dict(config or {})
        self.seed = int(seed)
        self.accelerator = create_accelerator(mixed_precision, cpu=cpu)
        seed_everything(self.seed)
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self.checkpoint = checkpoint and self.output_dir is not None
        self.tensorboard = tensorboard and self.output_dir is not None
        self.progress, self.log_every = progress, log_every
        self.resume_from = None
        if resume:
            if not self.checkpoint:
                raise ValueError("resume needs an output_dir with checkpointing on")
            self.resume_from = latest_checkpoint(self.output_dir)
            if self.resume_from is None:
                raise FileNotFoundError(
                    f"--resume: no checkpoint_<epoch>.pt in {self.output_dir / 'checkpoints'}"
                )
        self.handlers: CommonHandlers | None = None
        self._to_save: dict = {}

    @classmethod
    def from_config(cls, cfg, method: str, config: dict | None = None) -> Run:
        """The run of a resolved config (a :class:`ignoise.config.TrainingConfig`)."""
        return cls(output_dir=cfg.output_dir, seed=cfg.seed, method=method, config=config,
                   mixed_precision=cfg.mixed_precision, cpu=cfg.cpu, resume=cfg.resume,
                   progress=cfg.progress, log_every=cfg.log_every)

    @property
    def device(self):
        return self.accelerator.device

    @property
    def shard(self) -> dict:
        """``seed``, ``rank`` and ``world_size`` for samplers and loaders."""
        return {
            "seed": self.seed,
            "rank": self.accelerator.process_index,
            "world_size": self.accelerator.num_processes,
        }

    def per_process(self, batch_size: int) -> int:
        """The per-process share of a batch given over all processes.

        Raises:
            ValueError: the number of processes does not divide ``batch_size``.
        """
        world = self.accelerator.num_processes
        if batch_size % world:
            raise ValueError(f"batch_size {batch_size} (over all processes) is not a multiple "
                             f"of the {world} processes")
        return batch_size // world

    def print(self, *args) -> None:
        self.accelerator.print(*args)

    def attach(
        self,
        trainer: Engine,
        *,
        evaluators: dict[str, tuple[Engine, Iterable]],
        to_save: dict,
        primary: str = "test_accuracy",
        scalar_keys: Iterable[str] = ("loss",),
    ) -> CommonHandlers:
        """Attach the common handlers (:func:`attach_common_handlers`); ``to_save`` gets the
        RNG state added."""
        self._to_save = {**to_save, "rng": RNGState()}
        self.handlers = attach_common_handlers(
            trainer,
            accelerator=self.accelerator,
            output_dir=self.output_dir,
            evaluators=evaluators,
            to_save=self._to_save,
            primary=primary,
            log_every=self.log_every,
            scalar_keys=scalar_keys,
            progress=self.progress,
            tensorboard=self.tensorboard,
            checkpoint=self.checkpoint,
        )
        self._to_save = self.handlers.to_save
        return self.handlers

    def execute(
        self,
        trainer: Engine,
        train_loader,
        *,
        max_epochs: int,
        extra_results: Callable[[], dict] | None = None,
        epoch_length: int | None = None,
    ) -> dict:
        """Resume if asked, train to ``max_epochs``, and write ``results.json`` (main process,
        when there is an output folder). Returns the results dict (on every rank)."""
        if self.handlers is None:
            raise RuntimeError("call Run.attach(...) before Run.execute(...)")
        if self.resume_from is not None:
            load_checkpoint(self.resume_from, self._to_save)
            self.print(f"resumed from {self.resume_from} at epoch {trainer.state.epoch}")
        if trainer.state.epoch < max_epochs:
            trainer.run(train_loader, max_epochs=max_epochs, epoch_length=epoch_length)
        results = plain_json(self.results(max_epochs, extra_results() if extra_results else {}))
        if self.accelerator.is_main_process and self.output_dir is not None:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            with open(self.output_dir / "results.json", "w") as f:
                json.dump(results, f, indent=2, allow_nan=False)
        self.accelerator.wait_for_everyone()
        return results

    def results(self, epochs: int, extra: dict) -> dict:
        history = self.handlers.history
        return {
            "method": self.method,
            "dataset": self.config.get("dataset"),
            "noise": self.config.get("noise"),
            "noise_rate": self.config.get("noise_rate"),
            "seed": self.seed,
            "epochs": epochs,
            "test_acc_best": history.best,
            "test_acc_last": history.last,
            "history": history.rows,
            "wall_time_s": round(self.handlers.clock.elapsed, 3),
            "num_processes": self.accelerator.num_processes,
            "config": self.config,
            **extra,
        }


def plain_json(value):
    """``value`` with tensors and arrays as lists and NaN or infinite floats as ``None``, so
    that it is strict JSON (``json.dump`` would write bare ``NaN`` tokens).

    Examples:
        >>> plain_json({"a": float("nan"), "b": [1.5, float("inf")]})
        {'a': None, 'b': [1.5, None]}
    """
    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    if hasattr(value, "tolist"):  # tensors, arrays and NumPy scalars
        return plain_json(value.tolist())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (str, int, bool)):
        return value
    return str(value)
