"""elr and elr_plus train on the digits end to end with their digits configs.

Bands measured on a CPU (test_acc_last after 3 epochs, seed 0):
  OMP_NUM_THREADS=1 python -m ignoise train --method M --dataset digits --noise sym \
      --noise-rate 0.5 --epochs 3 --cpu --no-progress --output-dir /tmp/elr/M --overwrite
elr 0.8444, elr_plus 0.9083 (the mean logits of its two networks).
"""

import json

import pytest

from ignoise.commands.train import main

DIGITS = ["--dataset", "digits", "--noise", "sym", "--noise-rate", "0.5", "--epochs", "3",
          "--no-progress", "--cpu"]


@pytest.mark.parametrize("method, measured, scalars", [
    ("elr", 0.8444, ("train_loss", "train_regularizer")),
    ("elr_plus", 0.9083, ("train_loss", "train_loss_a", "train_loss_b")),
])
def test_trains_on_the_digits(tmp_path, method, measured, scalars):
    out = tmp_path / method
    main(["--method", method, *DIGITS, "--output-dir", str(out)])
    results = json.loads((out / "results.json").read_text())
    assert results["method"] == method and len(results["history"]) == 3
    assert all(key in row for row in results["history"] for key in scalars)
    assert abs(results["test_acc_last"] - measured) <= 0.03
