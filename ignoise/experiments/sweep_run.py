"""Running a sweep's cells: local worker processes, each pinned to its share of the cores, or
jobs through submitit (Slurm, or its local executor); a cell may be an ``accelerate launch``
of several processes. Each cell is an ordinary ``python -m ignoise train`` run in its folder."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from .sweep_plan import TODO, CellPlan

__all__ = ["CellOutcome", "cell_command", "worker_cores", "run_local", "run_submitit",
           "run_cell_command"]

THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                    "NUMEXPR_NUM_THREADS")


@dataclass
class CellOutcome:
    plan: CellPlan
    returncode: int
    seconds: float
    results: dict | None

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.results is not None


def cell_command(plan: CellPlan, processes: int = 1) -> list[str]:
    """``python -m ignoise train ...``, or its ``accelerate launch`` over ``processes``."""
    if processes > 1:
        return [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu",
                "--num_processes", str(processes), "--num_machines", "1", "--mixed_precision",
                "no", "--dynamo_backend", "no", "-m", "ignoise", "train", *plan.argv]
    return [sys.executable, "-m", "ignoise", "train", *plan.argv]


def worker_cores(workers: int, cores: list[int] | None = None) -> list[list[int]]:
    """The cores of each of ``workers`` local workers: equal, disjoint shares when there are
    enough cores, else one core each, shared round-robin.

    Examples:
        >>> worker_cores(2, [0, 1, 2, 3, 4])
        [[0, 1], [2, 3]]
        >>> worker_cores(3, [0, 1])
        [[0], [1], [0]]
    """
    if cores is None:
        cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
            list(range(os.cpu_count() or 1))
    share = max(1, len(cores) // workers)
    return [[cores[(w * share + i) % len(cores)] for i in range(share)] for w in range(workers)]


def run_cell_command(command: list[str], env: dict, log: str, cores: list[int] | None = None
                     ) -> int:
    """Run one cell, appending its output to ``log``; returns the exit status. (A function of
    this module, so submitit can pickle it.)"""
    pin = (lambda: os.sched_setaffinity(0, cores)) if cores and hasattr(
        os, "sched_setaffinity") else None
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        return subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env,
                              preexec_fn=pin).returncode


def _env(threads: int) -> dict:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.update({name: str(threads) for name in THREAD_VARIABLES})
    return env


def _outcome(plan: CellPlan, returncode: int, start: float) -> CellOutcome:
    path = plan.folder / "results.json"
    results = json.loads(path.read_text()) if returncode == 0 and path.is_file() else None
    return CellOutcome(plan, returncode, time.perf_counter() - start, results)


def run_local(plans: list[CellPlan], *, workers: int, processes: int = 1,
              gpus: list[str] | None = None, on_done=lambda outcome: None) -> list[CellOutcome]:
    """Run the cells that need it, ``workers`` at a time; each worker's runs are pinned to its
    cores and get as many threads (so N workers on N cores do not oversubscribe), and its
    share of ``gpus`` (``CUDA_VISIBLE_DEVICES``). ``on_done`` is called after each cell (the
    progress display)."""
    if gpus and len(gpus) < workers:
        raise ValueError(f"--gpus {' '.join(gpus)}: {len(gpus)} GPU(s) for {workers} workers; "
                         "expected at least one per worker")
    todo = [p for p in plans if p.status in TODO]
    free: queue.Queue = queue.Queue()
    for w, cores in enumerate(worker_cores(workers)):
        share = len(gpus) // workers if gpus else 0
        free.put((cores, gpus[w * share:(w + 1) * share] if gpus else None))

    def work(plan: CellPlan) -> CellOutcome:
        cores, devices = free.get()
        try:
            env = _env(max(1, len(cores) // processes))
            if devices:
                env["CUDA_VISIBLE_DEVICES"] = ",".join(devices)
            start = time.perf_counter()
            code = run_cell_command(cell_command(plan, processes), env,
                                    str(plan.folder / "sweep.log"), cores)
            return _outcome(plan, code, start)
        finally:
            free.put((cores, devices))

    outcomes = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in as_completed([pool.submit(work, p) for p in todo]):
            outcomes.append(future.result())
            on_done(outcomes[-1])
    return outcomes


def run_submitit(plans: list[CellPlan], out: Path, *, cluster: str, parameters: dict,
                 processes: int = 1, threads: int = 1,
                 on_done=lambda outcome: None) -> list[CellOutcome]:
    """Submit one job per cell through submitit (``cluster``: ``"slurm"``, or ``"local"`` for
    its local executor) and wait for them. ``parameters`` go to ``update_parameters`` (e.g.
    ``slurm_partition``, ``timeout_min``, ``gpus_per_node``)."""
    try:
        import submitit
    except ImportError as err:
        raise ImportError("the submitit launcher needs the slurm extra: pip install "
                          "'ignoise[slurm]'") from err
    folder = Path(out) / "submitit"
    if cluster == "local":
        executor = submitit.LocalExecutor(folder=folder)
    else:
        executor = submitit.AutoExecutor(folder=folder, cluster=cluster)
    executor.update_parameters(**parameters)
    todo = [p for p in plans if p.status in TODO]
    start = time.perf_counter()
    jobs = [executor.submit(run_cell_command, cell_command(p, processes), _env(threads),
                            str(p.folder / "sweep.log")) for p in todo]
    outcomes = []
    for plan, job in zip(todo, jobs):
        try:
            code = job.result()
        except Exception as err:  # a job the cluster killed: reported like a failed run
            print(f"job {job.job_id} ({plan.cell.describe()}) failed: {err}", file=sys.stderr)
            code = -1
        outcomes.append(_outcome(plan, code, start))
        on_done(outcomes[-1])
    return outcomes
