"""Checkpoints that resume exactly: what to save, where, and loading with clear errors."""

from __future__ import annotations

import errno
import os
import re
import shutil
import stat
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path

import torch
from ignite import distributed as idist
from ignite.engine import Engine, Events
from ignite.handlers import Checkpoint, DiskSaver

__all__ = [
    "attach_checkpoint", "latest_checkpoint", "find_resume_checkpoint", "read_checkpoint",
    "load_checkpoint", "CheckpointWriteError", "CHECKPOINT_PREFIX",
]

CHECKPOINT_PREFIX = "checkpoint"
_NAME = re.compile(rf"^{CHECKPOINT_PREFIX}_(\d+)\.pt$")
# Temporaries a killed save leaves: ours (``checkpoint_3.pt.<random>.tmp``) and those of ignite's
# DiskSaver (``tempfile.NamedTemporaryFile``: ``tmp`` and 8 characters of [a-z0-9_]).
_TEMPORARY = re.compile(rf"^(?:{CHECKPOINT_PREFIX}_\d+\.pt\.[A-Za-z0-9_]+\.tmp|tmp[a-z0-9_]{{8}})$")
_EXPECTED = ("expected a dict saved by ignoise's Checkpoint, with 'trainer' and the other objects "
             "of the run")
_MAX_LISTED = 5


class CheckpointWriteError(OSError):
    """A checkpoint could not be written (disk full, folder not writable, ...).

    No partial file is left, and the earlier checkpoints of the folder are kept. ``path`` is the
    checkpoint that was being written; ``errno`` is that of the underlying OSError, if any.
    """

    def __init__(self, message: str, path: str | Path | None = None, code: int | None = None):
        super().__init__(message)
        self.path = Path(path) if path is not None else None
        self.errno = code

    def __str__(self) -> str:
        return self.args[0]


class _CheckpointSaver(DiskSaver):
    """ignite's DiskSaver, made safe to resume into: it writes through a temporary it always
    removes (and removes those a killed process left), and after each save keeps only the
    newest ``n_saved`` checkpoints of the folder, whichever process wrote them."""

    def __init__(self, dirname: Path, n_saved: int | None) -> None:
        try:
            super().__init__(dirname, atomic=True, create_dir=True, require_empty=False)
        except OSError as err:
            raise CheckpointWriteError(
                f"cannot create the checkpoint folder {dirname}: {_write_failure(err, dirname)}",
                dirname, err.errno) from err
        self.n_saved = n_saved
        if idist.get_rank() == self.save_on_rank:
            _remove_stale_temporaries(self.dirname)

    def __call__(self, checkpoint: Mapping, filename: str, metadata: Mapping | None = None):
        super().__call__(checkpoint, filename, metadata)  # writes on save_on_rank only
        if idist.get_rank() == self.save_on_rank:
            self._prune(keep=filename)

    def remove(self, filename: str) -> None:
        # Checkpoint removes its oldest file *before* writing the next one; a failed write would
        # then leave one checkpoint fewer. Pruning happens after a successful write instead.
        pass

    def _save_func(self, checkpoint: Mapping, path: Path, func) -> None:
        tmp = None
        try:
            fd, tmp = tempfile.mkstemp(prefix=f"{path.name}.", suffix=".tmp", dir=self.dirname)
            with os.fdopen(fd, "wb") as file:
                func(checkpoint, file, **self.kwargs)
                file.flush()
                os.fsync(file.fileno())  # network file systems report a full disk only here
            os.chmod(tmp, os.stat(tmp).st_mode | stat.S_IRGRP | stat.S_IROTH)
            os.replace(tmp, path)
        except BaseException as err:
            left = _remove_quietly(tmp)
            if not isinstance(err, (OSError, RuntimeError)):
                raise
            partial = f"a partial file remains at {left}" if left else "no partial file was left"
            raise CheckpointWriteError(
                f"could not write checkpoint {path}: {_write_failure(err, self.dirname)}; "
                f"{partial}, and the earlier checkpoints in {self.dirname} are kept",
                path, _errno(err)) from err

    def _prune(self, keep: str) -> None:
        if self.n_saved is None:
            return
        others = sorted((path for path in _checkpoints(self.dirname) if path.name != keep),
                        key=_epoch, reverse=True)
        for path in others[self.n_saved - 1:]:
            try:
                path.unlink(missing_ok=True)
            except OSError as err:  # the new checkpoint is safe: do not fail the run for this
                warnings.warn(f"could not remove old checkpoint {path}: {err}", stacklevel=2)


