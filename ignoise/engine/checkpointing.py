"""Checkpoints that resume exactly: what to save, where, and loading with clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import torch
from ignite.engine import Engine, Events
from ignite.handlers import Checkpoint, DiskSaver

__all__ = ["attach_checkpoint", "latest_checkpoint", "load_checkpoint", "CHECKPOINT_PREFIX"]

CHECKPOINT_PREFIX = "checkpoint"
_NAME = re.compile(rf"^{CHECKPOINT_PREFIX}_(\d+)\.pt$")


def attach_checkpoint(trainer: Engine, to_save: dict, output_dir: str | Path, n_saved: int = 2):
    """Save ``to_save`` (it must include ``"trainer"``) at the end of every epoch.

    Files are ``checkpoint_<epoch>.pt`` in ``output_dir / "checkpoints"``; DiskSaver writes
    atomically, so a run killed while saving keeps its previous checkpoint. Only the main
    process writes; every rank loads the same file on resume.
    """
    if "trainer" not in to_save:
        raise ValueError("to_save must hold the trainer under the key 'trainer' for exact resume")
    handler = Checkpoint(
        to_save,
        DiskSaver(Path(output_dir) / "checkpoints", require_empty=False, create_dir=True),
        filename_prefix="",
        filename_pattern=f"{CHECKPOINT_PREFIX}_{{global_step}}.{{ext}}",
        global_step_transform=lambda engine, _: engine.state.epoch,
        n_saved=n_saved,
    )
    trainer.add_event_handler(Events.EPOCH_COMPLETED, handler)
    return handler


def latest_checkpoint(output_dir: str | Path) -> Path | None:
    """The checkpoint of the latest epoch in ``output_dir``, or None if there is none."""
    folder = Path(output_dir) / "checkpoints"
    found = [(int(m.group(1)), p) for p in folder.glob("*.pt") if (m := _NAME.match(p.name))]
    return max(found)[1] if found else None


def load_checkpoint(path: str | Path, to_load: dict) -> None:
    """Restore every object of ``to_load`` from the checkpoint at ``path``.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not a readable checkpoint, or lacks an object of ``to_load``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated or foreign files raise many different errors
        raise ValueError(
            f"checkpoint {path} is corrupt or not an ignoise checkpoint: {err}"
        ) from err
    if not isinstance(state, dict):
        raise ValueError(f"checkpoint {path} holds a {type(state).__name__}, expected a dict")
    missing = sorted(set(to_load) - set(state))
    if missing:
        raise ValueError(
            f"checkpoint {path} lacks {', '.join(missing)}: it holds {', '.join(sorted(state))}"
        )
    Checkpoint.load_objects(to_load=to_load, checkpoint=state)
