"""Two processes through ``accelerate launch``: every rank ends with the same pools and division."""

import os
import subprocess
from pathlib import Path

import pytest
import torch
from conftest import accelerate_launch

pytestmark = [pytest.mark.integration, pytest.mark.distributed]

WORKER = Path(__file__).with_name("gss_pool_worker.py")


def test_two_ranks_hold_identical_pools_and_divisions(tmp_path):
    cmd = [*accelerate_launch(2), str(WORKER), str(tmp_path)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    assert ranks[0]["world_size"] == 2
    a, b = ranks
    for key in ("probs", "drawn"):
        assert torch.equal(a["pool"][key], b["pool"][key]), key
        assert torch.equal(a["ce_pool"][key], b["ce_pool"][key]), key
    for key in ("clean_prob", "predictions", "history"):
        assert torch.equal(a["division"][key], b["division"][key]), key
    # The pools moved away from the given labels, and the collected pool updated exactly the
    # rows that one of the ranks saw: with epoch_length 4 of 12 iterations Ignite continues the
    # first epoch's permutation, so 2 epochs x 4 iterations x 64 samples x 2 ranks, all distinct.
    assert a["pool"]["progress"] == pytest.approx(2 / 3)
    assert (a["pool"]["probs"].max(dim=1).values < 1).all()
    updated = (a["ce_pool"]["probs"].max(dim=1).values < 1).sum()
    assert int(updated) == 1024
