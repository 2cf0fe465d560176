"""The GAL paper's ablations as a grid of GAL runs, written as Markdown tables and a plot:

- ``table4.md``: components (CE; random updating; A+B CE; A+B random updating; A+B agreement
  updating; A and B frozen after the warm-up with C distilled from them; full GAL), best and
  last test accuracy of the reported network (C where it is distilled, else the joint A+B
  prediction, or A alone for the one-network rows);
- ``table5.md``: sampling (random, identical, CDAS without reversal, CDAS), last test
  accuracy of C, mean +- std over the seeds;
- ``figure4.png`` (+ ``figure4.md``): the agreement threshold tau swept, test accuracy of the
  joint A+B prediction per epoch.

Finished runs (their ``results.json``) are reused, so an interrupted grid continues.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from .markdown import noise_column, table, write
from .runs import run_once

__all__ = ["TABLE4", "TABLE5", "TAUS", "SETTINGS", "main", "plot_taus"]

TABLE4 = {  # row: GAL's variant
    "Cross Entropy": "ce",
    "Random Updating": "random_update",
    "A + B + Cross Entropy": "ab_ce",
    "A + B + Random Updating": "ab_random",
    "A + B + Gradient Agreement Updating": "ab_agreement",
    "A + B Frozen + Pseudo-Label Supervising": "ab_freeze",
    "GAL": "gal",
}
TABLE5 = {"Random Sampling": "random", "Identical Sampling": "identical",
          "CDAS w/o Reversed Sampling": "cdas_no_reversal",
          "Class Distribution Agreement Sampling": "cdas"}
TAUS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
#: The paper's settings; the digits have no semantic class map, so pair flips stand in for its
#: asymmetric noise there.
SETTINGS = {"digits": ("sym:0.2", "sym:0.5", "sym:0.8", "pairflip:0.4"),
            "default": ("sym:0.2", "sym:0.5", "sym:0.8", "asym:0.4")}


def main(argv=None, *, config: Path, description: str | None = None) -> dict:
    """Run the grid; flags this parser does not know go to every run (e.g. ``--epochs 10``).
    Returns the written files by name."""
    p = argparse.ArgumentParser(description=description or __doc__.splitlines()[0])
    p.add_argument("--dataset", default="digits")
    p.add_argument("--data-root", default="data")
    p.add_argument("--settings", nargs="+", default=None,
                   help="noise:rate pairs (default: the paper's four)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="Table 5's seeds")
    p.add_argument("--seed", type=int, default=0, help="the seed of Table 4 and Figure 4")
    p.add_argument("--only", nargs="+", choices=("table4", "table5", "figure4"),
                   default=["table4", "table5", "figure4"])
    p.add_argument("--taus", type=float, nargs="+", default=list(TAUS))
    p.add_argument("--config", type=Path, default=config)
    p.add_argument("--output-dir", type=Path, default=Path("runs/gal_ablations"))
    args, extra = p.parse_known_args(argv)
    settings = args.settings or SETTINGS.get(args.dataset, SETTINGS["default"])
    columns = [noise_column(s) for s in settings]

    def run(name: str, setting: str, seed: int, *flags: str) -> dict:
        out = args.output_dir / "runs" / f"{name}_{setting.replace(':', '')}_seed{seed}"
        noise, rate = setting.split(":")
        return run_once(out, ["--method", "gal", "--dataset", args.dataset, "--data-root",
                              args.data_root, "--noise", noise, "--noise-rate", rate, "--seed",
                              str(seed), "--no-progress", *flags, *extra], args.config)

    written = {}
    if "table4" in args.only:
        rows = {row: [run(variant, s, args.seed, "--variant", variant) for s in settings]
                for row, variant in TABLE4.items()}
        cells = {row: [f"{100 * r['test_acc_best']:.1f} / {100 * r['test_acc_last']:.1f}"
                       for r in results] for row, results in rows.items()}
        written["table4"] = write(args.output_dir / "table4.md", table(
            f"Table 4 ({args.dataset}, seed {args.seed}): best / last test accuracy (%)",
            "Method", columns, cells))
    if "table5" in args.only:
        cells = {}
        for row, sampling in TABLE5.items():
            cells[row] = []
            for s in settings:
                accs = [100 * run(f"sampling-{sampling}", s, seed, "--sampling", sampling)
                        ["test_acc_last"] for seed in args.seeds]
                std = statistics.stdev(accs) if len(accs) > 1 else 0.0
                cells[row].append(f"{statistics.mean(accs):.1f} ± {std:.1f}")
        written["table5"] = write(args.output_dir / "table5.md", table(
            f"Table 5 ({args.dataset}, seeds {' '.join(map(str, args.seeds))}): last test "
            "accuracy of C (%), mean ± std", "Sampling", columns, cells))
    if "figure4" in args.only:
        curves = {s: {tau: run(f"tau{tau:g}", s, args.seed, "--variant", "ab_agreement",
                               "--agreement-threshold", str(tau))["history"]
                      for tau in args.taus} for s in settings}
        cells = {f"tau = {tau:g}": [f"{100 * curves[s][tau][-1]['test_accuracy']:.1f}"
                                    for s in settings] for tau in args.taus}
        written["figure4"] = write(args.output_dir / "figure4.md", table(
            f"Figure 4 ({args.dataset}): last test accuracy of the joint A + B prediction (%)",
            "Threshold", columns, cells))
        written["figure4_png"] = plot_taus(curves, columns, args.output_dir / "figure4.png")
    return written


def plot_taus(curves: dict, columns: list[str], path: Path) -> Path:
    """One panel per noise setting: the joint A+B test accuracy per epoch for each tau."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(curves), figsize=(3.4 * len(curves), 3), sharey=True,
                             squeeze=False)
    for ax, by_tau, column in zip(axes[0], curves.values(), columns):
        for tau, history in by_tau.items():
            ax.plot([r["epoch"] for r in history], [100 * r["test_accuracy"] for r in history],
                    label=f"tau = {tau:g}", lw=1)
        ax.set_title(column, fontsize=9)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("A + B test accuracy (%)")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"figure: {path}")
    return path
