"""Per-sample evidence: the summaries against a plain reference, and the same evidence on every
rank of a 2-process run as in one process."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from accelerate import Accelerator

from ignoise.handlers import SampleEvidence

WORKER = Path(__file__).with_name("evidence_worker.py")


def test_summaries_match_a_plain_reference():
    g = torch.Generator().manual_seed(0)
    logits = [torch.randn(6, 3, generator=g) for _ in range(3)]
    given = torch.tensor([0, 1, 2, 2, 1, 0])
    epoch = {"i": 0}
    order = torch.tensor([3, 1, 5, 0, 2, 4])  # the loader's order is not the samples'
    batches = [{"x": order, "index": order}]  # x selects the sample's row of logits
    evidence = SampleEvidence(lambda x: logits[epoch["i"]][x].softmax(1), batches, given, 3,
                              Accelerator(cpu=True), signals={"given_again": lambda: given})
    for i in range(3):
        epoch["i"] = i
        evidence.record()
    out = evidence.arrays()
    losses, margins = [], []
    for z in logits:  # the reference, one sample at a time
        log_p = torch.log_softmax(z, dim=1)
        losses.append([-float(log_p[n, given[n]]) for n in range(6)])
        margins.append([float(log_p[n, given[n]]) - max(float(log_p[n, k]) for k in range(3)
                                                        if k != given[n]) for n in range(6)])
    assert out["loss_mean"] == pytest.approx(np.mean(losses, axis=0), abs=1e-5)
    assert out["loss_last"] == pytest.approx(losses[-1], abs=1e-5)
    assert out["margin_mean"] == pytest.approx(np.mean(margins, axis=0), abs=1e-5)
    assert out["margin_last"] == pytest.approx(margins[-1], abs=1e-5)
    assert np.allclose(out["probs"], logits[-1].softmax(1).numpy(), atol=1e-6)
    assert out["epochs"] == 3 and out["given_again"].tolist() == given.tolist()
    assert "clean_label" not in out


def test_state_round_trip_continues_exactly():
    batches = [{"x": torch.eye(4), "index": torch.arange(4)}]
    make = lambda: SampleEvidence(lambda x: (3 * x).softmax(1), batches, [0, 1, 1, 3], 4,
                                  Accelerator(cpu=True))
    a = make()
    a.record()
    b = make()
    b.load_state_dict(a.state_dict())
    a.record()
    b.record()
    for key, value in a.arrays().items():
        assert np.array_equal(value, b.arrays()[key]), key


@pytest.mark.distributed
def test_two_ranks_hold_the_same_evidence_as_one_process(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    for processes, folder in ((2, tmp_path / "two"), (1, tmp_path / "one")):
        folder.mkdir()
        cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu",
               "--num_processes", str(processes), "--num_machines", "1", "--mixed_precision",
               "no", "--dynamo_backend", "no", str(WORKER), str(folder)]
        if processes == 1:
            cmd = [sys.executable, str(WORKER), str(folder)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
        assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [torch.load(tmp_path / "two" / f"rank{r}.pt", weights_only=False) for r in (0, 1)]
    single = torch.load(tmp_path / "one" / "rank0.pt", weights_only=False)
    assert [r["world"] for r in ranks] == [2, 2] and single["world"] == 1
    for key, value in single["arrays"].items():
        assert np.array_equal(ranks[0]["arrays"][key], ranks[1]["arrays"][key]), key
        assert np.allclose(ranks[0]["arrays"][key], value, atol=1e-6), key
    assert ranks[0]["arrays"]["epochs"] == 2
