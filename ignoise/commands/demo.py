"""``python -m ignoise demo``: every method on the embedded digits, a table and a plot.

The demo runs the recipe scripts of the source checkout (``recipes/``), each as its own
process, exactly as a user would, then reads their ``results.json``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DemoRow", "DEMO_ROWS", "add_arguments", "run", "format_table", "plot_histories"]


@dataclass(frozen=True)
class DemoRow:
    """One line of the demo's table: a recipe with its flags."""

    name: str
    recipe: str
    args: tuple[str, ...] = field(default_factory=tuple)


DEMO_ROWS = (
    DemoRow("CE, clean labels", "ce.py", ("--noise", "none")),
    DemoRow("CE, 40% sym", "ce.py", ("--noise", "sym", "--noise-rate", "0.4")),
    DemoRow("GAL (C), 40% sym", "gal_cifar.py", ("--noise", "sym", "--noise-rate", "0.4")),
    DemoRow("DivideMix, 40% sym", "dividemix.py", ("--noise", "sym", "--noise-rate", "0.4")),
    DemoRow("GSS-SSL, 40% sym", "gss_cifar.py", ("--noise", "sym", "--noise-rate", "0.4")),
)


def add_arguments(parser) -> None:
    parser.add_argument("--output-dir", default="demo_output", type=Path)
    parser.add_argument("--recipes-dir", type=Path, default=None,
                        help="the checkout's recipes/ folder (found next to the package)")
    parser.add_argument("--epochs", type=int, default=None, help="override every row's epochs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", default=None, help="names of rows to run")


def _recipes_dir(given: Path | None) -> Path:
    folder = given or Path(__file__).resolve().parents[2] / "recipes"
    if not (folder / "ce.py").is_file():
        raise FileNotFoundError(
            f"the demo runs the recipes of a source checkout, but {folder} has no ce.py: "
            "run it from a clone (pip install -e .) or pass --recipes-dir"
        )
    return folder


def run(args) -> list[dict]:
    recipes = _recipes_dir(args.recipes_dir)
    rows = [r for r in DEMO_ROWS if args.only is None or r.name in args.only]
    results = []
    for i, row in enumerate(rows):
        out = args.output_dir / f"row{i}"
        cmd = [sys.executable, str(recipes / row.recipe), "--dataset", "digits",
               "--seed", str(args.seed), "--output-dir", str(out), "--no-progress", "--overwrite",
               *row.args]
        if args.epochs:
            cmd += ["--epochs", str(args.epochs)]
        print(f"[{i + 1}/{len(rows)}] {row.name}: {' '.join(cmd[1:])}", flush=True)
        start = time.perf_counter()
        subprocess.run(cmd, check=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        result = json.loads((out / "results.json").read_text())
        result["demo_name"] = row.name
        result["demo_wall_s"] = time.perf_counter() - start
        results.append(result)
    table = format_table(results)
    print(table)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "table.md").write_text(table + "\n")
    plot = plot_histories(results, args.output_dir / "test_accuracy.png")
    print(f"plot: {plot}")
    return results


def format_table(results: list[dict]) -> str:
    """A Markdown table: best and last test accuracy of each row (C's for GAL)."""
    lines = ["| run | epochs | best test acc | last test acc | wall time (s) |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for r in results:
        lines.append(f"| {r['demo_name']} | {r['epochs']} | {100 * r['test_acc_best']:.2f} | "
                     f"{100 * r['test_acc_last']:.2f} | {r['wall_time_s']:.1f} |")
    return "\n".join(lines)


def plot_histories(results: list[dict], path: Path) -> Path:
    """Test accuracy per epoch of every row, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for r in results:
        key = "test_accuracy"
        epochs = [row["epoch"] for row in r["history"] if key in row]
        acc = [100 * row[key] for row in r["history"] if key in row]
        ax.plot(epochs, acc, label=r["demo_name"])
    ax.set_xlabel("epoch")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("ignoise demo: handwritten digits")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
