"""coteaching trains on the digits end to end with its digits config.

Band measured on a CPU (test_acc_last after 3 epochs, seed 0; network A):
  OMP_NUM_THREADS=1 python -m ignoise train --method coteaching --dataset digits --noise sym \
      --noise-rate 0.4 --epochs 3 --output-dir /tmp/ct --overwrite --no-progress --cpu
0.8667 (network B: 0.9056).
"""

import json

import pytest

from ignoise.commands.train import main


def test_trains_on_the_digits(tmp_path):
    out = tmp_path / "coteaching"
    main(["--method", "coteaching", "--dataset", "digits", "--noise", "sym", "--noise-rate",
          "0.4", "--epochs", "3", "--no-progress", "--cpu", "--output-dir", str(out)])
    results = json.loads((out / "results.json").read_text())
    assert results["method"] == "coteaching" and len(results["history"]) == 3
    assert results["forget_rate"] == 0.4
    assert results["forget_rate_by_epoch"][:3] == pytest.approx([0.0, 0.04, 0.08])
    assert all("test_b_accuracy" in row for row in results["history"])
    assert abs(results["test_acc_last"] - 0.8667) <= 0.03
