"""Two processes through ``accelerate launch``: every rank ends with the same pools and
divisions."""

import os
import subprocess
from pathlib import Path

import pytest
import torch
from conftest import accelerate_launch

from ignoise.data import BalancedSubsets, build_noisy_data

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
    # Divided on per-epoch subsets of 300: the same subsets and mixtures on both ranks, each
    # network's labeled set inside its own subset.
    for key in ("clean_prob", "predictions", "within"):
        assert torch.equal(a["on_subsets"][key], b["on_subsets"][key]), key
    within = a["on_subsets"]["within"]
    assert within.sum(dim=1).tolist() == [300, 300] and not torch.equal(within[0], within[1])
    # Divided at epochs 2 and 3: a sample in neither epoch's subset of a network is still 1.
    given = torch.as_tensor(build_noisy_data("digits", noise="sym", noise_rate=0.4).train.targets)
    subsets = BalancedSubsets(given, 300, seed=0)
    for m in (0, 1):
        assert torch.equal(within[m], subsets.mask(3, m))
        never = ~(subsets.mask(2, m) | subsets.mask(3, m))
        assert (a["on_subsets"]["clean_prob"][m][never] == 1).all()
        assert (a["on_subsets"]["clean_prob"][m][within[m]] < 1).any()
    # The pools moved away from the given labels, and the collected pool updated exactly the
    # rows that one of the ranks saw: with epoch_length 4 of 12 iterations Ignite continues the
    # first epoch's permutation, so 2 epochs x 4 iterations x 64 samples x 2 ranks, all distinct.
    assert a["pool"]["progress"] == pytest.approx(2 / 3)
    assert (a["pool"]["probs"].max(dim=1).values < 1).all()
    updated = (a["ce_pool"]["probs"].max(dim=1).values < 1).sum()
    assert int(updated) == 1024
