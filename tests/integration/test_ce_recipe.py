"""CE on the embedded digits, end to end through the recipe."""

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import RECIPES, load_recipe, run_recipe

from ignoise.engine import RESULT_KEYS, latest_checkpoint

pytestmark = pytest.mark.integration


def test_ce_on_clean_digits_reaches_97_percent(recipe, tmp_path):
    out = tmp_path / "ce"
    results = recipe("ce", "--dataset", "digits", "--epochs", "5", "--output-dir", str(out))
    assert set(RESULT_KEYS) <= set(results)
    # measured 0.925, 0.964, 0.922, 0.975, 0.972 (twice, identical) with
    #   OMP_NUM_THREADS=1 python recipes/ce.py --dataset digits --epochs 5 --no-progress \
    #   --output-dir /tmp/ce5
    assert results["test_acc_last"] == pytest.approx(0.9722, abs=0.03), results["history"]
    assert [row["epoch"] for row in results["history"]] == [1, 2, 3, 4, 5]
    assert all(row["test_num_samples"] == 360 for row in results["history"])
    assert results["noise_report"]["rate"] == 0.0
    assert list((out / "tb").glob("events.out.tfevents.*"))


NOISY = ["--dataset", "digits", "--noise", "sym", "--noise-rate", "0.4", "--epochs", "4",
         "--no-progress"]
KILL_AT = Path(__file__).with_name("kill_at_iteration.py")
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


@pytest.fixture(scope="module")
def noisy_run(tmp_path_factory) -> tuple[Path, dict]:
    """An uninterrupted 4-epoch CE run at 40% symmetric noise: its folder and results."""
    out = tmp_path_factory.mktemp("ce") / "full"
    return out, run_recipe("ce", *NOISY, "--output-dir", str(out))


def test_ce_noisy_run_reports_its_realized_noise(noisy_run):
    _, results = noisy_run
    assert abs(results["noise_report"]["rate"] - 0.4) < 0.002
    assert (results["noise"], results["noise_rate"], results["epochs"]) == ("sym", 0.4, 4)
    # measured 0.817, 0.717, 0.869, 0.831 (twice, identical) with
    #   OMP_NUM_THREADS=1 python recipes/ce.py --dataset digits --noise sym --noise-rate 0.4 \
    #   --epochs 4 --no-progress --output-dir /tmp/ce4
    assert results["test_acc_last"] == pytest.approx(0.8306, abs=0.03), results["history"]


def test_run_killed_mid_epoch_resumes_from_its_last_checkpoint_exactly(noisy_run, tmp_path):
    """SIGKILL at the 7th iteration of epoch 3 (from a handler in the run's own process), resume:
    the run continues from the end of epoch 2 and ends as the uninterrupted run did."""
    full_dir, full = noisy_run
    crash = tmp_path / "crash"
    killed = subprocess.run([sys.executable, str(KILL_AT), "3", "7", str(RECIPES / "ce.py"),
                             *NOISY, "--output-dir", str(crash)],
                            capture_output=True, text=True, env=ENV, timeout=600)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    # epochs 1 and 2 were saved, nothing of epoch 3, and the run did not finish
    saved_names = sorted(p.name for p in (crash / "checkpoints").iterdir())
    assert saved_names == ["checkpoint_1.pt", "checkpoint_2.pt"]
    assert not (crash / "results.json").exists()
    before = torch.load(crash / "checkpoints" / "checkpoint_2.pt", weights_only=True)
    assert before["trainer"]["iteration"] == 2 * 23 and len(before["history"]["rows"]) == 2

    resumed = subprocess.run([sys.executable, str(RECIPES / "ce.py"), *NOISY, "--output-dir",
                              str(crash), "--resume"],
                             capture_output=True, text=True, env=ENV, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert (f"resumed from {crash / 'checkpoints' / 'checkpoint_2.pt'} at epoch 2"
            in resumed.stdout), resumed.stdout[-2000:]
    results = json.loads((crash / "results.json").read_text())
    # epochs 1-2 are the rows recorded before the kill; all four equal the uninterrupted run's
    assert results["history"][:2] == before["history"]["rows"]
    assert results["history"] == full["history"]
    a = torch.load(latest_checkpoint(full_dir), weights_only=True)
    b = torch.load(latest_checkpoint(crash), weights_only=True)
    assert a["trainer"]["iteration"] == b["trainer"]["iteration"] == 4 * 23
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
    assert all(torch.equal(a["optimizer"]["state"][i]["momentum_buffer"],
                           b["optimizer"]["state"][i]["momentum_buffer"])
               for i in a["optimizer"]["state"])


def test_bad_input_fails_before_training(tmp_path):
    main = load_recipe("ce").main
    base = ["--dataset", "digits", "--no-progress", "--output-dir", str(tmp_path / "x")]
    cases = {
        ("--noise", "sym", "--noise-rate", "1.2"):
            (ValueError, r"flag --noise-rate: noise_rate = 1.2 is outside \[0, 1\)"),
        ("--batch-size", "0"): (ValueError, r"batch_size = 0 is outside \[1, inf\)"),
        ("--resume",): (FileNotFoundError, "no checkpoint_<epoch>.pt"),
        ("--dataset", "cifar10", "--data-root", str(tmp_path / "none")):
            (FileNotFoundError, str(tmp_path / "none")),
    }
    for extra, (error, message) in cases.items():
        with pytest.raises(error, match=re.escape(message) if "<" in message else message):
            main(base + list(extra))
        assert not (tmp_path / "x" / "checkpoints").exists()
    with pytest.raises(SystemExit):  # argparse names the choices
        main(base + ["--noise", "bogus"])


def test_train_command_runs_a_method_by_name(tmp_path):
    """``python -m ignoise train --method ce`` is the recipe's run: the same results."""
    out = tmp_path / "cmd"
    proc = subprocess.run(
        [sys.executable, "-m", "ignoise", "train", "--method", "ce", "--dataset", "digits",
         "--epochs", "2", "--no-progress", "--output-dir", str(out)],
        capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert results["method"] == "ce" and results["config"]["model"] == "digits_cnn"
    assert results["config"]["batch_size"] == results["config"]["batch_size_per_process"] == 64
    recipe_run = load_recipe("ce").main(["--dataset", "digits", "--epochs", "2", "--no-progress",
                                         "--output-dir", str(tmp_path / "recipe")])
    drop_time = lambda rows: [{k: v for k, v in r.items() if "time" not in k} for r in rows]
    assert drop_time(results["history"]) == drop_time(recipe_run["history"])
