"""``python -m ignoise sweep SPEC``: every cell of a paper table (methods x datasets x noise x
seeds) as ordinary runs in one folder, then ``python -m ignoise table`` on that folder::

    python -m ignoise sweep recipes/tables/demo.yaml --output-dir runs/demo --workers 2
    python -m ignoise sweep gal_table1 --scale digits --dry-run
    python -m ignoise sweep gal_table1 --launcher slurm --slurm slurm_partition=gpu

A finished cell (same settings) is skipped, an interrupted one resumes from its checkpoint;
every cell is checked before the first one starts.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import yaml

from ..config import ConfigError

__all__ = ["add_arguments", "run", "main", "format_plan"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", help="a spec file, or the name of one in recipes/tables/")
    parser.add_argument("--output-dir", type=Path, default=None,
                        help="the sweep's folder (default: runs/sweeps/<spec>[-<scale>])")
    parser.add_argument("--scale", default=None,
                        help="a scaled-down version the spec defines (e.g. digits)")
    parser.add_argument("--only", nargs="+", default=None, metavar="ROW",
                        help="run only these rows (by name)")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="replace the seeds")
    parser.add_argument("--epochs", type=int, default=None, help="override every cell's epochs")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key in every cell (YAML value); repeatable")
    parser.add_argument("--workers", type=int, default=1,
                        help="local runs at a time, each pinned to its share of the cores")
    parser.add_argument("--gpus", nargs="+", default=None, metavar="ID",
                        help="GPUs shared out among the local workers (CUDA_VISIBLE_DEVICES)")
    parser.add_argument("--processes", type=int, default=None,
                        help="processes per cell (accelerate launch; default: the spec's)")
    parser.add_argument("--launcher", choices=("local", "slurm", "submitit-local"),
                        default="local", help="local workers, Slurm through submitit, or "
                        "submitit's local executor")
    parser.add_argument("--slurm", action="append", default=[], metavar="KEY=VALUE",
                        help="a submitit parameter (slurm_partition=..., timeout_min=..., "
                        "gpus_per_node=...); repeatable")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the plan (cells, which are done, estimated time) and stop")
    parser.add_argument("--rerun-changed", action="store_true",
                        help="replace cells whose folders hold runs with other settings")


def _key_values(items: list[str], flag: str) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"{flag} {item!r}: expected KEY=VALUE")
        out[key.strip().replace("-", "_")] = yaml.safe_load(value)
    return out


def main(args) -> dict:
    """Plan, check and run the sweep; returns ``{"plans", "outcomes", "output_dir"}``."""
    from ..experiments.spec import load_spec
    from ..experiments.sweep_plan import TODO, plan_sweep, write_manifest

    if args.workers < 1:
        raise ConfigError(f"--workers {args.workers}: expected at least 1")
    spec = load_spec(args.spec, args.scale)
    overrides = _key_values(args.set, "--set")
    if args.epochs is not None:
        overrides["epochs"] = args.epochs
    spec = spec.with_overrides(overrides, args.seeds)
    out = args.output_dir or Path("runs/sweeps") / (
        spec.name + (f"-{spec.scale}" if spec.scale else ""))
    plans = plan_sweep(spec, out, only=args.only, rerun_changed=args.rerun_changed)
    print(format_plan(spec, plans, args.workers), flush=True)
    if args.dry_run:
        return {"plans": plans, "outcomes": [], "output_dir": out}
    write_manifest(spec, out)
    processes = args.processes or spec.processes
    progress = Progress(sum(p.status in TODO for p in plans))
    if args.launcher == "local":
        from ..experiments.sweep_run import run_local

        outcomes = run_local(plans, workers=args.workers, processes=processes,
                             gpus=args.gpus, on_done=progress.update)
    else:
        from ..experiments.sweep_run import run_submitit

        outcomes = run_submitit(plans, out, cluster="local" if args.launcher == "submitit-local"
                                else "slurm", parameters=_key_values(args.slurm, "--slurm"),
                                processes=processes, on_done=progress.update)
    progress.close()
    failed = [o for o in outcomes if not o.ok]
    for o in failed:
        print(f"FAILED (exit {o.returncode}): {o.plan.cell.describe()}; log: "
              f"{o.plan.folder / 'sweep.log'}", file=sys.stderr)
    print(f"sweep {spec.name}: {len(outcomes) - len(failed)} run, {len(failed)} failed, "
          f"{sum(p.status == 'done' for p in plans)} already done; "
          f"python -m ignoise table {out}")
    return {"plans": plans, "outcomes": outcomes, "output_dir": out}


def format_plan(spec, plans, workers: int) -> str:
    """One line per cell (status, folder, why) and the estimated time."""
    from ..experiments.sweep_plan import TODO

    lines = [f"{spec.title} [{spec.name}{', scale ' + spec.scale if spec.scale else ''}]: "
             f"{len(plans)} cells"]
    for p in plans:
        note = f" ({p.reason})" if p.reason else ""
        lines.append(f"  {p.status:<8} {p.cell.describe()}{note}")
    todo = [p for p in plans if p.status in TODO]
    known = [p.estimate_s for p in todo if p.estimate_s is not None]
    if not todo:
        estimate = "nothing to run"
    elif known:
        estimate = f"about {_duration(sum(known) / workers)} with {workers} worker(s)" + (
            f" plus {len(todo) - len(known)} cells never timed" if len(known) < len(todo) else "")
    else:
        estimate = "no finished cell of these rows to estimate the time from"
    lines.append(f"{len(plans) - len(todo)} done, {len(todo)} to run: {estimate}")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


class Progress:
    """Cells done / total with an ETA: a bar on a terminal, else one line per cell."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.start = total, 0, time.perf_counter()
        self.bar = None
        if sys.stderr.isatty() and total:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="cell", desc="sweep")

    def update(self, outcome) -> None:
        self.done += 1
        acc = outcome.results.get("test_acc_last") if outcome.results else None
        result = f"test acc last {100 * acc:.2f}" if acc is not None else \
            f"FAILED (exit {outcome.returncode})"
        if self.bar is not None:
            self.bar.update(1)
            self.bar.write(f"{outcome.plan.cell.describe()}: {result}")
            return
        elapsed = time.perf_counter() - self.start
        eta = elapsed / self.done * (self.total - self.done)
        print(f"[{self.done}/{self.total}] {outcome.plan.cell.describe()}: {result} "
              f"({outcome.seconds:.0f} s; ETA {_duration(eta)})", flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run(args) -> None:
    """For a terminal: config errors print one line and exit with status 2, failed cells
    with status 1."""
    try:
        result = main(args)
    except (ConfigError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    if any(not o.ok for o in result["outcomes"]):
        raise SystemExit(1)
