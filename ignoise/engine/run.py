"""A recipe's run: the Accelerator, the output folder, resume and ``results.json``."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from pathlib import Path
from types import SimpleNamespace

from ignite.engine import Engine

from ..data.loader_factory import build_loaders
from .accelerator import create_accelerator, seed_everything
from .checkpointing import latest_checkpoint, load_checkpoint
from .common import CommonHandlers, attach_common_handlers
from .rng_state import RNGState

__all__ = ["Run", "RESULT_KEYS"]

#: The keys every ``results.json`` has (DESIGN.md, "Run outputs"); methods add their own.
RESULT_KEYS = (
    "method", "dataset", "noise", "noise_rate", "seed", "epochs", "test_acc_best",
    "test_acc_last", "history", "wall_time_s",
)


class Run:
    """Everything a recipe's run shares, created before anything else.

    Creates the Accelerator, seeds every generator, and checks ``--resume`` against the output
    folder before any data or model is built, so that a bad resume fails at once.

    Args:
        cfg: the resolved config (see :func:`ignoise.engine.resolve_config`).
        method: the method's name as it appears in ``results.json``.
    """

    def __init__(self, cfg: SimpleNamespace, method: str) -> None:
        self.cfg = cfg
        self.method = method
        self.accelerator = create_accelerator(cfg.mixed_precision, cpu=cfg.cpu)
        seed_everything(cfg.seed)
        self.output_dir = Path(cfg.output_dir)
        self.resume_from = None
        if cfg.resume:
            self.resume_from = latest_checkpoint(self.output_dir)
            if self.resume_from is None:
                raise FileNotFoundError(
                    f"--resume: no checkpoint_<epoch>.pt in {self.output_dir / 'checkpoints'}"
                )
        self.handlers: CommonHandlers | None = None
        self._to_save: dict = {}

    @property
    def device(self):
        return self.accelerator.device

    @property
    def shard(self) -> dict:
        """``seed``, ``rank`` and ``world_size`` for samplers and loaders."""
        return {
            "seed": self.cfg.seed,
            "rank": self.accelerator.process_index,
            "world_size": self.accelerator.num_processes,
        }

    def loaders(self, data, batch_size: int | None = None, *, paired_sampler=None):
        """``(train_loader, test_loader)`` of ``cfg.loader`` for ``data`` (a
        :class:`ignoise.data.NoisyData`), sharded for this process; see
        :func:`ignoise.data.build_loaders`."""
        cfg = self.cfg
        return build_loaders(
            cfg.loader, data.train, data.test, batch_size=batch_size or cfg.batch_size,
            eval_batch_size=cfg.eval_batch_size, num_workers=cfg.num_workers, device=self.device,
            dataset_name=data.name, paired_sampler=paired_sampler, cache_dir=cfg.cache_dir,
            **self.shard,
        )

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
        """Attach the common handlers; ``to_save`` gets the RNG state added."""
        self._to_save = {**to_save, "rng": RNGState()}
        self.handlers = attach_common_handlers(
            trainer,
            accelerator=self.accelerator,
            output_dir=self.output_dir,
            evaluators=evaluators,
            to_save=self._to_save,
            primary=primary,
            log_every=self.cfg.log_every,
            scalar_keys=scalar_keys,
            progress=self.cfg.progress,
        )
        self._to_save = self.handlers.checkpoint.to_save
        return self.handlers

    def execute(
        self,
        trainer: Engine,
        train_loader,
        *,
        extra_results: Callable[[], dict] | None = None,
        epoch_length: int | None = None,
    ) -> dict:
        """Resume if asked, train to ``cfg.epochs``, and write ``results.json`` (main process).

        Returns the results dict (on every rank).
        """
        if self.handlers is None:
            raise RuntimeError("call Run.attach(...) before Run.execute(...)")
        if self.resume_from is not None:
            load_checkpoint(self.resume_from, self._to_save)
            self.print(f"resumed from {self.resume_from} at epoch {trainer.state.epoch}")
        if trainer.state.epoch < self.cfg.epochs:
            trainer.run(train_loader, max_epochs=self.cfg.epochs, epoch_length=epoch_length)
        results = self.results(extra_results() if extra_results else {})
        if self.accelerator.is_main_process:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            with open(self.output_dir / "results.json", "w") as f:
                json.dump(results, f, indent=2, default=_jsonable)
        self.accelerator.wait_for_everyone()
        return results

    def results(self, extra: dict) -> dict:
        history = self.handlers.history
        cfg = self.cfg
        return {
            "method": self.method,
            "dataset": cfg.dataset,
            "noise": cfg.noise,
            "noise_rate": cfg.noise_rate,
            "seed": cfg.seed,
            "epochs": cfg.epochs,
            "test_acc_best": history.best,
            "test_acc_last": history.last,
            "history": history.rows,
            "wall_time_s": round(self.handlers.clock.elapsed, 3),
            "num_processes": self.accelerator.num_processes,
            "config": {k: v for k, v in vars(cfg).items() if _is_plain(v)},
            **extra,
        }


def _is_plain(value) -> bool:
    return isinstance(value, (str, int, float, bool, list, dict, type(None)))


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)
