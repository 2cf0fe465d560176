"""A 2-process CPU run through ``accelerate launch``."""

import pytest
import torch

from ignoise.data import build_noisy_data, make_eval_loader
from ignoise.engine import create_accelerator, create_evaluator, latest_checkpoint
from ignoise.models import build_model

pytestmark = [pytest.mark.integration, pytest.mark.distributed]


def test_two_processes_count_each_test_sample_once_and_agree_with_one(recipe, tmp_path):
    out = tmp_path / "ddp"
    results = recipe("ce", "--dataset", "digits", "--epochs", "2", "--output-dir", str(out),
                     processes=2)
    assert results["num_processes"] == 2
    assert [row["test_num_samples"] for row in results["history"]] == [360, 360]

    # The same final weights evaluated by one process give the same accuracy.
    data = build_noisy_data("digits")
    model = build_model("digits_cnn", 10, in_channels=1)
    model.load_state_dict(torch.load(latest_checkpoint(out), weights_only=True)["model"])
    evaluator = create_evaluator(model, create_accelerator(cpu=True))
    state = evaluator.run(make_eval_loader(data.test, 128))
    assert state.metrics["num_samples"] == 360
    assert state.metrics["accuracy"] == pytest.approx(results["test_acc_last"], abs=1e-12)
