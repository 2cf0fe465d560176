"""CE and GSS-CE under DDP (2 CPU processes through ``accelerate launch``) train exactly as one
process does on the ranks' batches put together: the same weights after every iteration of two
epochs, and the same direction pools."""

import importlib.util
import os
import subprocess
from pathlib import Path

import pytest
import torch
from conftest import accelerate_launch

from ignoise.engine import create_accelerator

pytestmark = pytest.mark.distributed

WORKER = Path(__file__).with_name("supervised_ddp_worker.py")


def load_worker():
    spec = importlib.util.spec_from_file_location("supervised_ddp_worker", WORKER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_two_processes_train_ce_and_gss_ce_like_one(tmp_path):
    cmd = [*accelerate_launch(2), str(WORKER), str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-4000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    assert ranks[0]["world_size"] == 2 and ranks[0]["iterations"] == 2 * 22

    worker = load_worker()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        one = worker.train(create_accelerator(cpu=True), batch_size=64)
    finally:
        torch.set_num_threads(threads)
    assert one["world_size"] == 1 and one["iterations"] == 2 * 22
    init = worker.flat(worker.net())
    for method in ("ce", "gss_ce"):
        assert torch.equal(ranks[0][method], ranks[1][method]), method  # DDP keeps ranks equal
        assert (one[method] - init).abs().max() > 0.1, method  # it trained
        # measured: at most 1.8e-7 apart (float sums in another order)
        torch.testing.assert_close(ranks[0][method], one[method], atol=2e-6, rtol=0,
                                   msg=lambda m, method=method: f"{method}: {m}")
    # GSS: the second epoch drew targets away from the given labels, from the same pools
    assert torch.equal(ranks[0]["pool"], ranks[1]["pool"])
    torch.testing.assert_close(ranks[0]["pool"], one["pool"], atol=2e-6, rtol=0)
    assert ranks[0]["switched_fraction"] == one["switched_fraction"] > 0.05
    # and those targets changed the training: GSS-CE ends elsewhere than CE
    assert (one["gss_ce"] - one["ce"]).abs().max() > 1e-2
