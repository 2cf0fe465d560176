"""CE on the embedded digits, end to end through the recipe."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import RECIPES, load_recipe

from ignoise.engine import RESULT_KEYS, latest_checkpoint

pytestmark = pytest.mark.integration


def test_ce_on_clean_digits_reaches_90_percent(recipe, tmp_path):
    out = tmp_path / "ce"
    results = recipe("ce", "--dataset", "digits", "--epochs", "5", "--output-dir", str(out))
    assert set(RESULT_KEYS) <= set(results)
    assert results["test_acc_last"] >= 0.90, results["history"]
    assert [row["epoch"] for row in results["history"]] == [1, 2, 3, 4, 5]
    assert all(row["test_num_samples"] == 360 for row in results["history"])
    assert results["noise_report"]["rate"] == 0.0
    assert list((out / "tb").glob("events.out.tfevents.*"))


def test_ce_noisy_run_reports_its_realized_noise(recipe, tmp_path):
    results = recipe("ce", "--dataset", "digits", "--noise", "sym", "--noise-rate", "0.4",
                     "--epochs", "2", "--output-dir", str(tmp_path / "n"))
    assert abs(results["noise_report"]["rate"] - 0.4) < 0.002
    assert (results["noise"], results["noise_rate"], results["epochs"]) == ("sym", 0.4, 2)


def test_killed_run_resumes_exactly(recipe, tmp_path):
    """Kill a run with SIGKILL once it has saved a checkpoint, resume it, and compare it with an
    uninterrupted run: same weights, same per-epoch metrics."""
    args = ["--dataset", "digits", "--noise", "sym", "--noise-rate", "0.4", "--epochs", "6"]
    full = recipe("ce", *args, "--output-dir", str(tmp_path / "full"))

    crash_dir = tmp_path / "crash"
    proc = subprocess.Popen(
        [sys.executable, str(RECIPES / "ce.py"), *args, "--output-dir", str(crash_dir),
         "--no-progress"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    deadline = time.time() + 300
    while latest_checkpoint(crash_dir) is None and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = latest_checkpoint(crash_dir)
    assert killed_at is not None
    assert not (crash_dir / "results.json").exists() or "checkpoint_6" in killed_at.name

    resumed = recipe("ce", *args, "--output-dir", str(crash_dir), "--resume")
    strip = lambda rows: [{k: v for k, v in r.items()} for r in rows]
    assert strip(resumed["history"]) == strip(full["history"])
    a = torch.load(latest_checkpoint(tmp_path / "full"), weights_only=True)["model"]
    b = torch.load(latest_checkpoint(crash_dir), weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


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
