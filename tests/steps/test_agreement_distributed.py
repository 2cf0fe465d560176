"""GAL under DDP (2 CPU processes through ``accelerate launch``): every rank applies the same
masks, those of the averaged gradients, and holds the same pseudo-label table."""

import json
import os
import subprocess
from pathlib import Path

import pytest
import torch
from conftest import accelerate_launch

pytestmark = pytest.mark.distributed

WORKER = Path(__file__).with_name("gal_agreement_ddp_worker.py")


def test_two_ranks_apply_the_masks_of_the_all_reduced_gradients(tmp_path):
    out = tmp_path / "ddp.json"
    cmd = [*accelerate_launch(2), str(WORKER), str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-4000:]
    got = json.loads(out.read_text())
    assert got["world_size"] == 2
    for step_masks, ref in zip(got["masks"], got["ref_masks"]):
        rank0, rank1 = step_masks
        assert rank0 == rank1  # the same mask on both ranks
        assert rank0 == ref  # ... the one computed from the averaged gradient
    assert any(0 < sum(m[0]) < len(m[0]) for m in got["masks"]), "some units masked, some not"
    w0, w1 = (torch.tensor(w) for w in got["weights"])
    assert torch.equal(w0, w1)
    torch.testing.assert_close(w0, torch.tensor(got["ref_weights"]), atol=1e-5, rtol=1e-5)
    # the pseudo-label table is assembled from both ranks' shares and the same on each
    t0, t1 = (torch.tensor(t) for t in got["tables"])
    assert torch.equal(t0, t1)
    torch.testing.assert_close(t0, torch.tensor(got["ref_table"]), atol=1e-5, rtol=1e-5)
