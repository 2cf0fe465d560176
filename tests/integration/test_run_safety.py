"""What a run guarantees, tried through the command line as a user would: one folder per run,
resume only of the same run, a diverged run that says so, bad settings refused up front."""

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ignoise.engine import latest_checkpoint

pytestmark = pytest.mark.integration

RECIPES = Path(__file__).resolve().parents[2] / "recipes"
KILL_AT = Path(__file__).with_name("kill_at_iteration.py")
DIGITS = ["--dataset", "digits", "--no-progress", "--noise", "sym", "--noise-rate", "0.4"]


def ce(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(RECIPES / "ce.py"), *args], capture_output=True,
                          text=True, cwd=cwd, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def snapshot(folder: Path) -> dict:
    """Every file of ``folder`` with its content's hash."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A 2-epoch CE run on the digits (40% symmetric noise)."""
    out = tmp_path_factory.mktemp("runs") / "ce"
    proc = ce(*DIGITS, "--epochs", "2", "--output-dir", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_a_run_records_its_identity_and_status(finished):
    identity = json.loads((finished / "run.json").read_text())
    assert identity["method"] == "ce" and identity["config"]["noise_rate"] == 0.4
    assert identity["ignoise_version"] and "git_commit" in identity
    results = json.loads((finished / "results.json").read_text())
    assert results["status"] == "completed"
    saved = torch.load(latest_checkpoint(finished), weights_only=True)["run_identity"]
    assert saved["config"] == identity["config"]


def test_noise_rate_without_a_noise_kind_is_refused(tmp_path):
    proc = ce("--dataset", "digits", "--noise-rate", "0.4", cwd=tmp_path)
    assert proc.returncode == 2
    assert "noise_rate = 0.4 with noise = 'none'" in proc.stderr and "--noise" in proc.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("change, shown", [
    (["--noise-rate", "0.2"], "noise_rate: 0.4 -> 0.2"),
    (["--seed", "3"], "seed: 0 -> 3"),
    (["--lr", "0.1"], "lr: 0.05 -> 0.1"),
    (["--batch-size", "32"], "batch_size: 64 -> 32"),
    (["--noise", "pairflip"], 'noise: "sym" -> "pairflip"'),
])
def test_resume_with_other_settings_fails_and_leaves_the_folder(finished, change, shown):
    before = snapshot(finished)
    # a flag given twice: the last one counts (the change)
    proc = ce(*DIGITS, "--epochs", "3", "--output-dir", str(finished), "--resume", *change)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "holds another run" in proc.stderr and shown in proc.stderr
    assert snapshot(finished) == before


def test_resume_with_fewer_epochs_fails(finished):
    before = snapshot(finished)
    proc = ce(*DIGITS, "--epochs", "1", "--output-dir", str(finished), "--resume")
    assert proc.returncode == 2
    assert "epochs = 1, but the run in" in proc.stderr and "has done 2 epochs" in proc.stderr
    assert snapshot(finished) == before


def test_a_used_folder_needs_resume_or_overwrite(finished, tmp_path):
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-r", str(finished), str(copy)], check=True)
    before = snapshot(copy)
    proc = ce(*DIGITS, "--epochs", "1", "--output-dir", str(copy))
    assert proc.returncode == 2 and "already holds a run" in proc.stderr
    assert snapshot(copy) == before
    proc = ce(*DIGITS, "--epochs", "1", "--seed", "5", "--output-dir", str(copy), "--overwrite")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(p.name for p in (copy / "checkpoints").iterdir()) == ["checkpoint_1.pt"]
    assert json.loads((copy / "run.json").read_text())["config"]["seed"] == 5
    assert len(list((copy / "tb").iterdir())) == 1  # the old run's events went with it


def test_more_epochs_extend_a_finished_run(finished, tmp_path):
    copy = tmp_path / "copy"
    subprocess.run(["cp", "-r", str(finished), str(copy)], check=True)
    proc = ce(*DIGITS, "--epochs", "3", "--output-dir", str(copy), "--resume")
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads((copy / "results.json").read_text())
    assert results["epochs"] == 3 and [r["epoch"] for r in results["history"]] == [1, 2, 3]
    assert json.loads((copy / "run.json").read_text())["config"]["epochs"] == 3


def test_a_checkpoint_of_another_run_is_refused_before_anything_is_built(finished, tmp_path):
    """A checkpoint carries its run's identity: copied into a folder without run.json, it is
    still checked, and the failed resume leaves the folder as it was (no TensorBoard file)."""
    moved = tmp_path / "moved"
    (moved / "checkpoints").mkdir(parents=True)
    subprocess.run(["cp", str(latest_checkpoint(finished)), str(moved / "checkpoints")],
                   check=True)
    before = snapshot(moved)
    proc = ce(*DIGITS, "--epochs", "3", "--lr", "0.2", "--output-dir", str(moved), "--resume")
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "was saved by another run" in proc.stderr and "lr: 0.05 -> 0.2" in proc.stderr
    assert snapshot(moved) == before


def test_a_diverged_run_exits_non_zero_and_says_so(tmp_path):
    out = tmp_path / "diverged"
    proc = ce(*DIGITS, "--epochs", "2", "--lr", "1e6", "--output-dir", str(out))
    assert proc.returncode == 1
    assert "the training loss is not finite since epoch 1" in proc.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["status"] == "diverged" and results["history"] == []
    assert results["divergence"]["epoch"] == 1 and results["divergence"]["iteration"] >= 1
    assert results["test_acc_last"] is None
    assert not list((out / "checkpoints").glob("*.pt"))  # nothing diverged was saved


def test_a_two_network_run_killed_after_the_switch_resumes_exactly(tmp_path):
    """GAL (A, B, C, pseudo-labels) killed with SIGKILL at the 7th iteration of epoch 4, after the
    warm-up-to-pair switch of epoch 3, and resumed: it continues from the end of epoch 3 and ends
    with the same weights, history and evidence as an uninterrupted run."""
    args = [*DIGITS, "--epochs", "4", "--warmup-epochs", "2"]
    gal = [sys.executable, str(RECIPES / "gal_cifar.py"), *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    full = subprocess.run([*gal, "--output-dir", str(tmp_path / "full")], capture_output=True,
                          text=True, env=env, timeout=600)
    assert full.returncode == 0, full.stderr[-2000:]
    crash = tmp_path / "crash"
    killed = subprocess.run([sys.executable, str(KILL_AT), "4", "7", *gal[1:], "--output-dir",
                             str(crash)], capture_output=True, text=True, env=env, timeout=600)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    names = sorted(p.name for p in (crash / "checkpoints").iterdir())
    assert names == ["checkpoint_2.pt", "checkpoint_3.pt"] and not (crash / "results.json").exists()
    before = torch.load(crash / "checkpoints" / "checkpoint_3.pt", weights_only=True)
    assert len(before["history"]["rows"]) == 3
    resumed = subprocess.run([*gal, "--output-dir", str(crash), "--resume"], capture_output=True,
                             text=True, env=env, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resumed from {crash / 'checkpoints' / 'checkpoint_3.pt'} at epoch 3" in resumed.stdout
    a, b = (json.loads((d / "results.json").read_text()) for d in (tmp_path / "full", crash))
    assert b["history"][:3] == before["history"]["rows"]  # recorded before the kill
    drop_time = lambda rows: [{k: v for k, v in r.items() if "time" not in k} for r in rows]
    assert drop_time(a["history"]) == drop_time(b["history"])
    assert a["agreement_ratio_curve"] == b["agreement_ratio_curve"]
    saved = [torch.load(latest_checkpoint(d), weights_only=True)
             for d in (tmp_path / "full", crash)]
    assert saved[0]["trainer"]["iteration"] == saved[1]["trainer"]["iteration"]
    for net in ("model_a", "model_b", "model_c", "optimizer_c"):
        assert saved[0][net].keys() == saved[1][net].keys()
    for net in ("model_a", "model_b", "model_c"):
        assert all(torch.equal(saved[0][net][k], saved[1][net][k]) for k in saved[0][net])
    assert torch.equal(saved[0]["pseudo_labels"]["joint"], saved[1]["pseudo_labels"]["joint"])
    # the per-sample evidence (label-issues) continues exactly too
    evidence = [np.load(d / "evidence.npz") for d in (tmp_path / "full", crash)]
    assert evidence[0].files == evidence[1].files and int(evidence[1]["epochs"]) == 4
    for key in evidence[0].files:
        assert np.array_equal(evidence[0][key], evidence[1][key]), key
