"""A summarized sweep in the paper's layout (rows = methods, columns = dataset and noise
setting) as Markdown, CSV and LaTeX, and its test-accuracy curves with seed bands."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from .aggregate import Collected
from .markdown import noise_column

__all__ = ["layout", "markdown_report", "write_outputs", "plot_curves"]

METRIC_TITLES = {"last": "last epoch", "best": "best epoch",
                 "val": "epoch of best noisy-validation accuracy (no test set used)"}


def _column(dataset: str, setting: str) -> str:
    return f"{dataset} {'clean' if setting == 'none' else noise_column(setting)}"


def _mean_std(mean: float, std: float) -> str:
    if math.isnan(mean):
        return "—"
    digits = 2 if abs(mean) >= 1 else 4  # accuracies in %, ratios and biases as they are
    return f"{mean:.{digits}f} ± {std:.{digits}f}" if not math.isnan(std) else f"{mean:.{digits}f}"


def layout(summary: pd.DataFrame, metric: str, with_paper: bool = True,
           paper: str = "published") -> pd.DataFrame:
    """Rows x (dataset, setting) cells of ``metric`` as ``mean ± std`` (the mean alone for
    one seed), with ``(paper P, +D)`` where the paper has a number (column ``paper``:
    ``published``, or ``published_best`` for the best-epoch table)."""
    difference = "difference" if paper == "published" else "difference_best"
    cells = summary.assign(column=[_column(d, s) for d, s in zip(summary.dataset,
                                                                  summary.setting)])

    def text(line) -> str:
        ours = _mean_std(line[f"{metric}_mean"], line[f"{metric}_std"])
        if not with_paper or math.isnan(line[paper]):
            return ours
        diff = line[difference]
        return ours + (f" (paper {line[paper]:.2f}, {diff:+.2f})"
                       if not math.isnan(diff) else f" (paper {line[paper]:.2f})")

    cells["text"] = cells.apply(text, axis=1)  # summary's order: the spec's rows and columns
    table = cells.pivot(index="row", columns="column", values="text")
    table = table.reindex(index=list(dict.fromkeys(cells.row)),
                          columns=list(dict.fromkeys(cells.column)))
    return table.fillna("—").rename_axis(index="Method", columns=None)


def _time_table(summary: pd.DataFrame) -> pd.DataFrame:
    rows = summary.dropna(subset=["wall_time_s"])
    if rows.empty:
        return rows
    return rows.groupby("row", sort=False).agg(
        runs=("seeds", "sum"), mean_time_s=("wall_time_s", "mean")).assign(
        **{"mean time": lambda t: t.mean_time_s.map(_duration)}).drop(
        columns="mean_time_s").rename_axis("Method")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:.2f} h"


def markdown_report(summary: pd.DataFrame, collected: Collected) -> str:
    """The spec's metric with the paper's numbers, then best, last, validation-selected (when
    any run held out a validation set) and the training time per method."""
    seeds = sorted(set(summary.seeds.dropna().astype(int)))
    parts = [f"**{collected.title}**", "",
             f"Test accuracy (%) at the {METRIC_TITLES[collected.metric]}: mean ± std over "
             f"seeds ({'/'.join(map(str, seeds))} per cell); (paper P, +D) is the published "
             "number and our difference from it.", "",
             layout(summary, collected.metric).to_markdown(), ""]
    for metric in ("best", "last", "val"):
        if metric == collected.metric or summary[f"{metric}_mean"].isna().all():
            continue
        best_paper = metric == "best" and summary["published_best"].notna().any()
        parts += [f"At the {METRIC_TITLES[metric]}:", "",
                  layout(summary, metric, with_paper=best_paper,
                         paper="published_best").to_markdown(), ""]
    for key in collected.report:
        if summary[f"report:{key}_mean"].isna().all():
            continue
        parts += [f"{key} at the last epoch (mean ± std over seeds):", "",
                  layout(summary, f"report:{key}", with_paper=False).to_markdown(), ""]
    times = _time_table(summary)
    if not times.empty:
        parts += ["Training time per run (mean over its cells):", "", times.to_markdown(), ""]
    if collected.missing:
        parts += [f"{len(collected.missing)} cell(s) have no results yet, e.g. "
                  f"{collected.missing[0]}", ""]
    return "\n".join(parts)


def write_outputs(summary: pd.DataFrame, collected: Collected, out: Path,
                  formats: tuple[str, ...] = ("md", "csv", "tex", "png")) -> dict[str, Path]:
    """``table.md``, ``table.csv`` (one line per cell, every statistic), ``table.tex`` (the
    spec's metric in the paper's layout) and ``curves.png`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    if "md" in formats:
        written["md"] = out / "table.md"
        written["md"].write_text(markdown_report(summary, collected))
    if "csv" in formats:
        written["csv"] = out / "table.csv"
        summary.to_csv(written["csv"], index=False, float_format="%.4f")
    if "tex" in formats:
        written["tex"] = out / "table.tex"
        caption = collected.title.replace("%", r"\%").replace("_", r"\_")
        written["tex"].write_text(layout(summary, collected.metric).to_latex(
            caption=caption, label=f"tab:{out.name}", escape=True))
    if "png" in formats:
        written["png"] = plot_curves(collected, out / "curves.png")
    return written


def plot_curves(collected: Collected, path: Path) -> Path:
    """One panel per (dataset, setting): each row's ``curve`` (test accuracy by default) per
    epoch, the mean over seeds with a band of +- one std, and a dotted line where its warm-up
    ends."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = collected.runs
    panels = list(dict.fromkeys(zip(runs.dataset, runs.setting)))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), sharey=True,
                             squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (dataset, setting) in zip(axes[0], panels):
        here = runs[(runs.dataset == dataset) & (runs.setting == setting)]
        for i, row in enumerate(collected.row_order):
            mine = here[here.row == row]
            if mine.empty:
                continue
            color = colors[i % len(colors)]
            scale = 100 if collected.curve.endswith("accuracy") else 1
            curves = pd.DataFrame({run: collected.histories[run][collected.curve]
                                   for run in mine.run}) * scale
            if curves.empty:
                continue
            mean, std = curves.mean(axis=1), curves.std(axis=1).fillna(0.0)
            ax.plot(mean.index, mean, color=color, lw=1.3, label=row)
            ax.fill_between(mean.index, mean - std, mean + std, color=color, alpha=0.2, lw=0)
            warmup = mine.warmup_epochs.dropna()
            if len(warmup) and warmup.iloc[0] > 0:
                ax.axvline(float(warmup.iloc[0]) + 0.5, color=color, ls=":", lw=1)
        ax.set_title(_column(dataset, setting), fontsize=9)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel(collected.curve + (" (%)" if collected.curve.endswith("accuracy")
                                             else ""))
    fig.suptitle(collected.title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