def attach_checkpoint(
    trainer: Engine, to_save: dict, output_dir: str | Path, n_saved: int | None = 2
) -> Checkpoint:
    """Save ``to_save`` (it must include ``"trainer"``) at the end of every epoch.

    Files are ``checkpoint_<epoch>.pt`` in ``output_dir / "checkpoints"``. Each is written to a
    temporary file that is renamed into place, so a run killed while saving keeps its previous
    checkpoint; a failed write removes its temporary and raises :class:`CheckpointWriteError`,
    and attaching removes the temporaries a killed process left. After each save, only the
    newest ``n_saved`` checkpoints of the folder are kept (``None``: all), including those an
    earlier process wrote before a resume. Only the main process writes; every rank loads the
    same file on resume.

    Args:
        trainer: the engine whose epochs are checkpointed.
        to_save: objects with ``state_dict``/``load_state_dict``, by name.
        output_dir: the run folder; checkpoints go to its ``checkpoints/``.
        n_saved: checkpoints kept in the folder.

    Examples:
        >>> import tempfile, torch
        >>> trainer = Engine(lambda engine, batch: None)
        >>> folder = tempfile.mkdtemp()
        >>> _ = attach_checkpoint(trainer, {"trainer": trainer}, folder, n_saved=1)
        >>> _ = trainer.run([0], max_epochs=3)
        >>> sorted(p.name for p in (Path(folder) / "checkpoints").iterdir())
        ['checkpoint_3.pt']
    """
    if "trainer" not in to_save:
        raise ValueError("to_save must hold the trainer under the key 'trainer' for exact resume")
    if n_saved is not None and (isinstance(n_saved, bool) or not isinstance(n_saved, int)
                                or n_saved < 1):
        raise ValueError(f"n_saved must be a positive int or None, got {n_saved!r}")
    handler = Checkpoint(
        to_save,
        _CheckpointSaver(Path(output_dir) / "checkpoints", n_saved),
        filename_prefix="",
        filename_pattern=f"{CHECKPOINT_PREFIX}_{{global_step}}.{{ext}}",
        global_step_transform=lambda engine, _: engine.state.epoch,
        n_saved=n_saved,
    )
    trainer.add_event_handler(Events.EPOCH_COMPLETED, handler)
    return handler


