"""The GSS poster's gradient-bias table: how far the final-layer gradients of mislabeled samples
drift, summed over epochs, from those of their clean labels, under CE on the given labels (ori),
sample screening (sc), SSL (DivideMix) and GSS (GSS-SSL; GSS-CE as an extra row).

Each method is a full run with the gradient-bias probe on, in ``<output-dir>/<method>``; the
table (``gradient_bias.md``), a plot (``gradient_bias.png``) and ``results.json`` go to
``<output-dir>``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .runs import run_once

__all__ = ["ROWS", "BIAS_EPOCHS", "main", "format_table", "plot_bias"]

#: method -> its row in the poster's table
ROWS = {"ce": "Δg_ori (CE)", "screening": "Δg_sc (screening)", "dividemix": "Δg_ssl (DivideMix)",
        "gss_ssl": "Δg_gss (GSS-SSL)", "gss_ce": "Δg_gss (GSS-CE)"}
#: Epochs the table reports, by dataset (the digits run 20 epochs, the poster's CIFAR runs 300).
BIAS_EPOCHS = {"digits": (5, 10, 15, 20), "default": (50, 100, 150)}


def main(argv=None, *, config: Path, description: str | None = None) -> dict:
    """Run every method of ``--methods`` with the probe on; the other flags go to every run."""
    from ..commands.train import parse
    from ..config import ConfigError

    own = argparse.ArgumentParser(description=description or __doc__.splitlines()[0])
    own.add_argument("--methods", nargs="+", choices=tuple(ROWS), default=list(ROWS))
    own.add_argument("--bias-epochs", nargs="+", type=int)
    own.add_argument("--config", type=Path, default=config)
    args, rest = own.parse_known_args(argv)
    _, cfg, _ = parse([*rest, "--method", args.methods[0]], config=args.config)
    epochs = args.bias_epochs or BIAS_EPOCHS.get(cfg.dataset, BIAS_EPOCHS["default"])
    epochs = [e for e in epochs if e <= cfg.epochs] or [cfg.epochs]
    if cfg.output_dir is None:
        raise ConfigError("the gradient-bias table writes its runs and table to output_dir: "
                          "expected a folder, got null")
    out = Path(cfg.output_dir)

    runs = {method: run_once(out / method, [*rest, "--method", method, "--gradient-bias"],
                             args.config) for method in args.methods}
    results = {
        "method": "gradient_bias_table", "dataset": cfg.dataset, "noise": cfg.noise,
        "noise_rate": cfg.noise_rate, "seed": cfg.seed, "epochs": cfg.epochs,
        "bias_epochs": epochs,
        "methods": {m: {"gradient_bias": r["gradient_bias"], "test_acc_last": r["test_acc_last"],
                        "test_acc_best": r["test_acc_best"]} for m, r in runs.items()},
    }
    results["table"] = format_table(results["methods"], epochs)
    from accelerate import PartialState

    if PartialState().is_main_process:
        (out / "gradient_bias.md").write_text(results["table"] + "\n")
        title = f"{cfg.dataset}, {cfg.noise} noise {100 * cfg.noise_rate:.0f}%, seed {cfg.seed}"
        plot_bias(results["methods"], out / "gradient_bias.png", title=title)
        (out / "results.json").write_text(json.dumps(results, indent=2))
        print(results["table"])
    return results


def _row_at(rows: list[dict], epoch: int) -> dict:
    return next(r for r in rows if r["epoch"] == epoch)


def format_table(methods: dict, epochs: list[int]) -> str:
    """A Markdown table in the poster's layout: the bias (x 10^2) at each epoch, then the
    consistency at the last one and the last-epoch test accuracy."""
    head = " | ".join(f"epoch {e}" for e in epochs)
    lines = [f"| gradient bias (x10^2) | {head} | consistency | test acc (last) |",
             "| --- |" + " ---: |" * (len(epochs) + 2)]
    for method, result in methods.items():
        rows = result["gradient_bias"]
        cells = " | ".join(f"{100 * _row_at(rows, e)['bias']:.2f}" for e in epochs)
        last = _row_at(rows, epochs[-1])
        lines.append(f"| {ROWS.get(method, method)} | {cells} | {last['consistency']:.3f} | "
                     f"{100 * result['test_acc_last']:.2f} |")
    return "\n".join(lines)


def plot_bias(methods: dict, path: Path, title: str = "") -> Path:
    """Bias and consistency per epoch of every method, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for method, result in methods.items():
        rows = result["gradient_bias"]
        epochs = [r["epoch"] for r in rows]
        left.plot(epochs, [100 * r["bias"] for r in rows], label=ROWS.get(method, method))
        right.plot(epochs, [r["consistency"] for r in rows], label=ROWS.get(method, method))
    left.set(xlabel="epoch", ylabel="gradient bias (x10^2)", title="accumulated bias")
    right.set(xlabel="epoch", ylabel="|sum of deviations| / sum of |deviations|",
              title="consistency of the deviations", ylim=(0, 1.05))
    for ax in (left, right):
        ax.grid(alpha=0.3)
    left.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
