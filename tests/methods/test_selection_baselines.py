"""coteaching_plus, jocor and decoupling train on the digits end to end with their digits
configs (coteaching_plus and jocor: Adam, lr 0.001, its decay from epoch 12; decoupling: SGD),
network A reported and B beside it.

Bands measured on a CPU (test_acc_last after 3 epochs, seed 0; network A):
  OMP_NUM_THREADS=1 python -m ignoise train --method M --dataset digits --noise sym \
      --noise-rate 0.5 --epochs 3 --output-dir /tmp/r_M --overwrite --no-progress --cpu [FLAGS]
coteaching_plus --init-epoch 1 (Co-teaching for one epoch, then the disagreement update)
0.8556 (B 0.8556); jocor 0.5139 (B 0.5222); decoupling (its digits config: one epoch on every
sample, then the disagreement update) 0.6333 (B 0.4917).
"""

import json

import pytest

from ignoise.commands.train import main

DIGITS = ["--dataset", "digits", "--noise", "sym", "--noise-rate", "0.5", "--epochs", "3",
          "--no-progress", "--cpu"]


@pytest.mark.parametrize("method, flags, measured, figures", [
    ("coteaching_plus", ["--init-epoch", "1"], 0.8556,
     {"forget_rate": 0.5, "init_epoch": 1, "min_batch_fraction": 1.0,
      "forget_rate_by_epoch": [0.0, 0.05, 0.1]}),
    ("jocor", [], 0.5139,
     {"forget_rate": 0.5, "co_lambda": 0.9, "forget_rate_by_epoch": [0.0, 0.05, 0.1]}),
    ("decoupling", [], 0.6333, {"init_epochs": 1, "min_batch_fraction": 0.1}),
])
def test_trains_on_the_digits(tmp_path, method, flags, measured, figures):
    out = tmp_path / method
    main(["--method", method, *DIGITS, *flags, "--output-dir", str(out)])
    results = json.loads((out / "results.json").read_text())
    assert results["method"] == method and len(results["history"]) == 3
    assert results["reported_network"] == "a"
    for key, value in figures.items():
        assert results[key] == pytest.approx(value), key
    assert all("test_b_accuracy" in row for row in results["history"])
    if method != "jocor":  # the disagreement set: every sample's at most, never empty here
        assert all(0.0 < row["train_disagreement"] < 1.0 for row in results["history"])
    assert abs(results["test_acc_last"] - measured) <= 0.03
