"""Finished runs gathered into tables: one row per run, then mean +- std over seeds per table
cell, with the paper's numbers beside them (``python -m ignoise table``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .spec import setting_name
from .sweep_plan import MANIFEST

__all__ = ["Collected", "collect_runs", "summarize", "series", "METRIC_COLUMNS"]

#: results.json key -> column of the per-run frame (test accuracy in %).
METRIC_COLUMNS = {"test_acc_best": "best", "test_acc_last": "last",
                  "test_acc_at_best_val": "val"}


@dataclass
class Collected:
    """The runs found (``runs``: one row each; ``histories``: run -> key -> epoch -> value of
    the curve and reported keys),
    the row order, the published numbers and what the folders' sweeps said."""

    runs: pd.DataFrame
    histories: dict[str, dict[str, dict[int, float]]]
    row_order: list[str] = field(default_factory=list)
    column_order: list[tuple[str, str]] = field(default_factory=list)
    published: pd.DataFrame | None = None
    metric: str = "last"
    curve: str = "test_accuracy"
    report: list[str] = field(default_factory=list)
    title: str = "test accuracy (%)"
    missing: list[str] = field(default_factory=list)


def collect_runs(folders: list[Path]) -> Collected:
    """Read every run under ``folders``: a sweep's folder (its ``sweep.json`` names the rows
    and the published numbers) or any folder holding run folders (rows named by method).

    Raises:
        FileNotFoundError: a folder that does not exist or holds no finished run.
    """
    records, histories, order, published, missing, columns = [], {}, [], [], [], []
    metric, curve, title, report = "last", "test_accuracy", "test accuracy (%)", []
    for folder in map(Path, folders):
        if not folder.is_dir():
            raise FileNotFoundError(f"no run folder {folder}")
        manifest = folder / MANIFEST
        if manifest.is_file():
            sweep = json.loads(manifest.read_text())
            metric, curve, title = sweep["metric"], sweep["curve"], sweep["title"]
            report = sweep.get("report", [])
            order += [r["name"] for r in sweep["rows"] if r["name"] not in order]
            published += _published_rows(sweep)
            found = []
            columns += [(c["dataset"], c["setting"]) for c in sweep["cells"]]
            for cell in sweep["cells"]:
                path = folder / cell["folder"] / "results.json"
                if path.is_file():
                    found.append((cell["row"], path))
                else:
                    missing.append(str(path.parent))
        else:
            found = [(None, p) for p in sorted(folder.rglob("results.json"))]
        for row, path in found:
            record, history = _record(row, path, [curve, *report])
            records.append(record)
            histories[record["run"]] = history
            if record["row"] not in order:
                order.append(record["row"])
            columns.append((record["dataset"], record["setting"]))
    if not records:
        raise FileNotFoundError(f"no finished run (results.json) under "
                                f"{', '.join(map(str, folders))}")
    pub = pd.DataFrame(published, columns=["row", "dataset", "setting", "published",
                                           "published_best"])
    return Collected(pd.DataFrame(records), histories, order, list(dict.fromkeys(columns)),
                     pub if len(pub) else None, metric, curve, report, title, missing)


def series(results: dict, key: str) -> dict[int, float]:
    """``{epoch: value}`` of a history key (``"train_agreement_ratio"``), or of a field of a
    per-epoch list in ``results.json`` (``"gradient_bias.bias"``).

    Examples:
        >>> series({"history": [{"epoch": 1, "test_accuracy": 0.5}]}, "test_accuracy")
        {1: 0.5}
        >>> series({"gradient_bias": [{"epoch": 2, "bias": 0.1}]}, "gradient_bias.bias")
        {2: 0.1}
    """
    head, _, name = key.partition(".")
    rows = results.get(head) if name and isinstance(results.get(head), list) else None
    if rows is None:
        rows, name = results.get("history", []), key
    return {int(r["epoch"]): float(r[name]) for r in rows if r.get(name) is not None}


def _record(row: str | None, path: Path, keys: list[str]) -> tuple[dict, dict]:
    results = json.loads(path.read_text())
    config = results.get("config", {})
    variant = config.get("variant")
    method = results.get("method") or "?"
    name = row or (f"{method} ({variant})" if variant and variant != method else method)
    record = {
        "row": name, "method": method, "dataset": results.get("dataset"),
        "setting": setting_name(results.get("noise") or "none",
                                float(results.get("noise_rate") or 0.0)),
        "seed": results.get("seed"), "epochs": results.get("epochs"),
        "warmup_epochs": config.get("warmup_epochs"), "status": results.get("status",
                                                                            "completed"),
        "wall_time_s": results.get("wall_time_s"), "run": str(path.parent),
    }
    for key, column in METRIC_COLUMNS.items():
        value = results.get(key)
        record[column] = None if value is None else 100.0 * value
    curves = {key: series(results, key) for key in keys}
    for key in keys[1:]:  # the reported values: at the last epoch that has them
        record[f"report:{key}"] = curves[key][max(curves[key])] if curves[key] else None
    return record, curves


def _published_rows(sweep: dict) -> list[dict]:
    """The paper's numbers for the datasets the sweep ran (a scaled-down dataset reads those
    of the paper's dataset it stands for, a stand-in setting those of the paper's setting)."""
    datasets = {c["dataset"] for c in sweep["cells"]} or set(sweep["published"])
    ours = {paper: mine for mine, paper in sweep.get("published_settings", {}).items()}
    rows = {}
    for dataset in sorted(datasets):
        source = sweep.get("published_from", {}).get(dataset, dataset)
        for column, key in (("published", "published"), ("published_best", "published_best")):
            for row, by_setting in sweep.get(key, {}).get(source, {}).items():
                for setting, value in by_setting.items():
                    setting = ours.get(str(setting), setting)
                    line = rows.setdefault((row, dataset, str(setting)), {
                        "row": row, "dataset": dataset, "setting": str(setting),
                        "published": float("nan"), "published_best": float("nan")})
                    line[column] = float(value)
    return list(rows.values())


def summarize(collected: Collected) -> pd.DataFrame:
    """One line per (row, dataset, setting): seeds, mean and std (over seeds) of the best,
    last and validation-selected test accuracy, mean training time, the published number and
    the difference of the spec's metric from it."""
    runs = collected.runs
    keys = ["row", "dataset", "setting"]
    grouped = runs.groupby(keys, sort=False)
    table = grouped.agg(seeds=("seed", "count"), wall_time_s=("wall_time_s", "mean"))
    reported = [f"report:{key}" for key in collected.report]
    for column in [*METRIC_COLUMNS.values(), *reported]:
        values = pd.to_numeric(runs[column], errors="coerce")
        stats = values.groupby([runs[k] for k in keys], sort=False).agg(["mean", "std"])
        table[f"{column}_mean"], table[f"{column}_std"] = stats["mean"], stats["std"]
    table = table.reset_index()
    if collected.published is not None:
        table = table.merge(collected.published, on=keys, how="outer")
    else:
        table["published"] = table["published_best"] = float("nan")
    table["difference"] = table[f"{collected.metric}_mean"] - table["published"]
    table["difference_best"] = table["best_mean"] - table["published_best"]
    rows = {name: i for i, name in enumerate(collected.row_order)}
    columns = {key: i for i, key in enumerate(collected.column_order)}
    table["_row"] = table["row"].map(lambda r: rows.get(r, len(rows)))
    table["_column"] = [columns.get(key, len(columns)) for key in zip(table.dataset,
                                                                       table.setting)]
    return table.sort_values(["_row", "_column"], kind="stable").drop(
        columns=["_row", "_column"]).reset_index(drop=True)
