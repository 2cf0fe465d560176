"""Checkpoints under faults: a kill mid-save, a full or unwritable disk. Nothing trains: a
trivial engine and a tiny model, with torch.save replaced where a fault is simulated."""

import errno
import os
import re

import pytest
import torch
from ignite.engine import Engine

from ignoise.engine.checkpointing import (
    CheckpointWriteError,
    attach_checkpoint,
    find_resume_checkpoint,
    load_checkpoint,
)

REAL_SAVE = torch.save


def start(output_dir, n_saved=2, resume=False):
    """A trainer checkpointing a tiny model into ``output_dir``, resumed when asked."""
    model, trainer = torch.nn.Linear(3, 2), Engine(lambda e, b: None)
    to_save = {"model": model, "trainer": trainer}
    if resume:
        load_checkpoint(find_resume_checkpoint(output_dir), to_save)
    attach_checkpoint(trainer, to_save, output_dir, n_saved=n_saved)
    return trainer


def names(folder):
    return sorted(path.name for path in folder.iterdir())


def failing_save(error, on_epoch, folder=None, seen=None):
    """torch.save that writes part of the file of epoch ``on_epoch`` (one iteration per epoch)
    and then raises ``error``; ``seen`` gets the names in ``folder`` at that moment."""
    def save(obj, file, **kwargs):
        if obj["trainer"]["iteration"] != on_epoch:
            return REAL_SAVE(obj, file, **kwargs)
        file.write(b"PK\x03\x04 half a checkpoint")
        file.flush()
        if seen is not None:
            seen.extend(os.listdir(folder))
        raise error

    return save


def test_temporaries_of_a_killed_save_are_removed_on_attach_and_resume(tmp_path, monkeypatch):
    folder = tmp_path / "checkpoints"
    seen = []
    monkeypatch.setattr(torch, "save", failing_save(SystemExit(1), 3, folder, seen))
    with pytest.raises(SystemExit):
        start(tmp_path).run([0], max_epochs=4)
    monkeypatch.setattr(torch, "save", REAL_SAVE)
    (temporary,) = set(seen) - {"checkpoint_1.pt", "checkpoint_2.pt"}
    assert re.fullmatch(r"checkpoint_3\.pt\.\w+\.tmp", temporary)
    assert names(folder) == ["checkpoint_1.pt", "checkpoint_2.pt"]  # an interrupt cleans up
    # a SIGKILL would have left that temporary, and ignite's DiskSaver leaves tmpXXXXXXXX ones
    (folder / temporary).write_bytes(b"PK\x03\x04 half a checkpoint")
    (folder / "tmpa1b2_c3d").write_bytes(b"PK\x03\x04 half a checkpoint")
    (folder / "notes.txt").write_text("the user's own file")
    assert names(folder) == sorted(["checkpoint_1.pt", "checkpoint_2.pt", "notes.txt", temporary,
                                    "tmpa1b2_c3d"])
    trainer = start(tmp_path, resume=True)
    assert names(folder) == ["checkpoint_1.pt", "checkpoint_2.pt", "notes.txt"]
    trainer.run([0], max_epochs=4)
    assert trainer.state.epoch == 4
    assert names(folder) == ["checkpoint_3.pt", "checkpoint_4.pt", "notes.txt"]


def test_a_full_disk_names_the_checkpoint_and_keeps_the_previous_one(tmp_path, monkeypatch):
    folder = tmp_path / "checkpoints"
    full = OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(torch, "save", failing_save(full, on_epoch=2))
    with pytest.raises(CheckpointWriteError) as caught:
        start(tmp_path, n_saved=1).run([0], max_epochs=3)
    assert isinstance(caught.value, OSError) and caught.value.errno == errno.ENOSPC
    assert caught.value.path == folder / "checkpoint_2.pt"
    assert re.fullmatch(
        re.escape(f"could not write checkpoint {folder / 'checkpoint_2.pt'}: no space left on "
                  f"the device of {folder} (") + r"[\d.]+ [KMGT]?i?B" + re.escape(
            " free); no partial file was left, and the earlier checkpoints in "
            f"{folder} are kept"), str(caught.value))
    # with n_saved=1 the previous checkpoint is still there: pruning waits for a good save
    assert names(folder) == ["checkpoint_1.pt"]


def test_torchs_unexpected_pos_error_is_reported_as_the_full_disk_behind_it(tmp_path, monkeypatch):
    # what torch.save raises when the file's write() fails for a full disk (seen on a tmpfs)
    failure = RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598")
    failure.__context__ = OSError(errno.ENOSPC, "No space left on device")
    folder = tmp_path / "checkpoints"
    monkeypatch.setattr(torch, "save", failing_save(failure, on_epoch=1))
    with pytest.raises(CheckpointWriteError, match=re.escape(
            f"could not write checkpoint {folder / 'checkpoint_1.pt'}: no space left on the "
            f"device of {folder}")) as caught:
        start(tmp_path).run([0], max_epochs=1)
    assert caught.value.errno == errno.ENOSPC
    assert names(folder) == []


def test_a_write_error_without_errno_keeps_torchs_first_line(tmp_path, monkeypatch):
    folder = tmp_path / "checkpoints"
    failure = RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704 vs 598\n"
                           "frame #0: c10::Error::Error(...)")
    monkeypatch.setattr(torch, "save", failing_save(failure, on_epoch=1))
    with pytest.raises(CheckpointWriteError) as caught:
        start(tmp_path).run([0], max_epochs=1)
    message = str(caught.value)
    assert message.startswith(
        f"could not write checkpoint {folder / 'checkpoint_1.pt'}: [enforce fail at "
        "inline_container.cc:672] . unexpected pos 704 vs 598 frame #0")
    assert f"free on the device of {folder}); no partial file was left" in message
    assert caught.value.errno is None and names(folder) == []


@pytest.mark.parametrize("code, says", [(errno.EACCES, "is not writable by this process"),
                                        (errno.EROFS, "is on a read-only file system"),
                                        (errno.EDQUOT, "disk quota exceeded for")])
def test_an_unwritable_folder_says_so(tmp_path, monkeypatch, code, says):
    # chmod cannot make a folder unwritable for root (the tests' user): fail torch.save instead
    folder = tmp_path / "checkpoints"
    monkeypatch.setattr(torch, "save", failing_save(OSError(code, os.strerror(code)), on_epoch=1))
    with pytest.raises(CheckpointWriteError) as caught:
        start(tmp_path).run([0], max_epochs=1)
    message = str(caught.value)
    assert message.startswith(f"could not write checkpoint {folder / 'checkpoint_1.pt'}: ")
    assert f"{says} {folder}" in message or f"{folder} {says}" in message
    assert caught.value.errno == code and names(folder) == []


def test_a_checkpoint_folder_that_cannot_be_created_fails_on_attach(tmp_path):
    run_folder = tmp_path / "run"
    run_folder.write_text("a file where the run folder should be")
    trainer = Engine(lambda e, b: None)
    with pytest.raises(CheckpointWriteError, match=re.escape(
            f"cannot create the checkpoint folder {run_folder / 'checkpoints'}: ")):
        attach_checkpoint(trainer, {"trainer": trainer}, run_folder)


def test_an_error_that_is_not_about_writing_is_not_disguised(tmp_path, monkeypatch):
    folder = tmp_path / "checkpoints"
    monkeypatch.setattr(torch, "save", failing_save(TypeError("cannot pickle 'generator'"), 1))
    with pytest.raises(TypeError, match="cannot pickle 'generator'"):
        start(tmp_path).run([0], max_epochs=1)
    assert names(folder) == []
