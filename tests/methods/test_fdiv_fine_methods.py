"""fdiv and fine train on the digits end to end, and fdiv's two-stage learning-rate schedule.

Bands measured on a CPU (test_acc_last after 3 epochs, seed 0, a 1-epoch warm-up):
  OMP_NUM_THREADS=1 python -m ignoise train --method fdiv --dataset digits --noise sym \
      --noise-rate 0.5 --epochs 3 --warmup-epochs 1 --output-dir /tmp/e2e_fdiv --overwrite \
      --no-progress --cpu
0.6889; the same with --method fine: 0.7111.
"""

import json

import pytest

from ignoise.commands.train import main
from ignoise.config import ConfigError
from ignoise.methods import FDivConfig
from ignoise.methods.fdiv import phased_lr_factor

ARGS = ["--dataset", "digits", "--noise", "sym", "--noise-rate", "0.5", "--epochs", "3",
        "--warmup-epochs", "1", "--no-progress", "--cpu"]


def run(method, tmp_path):
    out = tmp_path / method
    main(["--method", method, *ARGS, "--output-dir", str(out)])
    return json.loads((out / "results.json").read_text())


def test_fdiv_trains_on_the_digits(tmp_path):
    results = run("fdiv", tmp_path)
    assert results["method"] == "fdiv" and results["divergence"] == "total_variation"
    losses = [row["train_loss"] for row in results["history"]]
    # cross-entropy in the warm-up; then minus the f-divergence estimate, below zero
    assert losses[0] > 0 and losses[1] < 0 and losses[2] < 0
    assert results["config"]["main_lrs"] == [0.005, 0.0005]  # fdiv.yaml's digits section
    assert abs(results["test_acc_last"] - 0.6889) <= 0.03


def test_fine_trains_on_the_digits(tmp_path):
    results = run("fine", tmp_path)
    assert results["method"] == "fine"
    first, *selected = results["history"]
    assert "fine_selected_fraction" not in first  # the warm-up trains on every sample
    for row in selected:
        # at 50% noise, a selection of about half the samples, mostly correctly labeled
        assert 0.3 < row["fine_selected_fraction"] < 0.8 and row["fine_precision"] > 0.7
    assert abs(results["test_acc_last"] - 0.7111) <= 0.03


def test_fdiv_lr_restarts_at_the_switch():
    """The authors' CIFAR stages: CE at 0.1 (x0.1 after 60, 120, 180) for 240 epochs, then f-div
    at 0.01 (x0.1 after 30, 60, 90 more)."""
    cfg = FDivConfig()
    lr = lambda epoch: cfg.lr * phased_lr_factor(cfg)(epoch)
    assert [lr(e) for e in (0, 59, 60, 119, 120, 179, 180, 239)] == pytest.approx(
        [0.1, 0.1, 0.01, 0.01, 1e-3, 1e-3, 1e-4, 1e-4])
    assert [lr(e) for e in (240, 269, 270, 300, 330, 339)] == pytest.approx(
        [0.01, 0.01, 1e-3, 1e-4, 1e-5, 1e-5])
    one = FDivConfig(epochs=30, warmup_epochs=10, lr=0.05, lr_milestones=[20], main_lrs=[])
    assert [one.lr * phased_lr_factor(one)(e) for e in (0, 19, 20, 29)] == pytest.approx(
        [0.05, 0.05, 0.005, 0.005])


def test_fdiv_config_checks_its_schedule():
    with pytest.raises(ConfigError, match="one more learning rate than milestones"):
        FDivConfig(main_lrs=[0.01], main_lr_milestones=[30])
    with pytest.raises(ConfigError, match="warmup_epochs = 340 must be below epochs = 340"):
        FDivConfig(warmup_epochs=340)
