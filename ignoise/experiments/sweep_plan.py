"""The plan of a sweep: every cell's ``train`` arguments and what it needs (run, resume,
nothing), decided from its folder and its run identity, all checked before any run starts."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from pathlib import Path

from ..config import ConfigError
from ..config.run_folder import done_epochs, identity_diff, run_identity
from .spec import Cell, SweepSpec, cell_argv

__all__ = ["CellPlan", "plan_sweep", "write_manifest", "MANIFEST", "TODO"]

MANIFEST = "sweep.json"
#: Statuses of a cell that still has to run.
TODO = ("new", "resume", "extend", "restart")


@dataclass
class CellPlan:
    """A cell, its folder, its ``train`` arguments and its status: ``done`` (finished with the
    same settings: skipped), ``new``, ``resume`` (from its last checkpoint), ``extend`` (more
    epochs than it ran), ``restart`` (started but never checkpointed, or changed and
    ``rerun_changed``), ``changed`` (finished or started with other settings: an error unless
    ``rerun_changed``)."""

    cell: Cell
    folder: Path
    argv: list[str]
    status: str
    reason: str = ""
    estimate_s: float | None = None


def plan_sweep(spec: SweepSpec, out: Path, *, only: list[str] | None = None,
               rerun_changed: bool = False) -> list[CellPlan]:
    """Resolve every cell's config (unknown keys, bad values and too-short runs are errors
    naming the row) and decide what each needs.

    Raises:
        ConfigError: a cell whose config does not resolve, a run that ends inside its method's
            warm-up, or cells whose folders hold runs with other settings (listed; pass
            ``rerun_changed`` to replace them).
    """
    from ..commands.train import parse

    plans = []
    for cell in spec.cells(only):
        folder = Path(out) / cell.folder
        try:
            _check_keys(cell, spec.overrides)
            argv = cell_argv(cell, spec.overrides)
            method, cfg, _ = parse([*argv, "--output-dir", str(folder), "--no-progress"])
        except (ConfigError, FileNotFoundError) as err:
            raise ConfigError(f"{spec.name}: row {cell.row.name!r} ({cell.describe()}): "
                              f"{err}") from None
        _check_warmup(spec, cell, method, cfg)
        plans.append(_status(cell, folder, [*argv, "--output-dir", str(folder),
                                            "--no-progress"], method, cfg, rerun_changed))
    changed = [p for p in plans if p.status == "changed"]
    if changed:
        lines = "\n".join(f"  {p.folder}: {p.reason}" for p in changed[:20])
        raise ConfigError(f"{len(changed)} cell(s) of {spec.name} hold runs with other settings "
                          f"(saved -> now):\n{lines}\npass --rerun-changed to replace them, "
                          "or another --output-dir")
    _estimate(plans)
    return plans


def _check_keys(cell: Cell, overrides: dict) -> None:
    """Unknown config keys fail here, with the closest valid key, not in argparse."""
    from ..config.resolve import closest
    from ..methods import get_method

    fields = get_method(cell.row.method).config.__dataclass_fields__
    for key in {**cell.row.flags, **overrides}:
        if key not in fields:
            hint = closest(key, fields)
            raise ConfigError(f"unknown key {key!r} for {cell.row.method}" + (
                f" (did you mean {hint!r}?)" if hint else ""))


def _check_warmup(spec: SweepSpec, cell: Cell, method: str, cfg) -> None:
    """A table cell must get past its method's warm-up (a plain run may stop there and be
    extended later; a table of warm-up networks would be mislabeled)."""
    warmup = getattr(cfg, "warmup_epochs", None)
    if method == "gal":
        from ..methods.gal import VARIANTS

        if VARIANTS[cfg.variant].update is None or cfg.variant == "contrast":
            warmup = None  # no phase after the warm-up
    if warmup is not None and cfg.epochs <= warmup:
        raise ConfigError(f"{spec.name}: row {cell.row.name!r} ({method}): epochs = {cfg.epochs} "
                          f"ends inside its warm-up of {warmup} epochs on {cell.dataset}: "
                          f"expected epochs > {warmup}")


def _status(cell: Cell, folder: Path, argv: list[str], method: str, cfg,
            rerun_changed: bool) -> CellPlan:
    saved_path, results_path = folder / "run.json", folder / "results.json"
    saved = json.loads(saved_path.read_text()) if saved_path.is_file() else None
    diff = identity_diff(saved, run_identity(method, cfg)) if saved else []
    results = json.loads(results_path.read_text()) if results_path.is_file() else None
    if results is not None and results.get("epochs", 0) > cfg.epochs:
        diff.append(f"epochs: {results['epochs']} done -> {cfg.epochs} asked")
    if diff:
        if rerun_changed:
            return CellPlan(cell, folder, [*argv, "--overwrite"], "restart", "; ".join(diff))
        return CellPlan(cell, folder, argv, "changed", "; ".join(diff))
    if results is not None:
        if results.get("epochs", 0) < cfg.epochs:
            return CellPlan(cell, folder, [*argv, "--resume"], "extend",
                            f"{results['epochs']} -> {cfg.epochs} epochs")
        return CellPlan(cell, folder, argv, "done")
    if done_epochs(folder) > 0:
        return CellPlan(cell, folder, [*argv, "--resume"], "resume",
                        f"from epoch {done_epochs(folder)}")
    if saved is not None:  # started, stopped before its first checkpoint: nothing to keep
        return CellPlan(cell, folder, [*argv, "--overwrite"], "restart", "no checkpoint")
    return CellPlan(cell, folder, argv, "new")


def _estimate(plans: list[CellPlan]) -> None:
    """Seconds each cell to run may take: the mean of finished cells of its row on its
    dataset, else of its row; ``None`` when none has finished."""
    times: dict[tuple, list[float]] = {}
    for p in plans:
        if p.status == "done":
            wall = json.loads((p.folder / "results.json").read_text()).get("wall_time_s")
            if wall is not None:
                for key in ((p.cell.row.name, p.cell.dataset), (p.cell.row.name,)):
                    times.setdefault(key, []).append(float(wall))
    for p in plans:
        if p.status in TODO:
            found = times.get((p.cell.row.name, p.cell.dataset)) or times.get((p.cell.row.name,))
            p.estimate_s = statistics.mean(found) if found else None


def write_manifest(spec: SweepSpec, out: Path) -> Path:
    """``OUT/sweep.json``: the spec (title, metric, published numbers) and every cell's folder,
    what ``python -m ignoise table`` reads. Refuses a folder that holds another spec's sweep."""
    path = Path(out) / MANIFEST
    if path.is_file():
        old = json.loads(path.read_text())
        if old.get("spec") != spec.name:
            raise ConfigError(f"{out} holds the sweep of spec {old.get('spec')!r}, not "
                              f"{spec.name!r}: pass another --output-dir")
    cells = [{"row": c.row.name, "method": c.row.method, "dataset": c.dataset,
              "setting": c.setting, "seed": c.seed, "folder": c.folder}
             for c in spec.cells()]  # all of them, also when --only ran a few
    manifest = {
        "spec": spec.name, "title": spec.title, "source": spec.source,
        "spec_path": str(spec.path) if spec.path else None, "scale": spec.scale,
        "metric": spec.metric, "curve": spec.curve, "report": list(spec.report),
        "rows": [{"name": r.name, "method": r.method} for r in spec.rows],
        "published": spec.published, "published_best": spec.published_best,
        "published_from": spec.published_from, "published_settings": spec.published_settings,
        "cells": cells,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return path
