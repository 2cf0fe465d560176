"""--val-fraction: the flag, the ``val`` evaluator, and the epoch results.json selects by
the noisy validation accuracy."""

import json

import numpy as np
import pytest
import torch
from ignite.engine import Engine

from ignoise.commands.train import main
from ignoise.config import ConfigError, TrainingConfig, auto_output_dir
from ignoise.engine import Run
from ignoise.label_quality.run_data import run_training_set
from ignoise.methods import CEConfig

DIGITS = ["--dataset", "digits", "--noise", "sym", "--noise-rate", "0.4", "--batch-size", "128",
          "--no-progress", "--cpu"]


def selected_by_val(history: list[dict], key: str = "test_accuracy") -> tuple:
    """``(val_accuracy, test, epoch)`` of the first epoch with the highest val_accuracy."""
    best = max(row["val_accuracy"] for row in history)
    row = next(row for row in history if row["val_accuracy"] == best)
    return best, row[key], row["epoch"]


def test_the_flag_is_a_shared_float_in_0_1():
    assert TrainingConfig().val_fraction == 0.0
    assert CEConfig(val_fraction=0.2).val_fraction == 0.2
    for bad in (1.0, -0.1):
        with pytest.raises(ConfigError, match=rf"val_fraction.*{bad}"):
            TrainingConfig(val_fraction=bad)
    assert auto_output_dir("ce", TrainingConfig(val_fraction=0.2)).endswith("seed0-val0.2")


def test_ce_records_the_test_accuracy_at_the_best_val_epoch(tmp_path):
    out = tmp_path / "ce"
    main(["--method", "ce", *DIGITS, "--epochs", "2", "--val-fraction", "0.2",
          "--output-dir", str(out)])
    results = json.loads((out / "results.json").read_text())
    history = results["history"]
    assert [row["val_num_samples"] for row in history] == [287.0, 287.0]  # 1,437 x 0.2
    assert (results["val_acc_best"], results["test_acc_at_best_val"],
            results["best_val_epoch"]) == selected_by_val(history)
    assert results["config"]["val_fraction"] == 0.2
    assert results["noise_report"]["n"] == 1437 - 287  # the samples trained on
    # label-issues rebuilds the training set the evidence indexes: the kept samples
    given = np.load(out / "evidence.npz")["given_label"]
    assert len(run_training_set(out, given)) == len(given) == 1150


def test_gal_selects_by_val_on_the_reported_network(tmp_path):
    out = tmp_path / "gal"
    main(["--method", "gal", *DIGITS, "--epochs", "2", "--warmup-epochs", "1",
          "--val-fraction", "0.25", "--output-dir", str(out)])
    results = json.loads((out / "results.json").read_text())
    history = results["history"]
    assert all(row["val_num_samples"] == 359.0 and "joint_accuracy" in row for row in history)
    assert (results["val_acc_best"], results["test_acc_at_best_val"],
            results["best_val_epoch"]) == selected_by_val(history)


def test_without_hold_out_the_val_keys_are_null():
    trainer = Engine(lambda engine, batch: {"loss": torch.tensor(0.5)})
    run = Run(cpu=True, progress=False)
    run.attach(trainer, evaluators={}, to_save={})
    results = run.execute(trainer, [0, 1], max_epochs=2)
    assert (results["val_acc_best"], results["test_acc_at_best_val"],
            results["best_val_epoch"]) == (None, None, None)


def test_an_impossible_split_fails_before_the_run_starts(tmp_path):
    out = tmp_path / "tiny"
    with pytest.raises(ConfigError, match=r"val_fraction = 0.0003: hold-out fraction 0.0003 of "
                                          r"1437 samples holds out no sample"):
        main(["--method", "ce", *DIGITS, "--epochs", "1", "--val-fraction", "0.0003",
              "--output-dir", str(out)])
    assert not (out / "run.json").exists() and not (out / "results.json").exists()
