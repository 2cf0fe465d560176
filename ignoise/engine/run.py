"""A run: the Accelerator, seeding, the output folder, resume and ``results.json``."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from pathlib import Path

from ignite.engine import Engine

from ..config import ConfigError
from ..config.run_folder import clear_run_folder, identity_diff, write_identity
from .accelerator import check_launch, create_accelerator, seed_everything
from .checkpointing import find_resume_checkpoint, load_checkpoint, read_checkpoint
from .common import CommonHandlers, attach_common_handlers
from .divergence import RunDiverged
from .rng_state import RNGState
from .speed import compile_networks

__all__ = ["Run", "RESULT_KEYS", "plain_json"]

#: The keys every ``results.json`` has (docs/concepts.rst, "Run outputs"); methods add their own.
RESULT_KEYS = (
    "method", "dataset", "noise", "noise_rate", "seed", "epochs", "test_acc_best",
    "test_acc_last", "val_acc_best", "test_acc_at_best_val", "best_val_epoch", "history",
    "wall_time_s",
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
        identity: what identifies the run (:func:`ignoise.config.run_identity`): written to
            ``run.json`` when training starts and into every checkpoint; a resumed checkpoint
            whose identity differs in a setting that changes training is refused.
        overwrite: clear what a previous run wrote into ``output_dir`` first.
        collective_timeout_s: how long a process waits for the others in a collective.
        compile: ``torch.compile`` every network of ``to_save`` when :meth:`attach` is
            called (:func:`ignoise.engine.speed.compile_networks`).

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
        identity: dict | None = None,
        overwrite: bool = False,
        collective_timeout_s: int | None = None,
        compile: bool = False,
    ) -> None:
        self.method = method
        self.config = dict(config or {})
        self.seed = int(seed)
        self.identity = identity
        self.compile = compile
        self.accelerator = create_accelerator(mixed_precision, cpu=cpu,
                                              timeout_s=collective_timeout_s)
        check_launch(self.accelerator.num_processes)
        seed_everything(self.seed)
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self.checkpoint = checkpoint and self.output_dir is not None
        self.tensorboard = tensorboard and self.output_dir is not None
        self.progress, self.log_every = progress, log_every
        self.resume_from = None
        if resume:
            if not self.checkpoint:
                raise ValueError("resume needs an output_dir with checkpointing on")
            # the newest intact checkpoint (a corrupt newest one is skipped with a warning)
            self.resume_from = find_resume_checkpoint(self.output_dir)
            self._check_identity(self.resume_from)
        elif overwrite and self.output_dir is not None:
            if self.accelerator.is_main_process:
                clear_run_folder(self.output_dir)
            self.accelerator.wait_for_everyone()
        self.handlers: CommonHandlers | None = None
        self._to_save: dict = {}

    @classmethod
    def from_config(cls, cfg, method: str, config: dict | None = None) -> Run:
        """The run of a resolved config (a :class:`ignoise.config.TrainingConfig`)."""
        from ..config import run_identity

        return cls(output_dir=cfg.output_dir, seed=cfg.seed, method=method, config=config,
                   mixed_precision=cfg.mixed_precision, cpu=cfg.cpu, resume=cfg.resume,
                   progress=cfg.progress, log_every=cfg.log_every,
                   identity=run_identity(method, cfg), overwrite=cfg.overwrite,
                   collective_timeout_s=cfg.collective_timeout_s,
                   compile=getattr(cfg, "compile", False))

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
        RNG state and the run's identity added. With ``compile``, the networks in ``to_save``
        are compiled here, after the method has built (and copied) all of them."""
        if self.compile:
            compile_networks(to_save.values())
        self._to_save = {**to_save, "rng": RNGState()}
        if self.identity is not None:
            self._to_save["run_identity"] = _Identity(self.identity)
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
        when there is an output folder), with ``status`` ``"completed"`` or ``"diverged"``.
        Returns the results dict (on every rank).

        Raises:
            RunDiverged: the loss became non-finite (``results.json`` is written first).
        """
        if self.handlers is None:
            raise RuntimeError("call Run.attach(...) before Run.execute(...)")
        if self.resume_from is not None:
            load_checkpoint(self.resume_from, self._to_save)
            self.print(f"resumed from {self.resume_from} at epoch {trainer.state.epoch}")
        if self.identity is not None and self.output_dir is not None:
            if self.accelerator.is_main_process:
                write_identity(self.output_dir, self.identity)
        diverged = None
        if trainer.state.epoch < max_epochs:
            try:
                trainer.run(train_loader, max_epochs=max_epochs, epoch_length=epoch_length)
            except RunDiverged as err:
                diverged = err
        results = self.results(max_epochs, extra_results() if extra_results else {})
        results["status"] = "completed" if diverged is None else "diverged"
        if diverged is not None:
            results["divergence"] = {**diverged.details, "message": str(diverged)}
        results = plain_json(results)
        if self.accelerator.is_main_process and self.output_dir is not None:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            with open(self.output_dir / "results.json", "w") as f:
                json.dump(results, f, indent=2, allow_nan=False)
        self.accelerator.wait_for_everyone()
        if diverged is not None:
            raise diverged
        return results

    def _check_identity(self, path: Path) -> None:
        """Refuse a checkpoint saved by another run (before any data or model is built)."""
        if self.identity is None:
            return
        saved = read_checkpoint(path).get("run_identity")
        diff = identity_diff(saved, self.identity) if saved else []
        if diff:
            raise ConfigError(f"--resume: {path} was saved by another run; these settings "
                              f"differ (saved -> given): {'; '.join(diff)}")

    def results(self, epochs: int, extra: dict) -> dict:
        """The contents of ``results.json``. ``test_acc_at_best_val`` is the primary test
        accuracy at ``best_val_epoch``, the first epoch of highest ``val_accuracy`` (a noisy
        validation set, ``--val-fraction``); the three ``val`` keys are ``None`` without one."""
        history = self.handlers.history
        selected = history.best_row("val_accuracy") or {}
        return {
            "method": self.method,
            "dataset": self.config.get("dataset"),
            "noise": self.config.get("noise"),
            "noise_rate": self.config.get("noise_rate"),
            "seed": self.seed,
            "epochs": epochs,
            "test_acc_best": history.best,
            "test_acc_last": history.last,
            "val_acc_best": selected.get("val_accuracy"),
            "test_acc_at_best_val": selected.get(history.primary),
            "best_val_epoch": selected.get("epoch"),
            "history": history.rows,
            "wall_time_s": round(self.handlers.clock.elapsed, 3),
            "num_processes": self.accelerator.num_processes,
            "config": self.config,
            **extra,
        }


class _Identity:
    """The run's identity as a checkpointed object (saved, never restored over the current)."""

    def __init__(self, identity: dict) -> None:
        self.identity = identity

    def state_dict(self) -> dict:
        return self.identity

    def load_state_dict(self, state: dict) -> None:
        pass  # checked against the current run before anything was built


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
