"""The contrast experiment of the GAL paper's Figure 1: the agreement ratio of two identically
initialized networks over training, for several symmetric noise rates.

Both networks are trained with plain cross-entropy (nothing is masked: ``--variant contrast``):
on identical batches for the warm-up epochs, where every gradient pair agrees, then on CDAS
batches, where the ratio of parameters whose gradients agree (cosine >= tau) falls, and falls
further the noisier the labels. One run per noise rate, then ``agreement_ratio.png``.

    python recipes/gal_agreement_curve.py                       # digits, a few CPU minutes
    python recipes/gal_agreement_curve.py --dataset cifar10 --data-root data --epochs 200
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from gal import main as gal_main

CONFIG = Path(__file__).parent / "configs" / "gal_cifar.yaml"


def main(argv=None) -> Path:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="digits")
    p.add_argument("--data-root", default="data")
    p.add_argument("--rates", type=float, nargs="+", default=[0.0, 0.2, 0.5, 0.8])
    p.add_argument("--epochs", type=int, default=None, help="default: the config's")
    p.add_argument("--warmup-epochs", type=int, default=None, help="epochs of identical batches")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--config", type=Path, default=CONFIG)
    p.add_argument("--output-dir", type=Path, default=Path("runs/gal_agreement_curve"))
    p.add_argument("--no-progress", action="store_true")
    args, extra = p.parse_known_args(argv)  # the rest goes to every run (e.g. --agreement-*)

    curves = {}
    for rate in args.rates:
        out = args.output_dir / f"sym_{rate:g}"
        run = ["--dataset", args.dataset, "--data-root", args.data_root, "--seed", str(args.seed),
               "--noise", "sym" if rate > 0 else "none", "--noise-rate", str(rate),
               "--variant", "contrast", "--output-dir", str(out), *extra]
        run += ["--epochs", str(args.epochs)] if args.epochs else []
        run += ["--warmup-epochs", str(args.warmup_epochs)] if args.warmup_epochs else []
        run += ["--no-progress"] if args.no_progress else []
        curves[rate] = gal_main(run, args.config, __doc__)["agreement_ratio_curve"]
    (args.output_dir / "curves.json").write_text(json.dumps(curves))
    return plot(curves, args.output_dir / "agreement_ratio.png", args.dataset)


def plot(curves: dict, path: Path, dataset: str) -> Path:
    """One panel per noise rate, agreement ratio (by element, and by tensor) per iteration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(curves), figsize=(3.2 * len(curves), 3), sharey=True)
    for ax, (rate, curve) in zip(np.atleast_1d(axes), curves.items()):
        for key, label in (("agreement_ratio", "by element"),
                           ("agreement_ratio_tensors", "by tensor")):
            ax.plot(curve["iteration"], _smooth(curve[key]), label=label, lw=1)
        ax.set_title(f"{dataset}, {100 * rate:g}% symmetric noise", fontsize=9)
        ax.set_xlabel("iteration")
        ax.set_ylim(0, 1.05)
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel("agreement ratio")
    np.atleast_1d(axes)[0].legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    print(f"figure: {path}")
    return path


def _smooth(values: list[float], width: int = 9) -> np.ndarray:
    """A centred moving average (the per-iteration ratio is noisy); the ends use what exists."""
    v = np.asarray(values, dtype=float)
    kernel = np.ones(width)
    return np.convolve(v, kernel, "same") / np.convolve(np.ones_like(v), kernel, "same")


if __name__ == "__main__":
    main()
