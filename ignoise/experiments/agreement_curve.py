"""The contrast experiment of the GAL paper's Figure 1: the agreement ratio of two identically
initialized networks over training, for several symmetric noise rates.

Both networks are trained with plain cross-entropy (nothing is masked: GAL's ``contrast``
variant): on identical batches for the warm-up epochs, where every gradient pair agrees, then
on CDAS batches, where the fraction of parameters whose gradients agree (cosine >= tau) falls,
and falls further the noisier the labels. One run per noise rate, then
``agreement_ratio.png``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from .runs import run_once

__all__ = ["main", "plot", "moving_average"]


def main(argv=None, *, config: Path, description: str | None = None) -> Path:
    """Run one contrast run per rate; flags this parser does not know go to every run."""
    p = argparse.ArgumentParser(description=description or __doc__.splitlines()[0])
    p.add_argument("--dataset", default="digits")
    p.add_argument("--data-root", default="data")
    p.add_argument("--rates", type=float, nargs="+", default=[0.0, 0.2, 0.5, 0.8])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--config", type=Path, default=config)
    p.add_argument("--output-dir", type=Path, default=Path("runs/gal_agreement_curve"))
    args, extra = p.parse_known_args(argv)

    curves = {}
    for rate in args.rates:
        noise = ["--noise", "sym" if rate > 0 else "none", "--noise-rate", str(rate)]
        result = run_once(args.output_dir / f"sym_{rate:g}",
                          ["--method", "gal", "--variant", "contrast", "--dataset", args.dataset,
                           "--data-root", args.data_root, "--seed", str(args.seed), *noise,
                           *extra], args.config)
        curves[rate] = result["agreement_ratio_curve"]
    (args.output_dir / "curves.json").write_text(json.dumps(curves))
    return plot(curves, args.output_dir / "agreement_ratio.png", args.dataset)


def plot(curves: dict, path: Path, dataset: str) -> Path:
    """One panel per noise rate, agreement ratio (by element, and by tensor) per iteration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(curves), figsize=(3.2 * len(curves), 3), sharey=True,
                             squeeze=False)
    for ax, (rate, curve) in zip(axes[0], curves.items()):
        for key, label in (("agreement_ratio", "by element"),
                           ("agreement_ratio_tensors", "by tensor")):
            ax.plot(curve["iteration"], moving_average(curve[key]), label=label, lw=1)
        ax.set_title(f"{dataset}, {100 * rate:g}% symmetric noise", fontsize=9)
        ax.set_xlabel("iteration")
        ax.set_ylim(0, 1.05)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("agreement ratio")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"figure: {path}")
    return path


def moving_average(values: list[float], width: int = 9) -> np.ndarray:
    """A centred moving average (the per-iteration ratio is noisy); the ends use what exists.

    Examples:
        >>> moving_average([0.0, 1.0, 2.0], width=3).tolist()
        [0.5, 1.0, 1.5]
    """
    v = np.asarray(values, dtype=float)
    kernel = np.ones(width)
    return np.convolve(v, kernel, "same") / np.convolve(np.ones_like(v), kernel, "same")
