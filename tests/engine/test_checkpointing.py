import random

import numpy as np
import pytest
import torch
from ignite.engine import Engine

from ignoise.engine import RNGState, attach_checkpoint, latest_checkpoint, load_checkpoint


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
