"""Shared test helpers: running recipes as a user would."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "recipes"


def run_recipe(name: str, *args: str, processes: int = 1, timeout: int = 600) -> dict:
    """Run ``recipes/<name>.py`` in a new process (through ``accelerate launch`` when
    ``processes > 1``) and return its ``results.json``."""
    script = str(RECIPES / f"{name}.py")
    if processes > 1:
        cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu",
               "--num_processes", str(processes), "--num_machines", "1",
               "--mixed_precision", "no", "--dynamo_backend", "no", script]
    else:
        cmd = [sys.executable, script]
    cmd += ["--no-progress", *args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
        )
    out = Path(args[list(args).index("--output-dir") + 1])
    return json.loads((out / "results.json").read_text())


@pytest.fixture()
def recipe():
    return run_recipe


def load_recipe(name: str):
    """Import ``recipes/<name>.py`` as a module (to call its ``main(argv)`` in-process)."""
    spec = importlib.util.spec_from_file_location(f"recipe_{name}", RECIPES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(RECIPES))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(RECIPES))
    return module


class StandInPairedSampler:
    """A tiny CDAS-like paired batch sampler: each flat list holds network A's ``B`` indices,
    then B's ``B`` indices drawn from the same classes (so both have one class histogram)."""

    def __init__(self, labels, batch_size: int, seed: int = 0) -> None:
        self.labels = np.asarray(labels)
        self.batch_size, self.seed, self.epoch = batch_size, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def state_dict(self) -> dict:
        return {"seed": self.seed, "epoch": self.epoch}

    def load_state_dict(self, state: dict) -> None:
        self.seed, self.epoch = state["seed"], state["epoch"]

    def __len__(self) -> int:
        return len(self.labels) // self.batch_size

    def __iter__(self):
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(len(self.labels))
        for i in range(len(self)):
            a = order[i * self.batch_size:(i + 1) * self.batch_size]
            b = [rng.choice(np.flatnonzero(self.labels == self.labels[j])) for j in a]
            yield [int(j) for j in a] + [int(j) for j in b]
