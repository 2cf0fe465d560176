"""Shared test helpers: running recipes as a user would, and the ffcv extra's tests, which run
unless ``IGNOISE_WITH_FFCV=0`` leaves them out (then the summary says so)."""

import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "recipes"

#: ``IGNOISE_WITH_FFCV=0`` (the variable nox reads to leave out the ffcv extra) is the only way to
#: leave out the ``ffcv``-marked tests; otherwise they run, and fail if ffcv does not import.
WITHOUT_FFCV = os.environ.get("IGNOISE_WITH_FFCV", "1") == "0"
_left_out: list[str] = []


def pytest_collection_modifyitems(config, items):
    if not WITHOUT_FFCV:
        return
    kept = [item for item in items if item.get_closest_marker("ffcv") is None]
    left = [item for item in items if item.get_closest_marker("ffcv") is not None]
    if left:
        _left_out.extend(item.nodeid for item in left)
        config.hook.pytest_deselected(items=left)
        items[:] = kept


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _left_out:
        terminalreporter.write_sep("=", "ffcv tests left out", yellow=True)
        terminalreporter.write_line(
            f"IGNOISE_WITH_FFCV=0: {len(_left_out)} tests marked ffcv were not run "
            "(the FFCV loaders are untested in this run)")


def require_ffcv_extra():
    """Import ffcv with its compiled decoder (OpenCV's ``cv2``, libturbojpeg through
    ``ffcv._libffcv``) and return it; any import failure fails the calling test with the error,
    never skips it. Tests that call this are marked ``ffcv``."""
    try:
        import cv2  # noqa: F401  # ffcv's JPEG decoding needs it
        import ffcv
        import ffcv.fields  # noqa: F401
        import ffcv.libffcv  # noqa: F401  # the compiled extension, linked to libturbojpeg
    except ImportError as err:
        pytest.fail(
            f"the ffcv extra does not import: {type(err).__name__}: {err}\n"
            "install it (pip install -e '.[ffcv]', with the system packages pkg-config "
            "libopencv-dev libturbojpeg0-dev) or set IGNOISE_WITH_FFCV=0 to leave the ffcv "
            "tests out", pytrace=False)
    return ffcv


def accelerate_launch(processes: int = 2) -> list[str]:
    """``accelerate launch`` of ``processes`` CPU processes on this machine, on a free port (the
    default 29500 would collide with any other launch running at the same time)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes",
            str(processes), "--num_machines", "1", "--main_process_port", str(port),
            "--mixed_precision", "no", "--dynamo_backend", "no"]


def run_recipe(name: str, *args: str, processes: int = 1, timeout: int = 600) -> dict:
    """Run ``recipes/<name>.py`` in a new process (through ``accelerate launch`` when
    ``processes > 1``) and return its ``results.json``."""
    script = str(RECIPES / f"{name}.py")
    if processes > 1:
        cmd = [*accelerate_launch(processes), script]
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


#: The 2-process CE run the distributed tests share (test_ce_distributed, test_multi_node).
TWO_PROCESS_CE = ["--dataset", "digits", "--noise", "sym", "--noise-rate", "0.4", "--epochs", "2",
                  "--no-progress"]


@pytest.fixture(scope="session")
def two_process_ce_run(tmp_path_factory) -> tuple[Path, dict]:
    """CE on the clean digits (2 epochs) in 2 processes through ``accelerate launch``, run once
    per session: its folder and results."""
    out = tmp_path_factory.mktemp("two_process_ce") / "run"
    return out, run_recipe("ce", *TWO_PROCESS_CE, "--output-dir", str(out), processes=2)


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
