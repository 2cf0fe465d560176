"""A stuck rank stops a multi-process run after the collective timeout, not after torch's
default half hour."""

import os
import subprocess
import time
from pathlib import Path

import pytest
from conftest import accelerate_launch

pytestmark = pytest.mark.distributed

WORKER = Path(__file__).with_name("timeout_worker.py")


def test_a_stuck_rank_makes_the_others_fail_after_the_timeout():
    cmd = [*accelerate_launch(2), str(WORKER), "5"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    elapsed = time.perf_counter() - start
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    assert "rank 0 waited 5." in output and "Timed out" in output
    assert elapsed < 100  # the stuck rank sleeps 120 s: the launcher did not wait for it