def _remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Remove the temporary files an interrupted save left in a checkpoint ``folder``; return them.

    Call it only where no save is under way (e.g. before training starts).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    stale = [path for path in folder.iterdir() if _TEMPORARY.match(path.name) and path.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def latest_checkpoint(output_dir: str | Path) -> Path | None:
    """The checkpoint of the latest epoch in ``output_dir``, or None if there is none."""
    found = _checkpoints(Path(output_dir) / "checkpoints")
    return max(found, key=_epoch) if found else None


def find_resume_checkpoint(output_dir: str | Path) -> Path:
    """The newest checkpoint in ``output_dir`` that can be read, to resume from.

    A newest checkpoint that is corrupt (or not an ignoise checkpoint) is skipped with a warning
    that names it and the older one used instead.

    Raises:
        FileNotFoundError: ``output_dir / "checkpoints"`` holds no ``checkpoint_<epoch>.pt``.
        ValueError: every checkpoint there is unreadable (the message names each one).
    """
    folder = Path(output_dir) / "checkpoints"
    found = sorted(_checkpoints(folder), key=_epoch, reverse=True)
    if not found:
        where = "does not exist" if not folder.is_dir() else "holds no checkpoint_<epoch>.pt"
        raise FileNotFoundError(f"no checkpoint to resume from: {folder} {where}")
    unreadable = []
    for path in found:
        try:
            state = read_checkpoint(path)
            if "trainer" not in state:
                raise ValueError(f"checkpoint {path} is not an ignoise checkpoint: {_EXPECTED}; "
                                 f"it holds {_keys(state)}")
        except ValueError as err:
            unreadable.append(str(err))
            continue
        if unreadable:
            warnings.warn(f"{'; '.join(unreadable)}. Resuming from the older {path} instead",
                          stacklevel=2)
        return path
    raise ValueError(f"no checkpoint in {folder} can be resumed from: {'; '.join(unreadable)}")


def read_checkpoint(path: str | Path) -> dict:
    """The dict of states a checkpoint file holds, read safely (tensors and plain values only).

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is corrupt, or is not a checkpoint saved by ignoise.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    if path.stat().st_size == 0:
        raise ValueError(f"checkpoint {path} is corrupt or not an ignoise checkpoint: "
                         f"{_EXPECTED}, but the file is empty")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated or foreign files raise many different errors
        raise ValueError(f"checkpoint {path} is corrupt or not an ignoise checkpoint: "
                         f"{_EXPECTED}, but torch cannot read it ({_read_failure(err)})") from None
    if not isinstance(state, dict):
        raise ValueError(f"checkpoint {path} is not an ignoise checkpoint: {_EXPECTED}, "
                         f"but it holds a {type(state).__name__}")
    return state


def load_checkpoint(path: str | Path, to_load: dict) -> None:
    """Restore every object of ``to_load`` from the checkpoint at ``path``.

    Nothing is restored when a model's parameters do not have the checkpoint's shapes.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: the file is not a readable checkpoint, lacks an object of ``to_load``, or
            holds states that do not fit them (another model or dataset).
    """
    path = Path(path)
    state = read_checkpoint(path)
    missing = sorted(set(to_load) - set(state))
    if missing:
        raise ValueError(f"checkpoint {path} lacks {', '.join(missing)}: it holds {_keys(state)}")
    mismatches = [line for name, obj in to_load.items()
                  for line in _shape_mismatches(name, obj, state[name])]
    if mismatches:
        raise ValueError(f"checkpoint {path} does not fit the objects to restore (saved for "
                         f"another model or dataset?): {_listed(mismatches)}")
    for name, obj in to_load.items():
        try:
            Checkpoint.load_objects(to_load={name: obj}, checkpoint={name: state[name]})
        except (RuntimeError, ValueError, KeyError, TypeError) as err:
            raise ValueError(f"checkpoint {path}: cannot restore {name}: {_one_line(err)}") from err


def _checkpoints(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return [path for path in folder.glob("*.pt") if _NAME.match(path.name)]


def _epoch(path: Path) -> int:
    return int(_NAME.match(path.name).group(1))


def _keys(state: dict) -> str:
    return ", ".join(sorted(map(str, state))) or "nothing"


def _listed(lines: list[str]) -> str:
    more = len(lines) - _MAX_LISTED
    return "; ".join(lines[:_MAX_LISTED]) + (f"; and {more} more" if more > 0 else "")


def _shape_mismatches(name: str, obj, saved) -> list[str]:
    """``name: size mismatch for <tensor>: checkpoint <shape>, model <shape>`` for a module."""
    if isinstance(obj, (torch.nn.DataParallel, torch.nn.parallel.DistributedDataParallel)):
        obj = obj.module
    if not isinstance(obj, torch.nn.Module) or not isinstance(saved, Mapping):
        return []
    lines = []
    for key, tensor in obj.state_dict().items():
        other = saved.get(key)
        if (isinstance(tensor, torch.Tensor) and isinstance(other, torch.Tensor)
                and not torch.nn.parameter.is_lazy(tensor) and tensor.shape != other.shape):
            lines.append(f"{name}: size mismatch for {key}: checkpoint {tuple(other.shape)}, "
                         f"model {tuple(tensor.shape)}")
    return lines


def _one_line(err: BaseException) -> str:
    text = " ".join(line.strip() for line in str(err).splitlines() if line.strip())
    return text or type(err).__name__


def _read_failure(err: BaseException) -> str:
    """What went wrong, in one line, without torch's advice to load unsafely."""
    inner = err.__context__ if "weights_only" in str(err) and err.__context__ else err
    text = str(inner).strip()
    foreign = re.search(r"Unsupported global: GLOBAL (\S+)", text)
    if foreign:
        return f"it holds a {foreign.group(1)}, which safe loading refuses"
    first = text.splitlines()[0].split(". ")[0].rstrip(".") if text else ""
    if not first or "weights_only" in first:
        return type(inner).__name__
    return f"{type(inner).__name__}: {first}"


def _errno(err: BaseException) -> int | None:
    """The errno of ``err`` or of the OSError it arose from (torch hides it in the context)."""
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if isinstance(err, OSError) and err.errno is not None:
            return err.errno
        err = err.__cause__ or err.__context__
    return None


def _write_failure(err: BaseException, folder: Path) -> str:
    code = _errno(err)
    if code == errno.ENOSPC:
        return f"no space left on the device of {folder} ({_free(folder)} free)"
    if code == errno.EDQUOT:
        return f"disk quota exceeded for {folder}"
    if code in (errno.EACCES, errno.EPERM):
        return f"{folder} is not writable by this process"
    if code == errno.EROFS:
        return f"{folder} is on a read-only file system"
    if code is not None:
        return f"{os.strerror(code)} ({_one_line(err)})"
    return f"{_one_line(err)} ({_free(folder)} free on the device of {folder})"


def _free(folder: Path) -> str:
    try:
        free = float(shutil.disk_usage(folder).free)
    except OSError:
        return "unknown space"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if free < 1024:
            return f"{free:.0f} {unit}" if unit == "B" else f"{free:.1f} {unit}"
        free /= 1024
    return f"{free:.1f} TiB"


def _remove_quietly(path: str | None) -> str | None:
    """Remove ``path``; return it if it could not be removed."""
    if path is None:
        return None
    try:
        Path(path).unlink(missing_ok=True)
    except OSError:
        return path
    return None
