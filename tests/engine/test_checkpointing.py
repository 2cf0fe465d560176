import random
import re
import traceback

import numpy as np
import pytest
import torch
from ignite.engine import Engine, Events

from ignoise.engine import RNGState
from ignoise.engine.checkpointing import (
    attach_checkpoint,
    find_resume_checkpoint,
    latest_checkpoint,
    load_checkpoint,
)


def test_rng_state_round_trip_restores_every_generator():
    state = RNGState()
    saved = state.state_dict()
    draws = (random.random(), np.random.rand(), torch.rand(1).item())
    state.load_state_dict(saved)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == draws


def test_checkpoint_files_and_exact_restore(tmp_path):
    model = torch.nn.Linear(3, 2)
    trainer = Engine(lambda e, b: {"loss": torch.zeros(())})
    attach_checkpoint(trainer, {"model": model, "trainer": trainer, "rng": RNGState()}, tmp_path)
    trainer.run([0, 1], max_epochs=3)
    path = latest_checkpoint(tmp_path)
    assert path.name == "checkpoint_3.pt"
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == [
        "checkpoint_2.pt", "checkpoint_3.pt"]
    other, other_trainer = torch.nn.Linear(3, 2), Engine(lambda e, b: None)
    load_checkpoint(path, {"model": other, "trainer": other_trainer})
    assert torch.equal(other.weight, model.weight)
    assert other_trainer.state.epoch == 3 and other_trainer.state.iteration == 6


def test_corrupt_and_missing_checkpoints_fail_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_checkpoint(tmp_path / "checkpoint_1.pt", {})
    broken = tmp_path / "checkpoint_1.pt"
    broken.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match="corrupt or not an ignoise checkpoint"):
        load_checkpoint(broken, {"model": torch.nn.Linear(1, 1)})
    torch.save({"model": {}}, broken)
    with pytest.raises(ValueError, match="lacks trainer"):
        load_checkpoint(broken, {"model": torch.nn.Linear(1, 1), "trainer": Engine(print)})
    assert latest_checkpoint(tmp_path / "nowhere") is None


def saved_epochs(output_dir):
    return sorted(int(p.stem.split("_")[1]) for p in (output_dir / "checkpoints").glob("*.pt"))


def run_epochs(output_dir, max_epochs, n_saved=2, resume_from=None, listings=None):
    """One "process": a trivial trainer and a tiny model checkpointed into ``output_dir``,
    resumed from ``resume_from`` when given; ``listings`` gets the saved epochs after each save."""
    model, trainer = torch.nn.Linear(3, 2), Engine(lambda e, b: None)
    to_save = {"model": model, "trainer": trainer}
    if resume_from is not None:
        load_checkpoint(resume_from, to_save)
    attach_checkpoint(trainer, to_save, output_dir, n_saved=n_saved)
    if listings is not None:
        trainer.add_event_handler(Events.EPOCH_COMPLETED, lambda e: listings.append(
            saved_epochs(output_dir)))
    trainer.run([0], max_epochs=max_epochs)
    return model


def test_pruning_keeps_the_newest_n_saved_across_a_resume(tmp_path):
    run_epochs(tmp_path, 5, n_saved=None)
    assert saved_epochs(tmp_path) == [1, 2, 3, 4, 5]
    listings = []
    run_epochs(tmp_path, 7, n_saved=2, resume_from=latest_checkpoint(tmp_path), listings=listings)
    # the resumed process prunes the files the first one wrote, not only its own
    assert listings == [[5, 6], [6, 7]]
    assert saved_epochs(tmp_path) == [6, 7]


def test_n_saved_one_keeps_only_the_last_and_bad_values_fail(tmp_path):
    run_epochs(tmp_path, 3, n_saved=1)
    assert saved_epochs(tmp_path) == [3]
    trainer = Engine(lambda e, b: None)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match=f"n_saved must be a positive int or None, got {bad}"):
            attach_checkpoint(trainer, {"trainer": trainer}, tmp_path, n_saved=bad)


def test_resume_skips_a_corrupt_newest_checkpoint_with_a_warning(tmp_path):
    run_epochs(tmp_path, 3, n_saved=3)
    folder = tmp_path / "checkpoints"
    assert find_resume_checkpoint(tmp_path) == folder / "checkpoint_3.pt"
    (folder / "checkpoint_3.pt").write_bytes(b"\x80\x02garbage")  # a file cut short
    torch.save({"model": {}}, folder / "checkpoint_4.pt")  # not a run's checkpoint: no trainer
    with pytest.warns(UserWarning) as caught:
        assert find_resume_checkpoint(tmp_path) == folder / "checkpoint_2.pt"
    message = str(caught[0].message)
    assert len(caught) == 1
    assert f"checkpoint {folder / 'checkpoint_4.pt'} is not an ignoise checkpoint" in message
    assert "it holds model" in message
    assert f"checkpoint {folder / 'checkpoint_3.pt'} is corrupt" in message
    assert message.endswith(f"Resuming from the older {folder / 'checkpoint_2.pt'} instead")
    assert latest_checkpoint(tmp_path) == folder / "checkpoint_4.pt"  # by name, unchanged


