"""The GSS poster's gradient-bias table: how far the final-layer gradients of mislabeled samples
drift, summed over epochs, from those of their clean labels, under CE on the given labels (ori),
sample screening (sc), SSL (DivideMix) and GSS (GSS-SSL; GSS with CE as an extra row).

Each variant is a full run of ``gss.py`` with the gradient-bias probe on, in
``<output-dir>/<variant>``; the table (``gradient_bias.md``), a plot (``gradient_bias.png``)
and ``results.json`` go to ``<output-dir>``.

    python recipes/gss_bias.py --dataset digits --output-dir runs/gss_bias
    accelerate launch recipes/gss_bias.py --dataset cifar10 --data-root data --output-dir runs/bias
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import gss
from accelerate import PartialState

from ignoise.engine import latest_checkpoint

CONFIG = Path(__file__).parent / "configs" / "gss_bias.yaml"
#: variant -> its row in the poster's table
ROWS = {"ce": "Δg_ori (CE)", "screening": "Δg_sc (screening)", "dividemix": "Δg_ssl (DivideMix)",
        "gss_ssl": "Δg_gss (GSS-SSL)", "gss_ce": "Δg_gss (GSS-CE)"}


def main(argv=None) -> dict:
    argv = sys.argv[1:] if argv is None else list(argv)
    own = argparse.ArgumentParser(add_help=False)
    own.add_argument("--variants", nargs="+", choices=tuple(gss.VARIANTS))
    own.add_argument("--bias-epochs", nargs="+", type=int)
    own.add_argument("--config", type=Path, default=CONFIG)
    own.add_argument("--resume", action="store_true")
    args, rest = own.parse_known_args(argv)
    cfg = gss.parse(rest, args.config, __doc__)
    variants = args.variants or cfg.variants
    epochs = [e for e in (args.bias_epochs or cfg.bias_epochs) if e <= cfg.epochs] or [cfg.epochs]
    out = Path(cfg.output_dir)

    runs = {}
    for variant in variants:
        sub = out / variant
        resume = ["--resume"] if args.resume and latest_checkpoint(sub) is not None else []
        runs[variant] = gss.main([*rest, "--variant", variant, "--gradient-bias",
                                  "--output-dir", str(sub), *resume], args.config, __doc__)

    results = {
        "method": "gss_bias", "dataset": cfg.dataset, "noise": cfg.noise,
        "noise_rate": cfg.noise_rate, "seed": cfg.seed, "epochs": cfg.epochs,
        "bias_epochs": epochs,
        "variants": {v: {"gradient_bias": r["gradient_bias"], "test_acc_last": r["test_acc_last"],
                         "test_acc_best": r["test_acc_best"]} for v, r in runs.items()},
    }
    results["table"] = format_table(results["variants"], epochs)
    if PartialState().is_main_process:
        (out / "gradient_bias.md").write_text(results["table"] + "\n")
        plot_bias(results["variants"], out / "gradient_bias.png", title=_title(cfg))
        (out / "results.json").write_text(json.dumps(results, indent=2))
        print(results["table"])
    return results


def _row_at(rows: list[dict], epoch: int) -> dict:
    return next(r for r in rows if r["epoch"] == epoch)


def format_table(variants: dict, epochs: list[int]) -> str:
    """A Markdown table in the poster's layout: the bias (x 10^2) at each epoch, then the
    consistency at the last one and the last-epoch test accuracy."""
    head = " | ".join(f"epoch {e}" for e in epochs)
    lines = [f"| gradient bias (x10^2) | {head} | consistency | test acc (last) |",
             "| --- |" + " ---: |" * (len(epochs) + 2)]
    for variant, result in variants.items():
        rows = result["gradient_bias"]
        cells = " | ".join(f"{100 * _row_at(rows, e)['bias']:.2f}" for e in epochs)
        last = _row_at(rows, epochs[-1])
        lines.append(f"| {ROWS.get(variant, variant)} | {cells} | {last['consistency']:.3f} | "
                     f"{100 * result['test_acc_last']:.2f} |")
    return "\n".join(lines)


def plot_bias(variants: dict, path: Path, title: str = "") -> Path:
    """Bias and consistency per epoch of every variant, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for variant, result in variants.items():
        rows = result["gradient_bias"]
        epochs = [r["epoch"] for r in rows]
        left.plot(epochs, [100 * r["bias"] for r in rows], label=ROWS.get(variant, variant))
        right.plot(epochs, [r["consistency"] for r in rows], label=ROWS.get(variant, variant))
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


def _title(cfg) -> str:
    return f"{cfg.dataset}, {cfg.noise} noise {100 * cfg.noise_rate:.0f}%, seed {cfg.seed}"


if __name__ == "__main__":
    main()
