"""``division_subset`` (DivideMix's per-epoch class-balanced subsets) from the command line: its
config errors, and one short GSS-SSL run on the digits."""

import json

import pytest
import torch

from ignoise.commands.train import main
from ignoise.config import ConfigError

DIGITS = ["--dataset", "digits", "--cpu", "--no-progress"]
N_DIGITS = 1437


@pytest.mark.parametrize("method", ["dividemix", "gss_ssl"])
def test_a_loss_history_over_epochs_is_refused_before_anything_runs(tmp_path, method):
    out = tmp_path / "run"
    # 90% symmetric noise takes DivideMix's 5 epochs of losses by default (the digits table
    # has no lambda_u for it, hence --lambda-u).
    args = ["--method", method, *DIGITS, "--noise", "sym", "--noise-rate", "0.9",
            "--lambda-u", "25", "--division-subset", "500", "--output-dir", str(out)]
    with pytest.raises(ConfigError, match=r"loss_history = 5 averages .* division_subset = "
                                          r"500 .* set loss_history: 1"):
        main(args)
    with pytest.raises(ConfigError, match=r"loss_history = 2"):
        main(["--method", method, *DIGITS, "--noise", "sym", "--noise-rate", "0.5",
              "--loss-history", "2", "--division-subset", "500", "--output-dir", str(out)])
    assert not out.exists()


def test_a_subset_larger_than_the_training_set_is_refused_before_training(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(ConfigError, match=r"division_subset = 5000: a subset of 5000 samples "
                                          rf"is larger than the {N_DIGITS} training samples"):
        main(["--method", "dividemix", *DIGITS, "--noise", "sym", "--noise-rate", "0.5",
              "--division-subset", "5000", "--output-dir", str(out)])
    assert not out.exists()


def test_gss_ssl_on_subsets_labels_inside_them(tmp_path):
    """Measured with (test accuracy at the last epoch 0.9556):

    OMP_NUM_THREADS=1 python -m ignoise train --method gss_ssl --dataset digits --noise sym \
        --noise-rate 0.5 --division-subset 600 --epochs 4 --warmup-epochs 2 --cpu \
        --no-progress --output-dir /tmp/e2e
    """
    out = tmp_path / "run"
    results = main(["--method", "gss_ssl", *DIGITS, "--noise", "sym", "--noise-rate", "0.5",
                    "--division-subset", "600", "--epochs", "4", "--warmup-epochs", "2",
                    "--output-dir", str(out)])
    saved = json.loads((out / "results.json").read_text())
    assert saved["test_acc_last"] == pytest.approx(results["test_acc_last"])
    history = saved["history"]
    assert "labeled_fraction_0" not in history[1]  # no division during the warm-up
    last = history[-1]
    for m in (0, 1):
        # labeled only inside the network's 600-sample subset, well under all of it
        assert 0.05 < last[f"labeled_fraction_{m}"] < 600 / N_DIGITS
        assert last[f"labeled_precision_{m}"] > 0.95
    assert saved["test_acc_last"] == pytest.approx(0.9556, abs=0.03)
    state = torch.load(out / "checkpoints" / "checkpoint_4.pt", map_location="cpu",
                       weights_only=False)
    # ceil(600 / 32) iterations per network, the networks one after the other (alternate: epoch)
    assert state["trainer"]["epoch_length"] == 2 * 19
    within = state["division"]["within"]
    assert within.shape == (2, N_DIGITS) and within.sum(dim=1).tolist() == [600, 600]
    assert not torch.equal(within[0], within[1])