def test_resume_fails_naming_every_corrupt_checkpoint_or_the_empty_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(
            f"no checkpoint to resume from: {tmp_path / 'checkpoints'} does not exist")):
        find_resume_checkpoint(tmp_path)
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a checkpoint")
    with pytest.raises(FileNotFoundError, match=re.escape(
            f"{folder} holds no checkpoint_<epoch>.pt")):
        find_resume_checkpoint(tmp_path)
    (folder / "checkpoint_1.pt").write_bytes(b"")
    (folder / "checkpoint_2.pt").write_bytes(b"PK\x03\x04 truncated zip")
    with pytest.raises(ValueError) as caught:
        find_resume_checkpoint(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"no checkpoint in {folder} can be resumed from: ")
    assert f"checkpoint {folder / 'checkpoint_1.pt'} is corrupt" in message
    assert "the file is empty" in message
    assert f"checkpoint {folder / 'checkpoint_2.pt'} is corrupt" in message


class Stranger:
    """A class no checkpoint of ignoise holds."""


def test_unreadable_files_say_what_was_expected_without_unsafe_advice(tmp_path):
    noise = tmp_path / "checkpoint_1.pt"
    noise.write_bytes(np.random.default_rng(0).bytes(256))
    foreign = tmp_path / "checkpoint_2.pt"
    torch.save({"trainer": Stranger()}, foreign)
    listed = tmp_path / "checkpoint_3.pt"
    torch.save([1, 2], listed)
    expected = ("expected a dict saved by ignoise's Checkpoint, with 'trainer' and the other "
                "objects of the run")
    for path, what in [(noise, "but torch cannot read it ("),
                       (foreign, f"it holds a {__name__}.Stranger, which safe loading refuses"),
                       (listed, "but it holds a list")]:
        with pytest.raises(ValueError) as caught:
            load_checkpoint(path, {"model": torch.nn.Linear(1, 1)})
        message = str(caught.value)
        assert message.startswith(f"checkpoint {path} is ")
        assert expected in message and what in message
        assert "weights_only" not in message and "likely succeed" not in message
        assert "\n" not in message
        # nor through the exception chain, in the traceback a user sees
        assert "likely succeed" not in "".join(traceback.format_exception(caught.value))


class TwoLayers(torch.nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.features = torch.nn.Linear(4, 64)
        self.linear = torch.nn.Linear(64, classes)


def test_a_checkpoint_of_another_model_names_the_mismatching_entries(tmp_path):
    path = tmp_path / "checkpoint_1.pt"
    trainer = Engine(lambda e, b: None)
    torch.save({"trainer": trainer.state_dict(), "model_a": TwoLayers(10).state_dict(),
                "model_b": torch.nn.Linear(2, 2).state_dict()}, path)
    model_a, model_b = TwoLayers(100), torch.nn.Linear(2, 2)
    before = model_b.weight.detach().clone()
    with pytest.raises(ValueError) as caught:
        load_checkpoint(path, {"model_b": model_b, "model_a": model_a, "trainer": Engine(print)})
    assert str(caught.value) == (
        f"checkpoint {path} does not fit the objects to restore (saved for another model or "
        "dataset?): model_a: size mismatch for linear.weight: checkpoint (10, 64), model (100, 64);"
        " model_a: size mismatch for linear.bias: checkpoint (10,), model (100,)")
    assert torch.equal(model_b.weight, before)  # checked before anything is restored


def test_other_load_failures_are_one_line_naming_the_file_and_object(tmp_path):
    path = tmp_path / "checkpoint_1.pt"
    torch.save({"trainer": {}, "model": torch.nn.Sequential(torch.nn.Linear(2, 2)).state_dict()},
               path)
    with pytest.raises(ValueError) as caught:
        load_checkpoint(path, {"model": torch.nn.Linear(2, 2)})
    message = str(caught.value)
    assert message.startswith(f"checkpoint {path}: cannot restore model: ")
    assert 'Missing key(s) in state_dict: "weight", "bias".' in message and "\n" not in message
    with pytest.raises(ValueError, match=re.escape(f"checkpoint {path}: cannot restore trainer: ")):
        load_checkpoint(path, {"trainer": Engine(print)})
