"""mentornet and colearning train on the digits end to end with their digits configs (mentornet:
Adam, lr 0.001, its decay from epoch 12).

Bands measured on a CPU (test_acc_last after 3 epochs, seed 0):
  OMP_NUM_THREADS=1 python -m ignoise train --method mentornet --dataset digits --noise sym \
      --noise-rate 0.5 --epochs 3 --output-dir /tmp/mn --overwrite --no-progress --cpu
0.9000 (epochs 1-2: 0.8861, 0.8972);
  OMP_NUM_THREADS=1 python -m ignoise train --method colearning --dataset digits --noise sym \
      --noise-rate 0.5 --epochs 3 --output-dir /tmp/cl --overwrite --no-progress --cpu
0.8278.
"""

import json

import pytest

from ignoise.commands.train import main


def _train(tmp_path, method: str) -> dict:
    out = tmp_path / method
    main(["--method", method, "--dataset", "digits", "--noise", "sym", "--noise-rate", "0.5",
          "--epochs", "3", "--no-progress", "--cpu", "--output-dir", str(out)])
    results = json.loads((out / "results.json").read_text())
    assert results["method"] == method and len(results["history"]) == 3
    return results


def test_mentornet_trains_on_the_digits(tmp_path):
    results = _train(tmp_path, "mentornet")
    assert results["curriculum"] == "small_loss" and results["forget_rate"] == 0.5
    assert results["forget_rate_by_epoch"][:3] == pytest.approx([0.0, 0.05, 0.1])
    kept = [row["train_kept_fraction"] for row in results["history"]]
    assert kept[0] == 1.0 and kept[2] == pytest.approx(0.9, abs=0.01)  # ceil(0.9 B) of B=64
    assert abs(results["test_acc_last"] - 0.9000) <= 0.03


def test_colearning_trains_on_the_digits(tmp_path):
    results = _train(tmp_path, "colearning")
    row = results["history"][-1]
    assert row["train_loss"] == pytest.approx(row["train_supervised_loss"]
                                              + row["train_contrastive_loss"]
                                              + row["train_structural_loss"], rel=1e-6)
    assert abs(results["test_acc_last"] - 0.8278) <= 0.03
