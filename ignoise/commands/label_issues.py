"""``python -m ignoise label-issues RUN_DIR``: the suspected mislabeled training samples of a run.

    python -m ignoise label-issues runs/dividemix/digits-sym-0.4-seed0
    python -m ignoise label-issues RUN_DIR --score margin --top 20 --compare cleanlab

Reads the run's per-sample evidence (``RUN_DIR/evidence.npz``) and writes:

- the ranked table (see :func:`ignoise.label_quality.label_issues`) to
  ``RUN_DIR/label_issues.csv``, or to ``--output FILE``. A CSV always works; when pyarrow is
  importable the same table is also written as Parquet beside it (``label_issues.parquet``). An
  ``--output`` ending in ``.parquet`` writes Parquet only (and needs pyarrow);
- a PNG grid of the top suspected images with their given and suggested labels,
  ``RUN_DIR/label_issues.png`` (or next to ``--output``), for image datasets: the command
  rebuilds the run's training set from ``RUN_DIR/run.json`` and checks its labels against the
  evidence (it stops if they differ: the data changed since the run).

It prints the score used and, where the clean labels are known (synthetic noise, CIFAR-N), the
AUROC, the average precision and the precision at k = the number of corrupted samples.
``--compare cleanlab`` adds cleanlab's rankings of the same probabilities (the ``cleanlab``
extra). ``--help`` imports neither torch, pandas nor matplotlib.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

__all__ = ["add_arguments", "run"]

# Kept here as literals so that --help imports nothing of the library's numerical side.
_SCORES = ("auto", "probs", "loss", "margin", "clean_prob", "joint")


class _UsageError(ValueError):
    """A flag that cannot be honoured (found after parsing)."""


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a count >= 0, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``label-issues`` flags to ``parser``.

    Examples:
        >>> parser = argparse.ArgumentParser()
        >>> add_arguments(parser)
        >>> args = parser.parse_args(["runs/ce", "--score", "margin"])
        >>> args.score, args.top, args.grid
        ('margin', 10, 32)
    """
    parser.description = __doc__
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR",
                        help="a finished run's folder (holding evidence.npz), or an evidence .npz")
    parser.add_argument("--score", choices=_SCORES, default="auto",
                        help="auto: the method's own signal (1 - clean_prob, else 1 - "
                             "joint_prob_given, else -margin_mean); probs: 1 - "
                             "probs[given]; loss: loss_mean; margin: -margin_mean; clean_prob: "
                             "1 - clean_prob; joint: 1 - joint_prob_given (default: auto)")
    parser.add_argument("--output", type=Path, default=None, metavar="FILE",
                        help="the table's file, .csv or .parquet (default: "
                             "RUN_DIR/label_issues.csv)")
    parser.add_argument("--top", type=_count, default=10, metavar="N",
                        help="print the first N rows of the table (default: 10)")
    parser.add_argument("--grid", type=_count, default=32, metavar="N",
                        help="images in the PNG grid of the top suspects (default: 32)")
    parser.add_argument("--no-grid", action="store_true", help="write no PNG grid")
    parser.add_argument("--data-root", type=Path, default=None,
                        help="the dataset's folder for the grid, when not run.json's data_root")
    parser.add_argument("--compare", choices=("cleanlab",), default=None,
                        help="also rank with cleanlab on the run's probabilities and print both "
                             "(needs pip install ignoise[cleanlab])")


def run(args: argparse.Namespace):
    """Write the table (and the grid) described by ``args`` and print the figures.

    Bad input (a missing run folder or evidence file, a bad array, a score the run did not
    record, labels that no longer match the data, cleanlab missing) prints one ``error:`` line
    and exits with status 2.

    Returns:
        The table (a pandas DataFrame).
    """
    from ..label_quality import EvidenceError
    from ..label_quality.cleanlab_comparison import CleanlabNotInstalled

    try:
        return _label_issues(args)
    except (FileNotFoundError, EvidenceError, CleanlabNotInstalled, _UsageError) as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None


def _label_issues(args: argparse.Namespace):
    from ..label_quality import (
        SCORE_FORMULAS,
        detection_metrics,
        evidence_path,
        label_issues,
        load_evidence,
        sample_scores,
    )

    file = evidence_path(args.run_dir)
    run_dir = file.parent
    evidence = load_evidence(file)
    table = label_issues(evidence, score=args.score)
    score = table.attrs["score"]
    output = args.output or run_dir / "label_issues.csv"
    if output.suffix not in (".csv", ".parquet"):
        raise _UsageError(f"--output {output}: expected a .csv or .parquet file")
    if output.suffix == ".parquet" and not _has_pyarrow():
        raise _UsageError(f"--output {output}: Parquet needs pyarrow (pip install "
                                "pyarrow), or write a .csv")
    # Rebuild the images first, so that data that no longer matches the run stops everything.
    grid_images, grid_note = None, None
    if args.no_grid or args.grid == 0:
        grid_note = "no grid (--no-grid)"
    else:
        grid_images, grid_note = _suspect_images(run_dir, evidence, table.head(args.grid),
                                                 args.data_root)

    comparison = None
    if args.compare == "cleanlab":
        from ..label_quality.cleanlab_comparison import compare_with_cleanlab

        comparison = compare_with_cleanlab(evidence, sample_scores(evidence, score),
                                           f"ignoise ({SCORE_FORMULAS[score]})")
        table["cleanlab_quality"] = comparison.quality[table["index"]]
        table["cleanlab_issue"] = comparison.issues[table["index"]]

    print(f"label issues of {run_dir}: method {evidence.method}, {evidence.num_samples} training "
          f"samples, {evidence.num_classes} classes, {evidence.epochs} epochs recorded")
    auto = ""
    if args.score == "auto":
        auto = (" (the method's own signal)" if score in ("clean_prob", "joint") else
                " (the area under the margin: the method records no signal of its own)")
    print(f"score: {score} = {SCORE_FORMULAS[score]}{auto}; higher = more likely mislabeled")
    if evidence.corrupted is None:
        print("clean labels unknown: no detection figures")
    else:
        m = detection_metrics(table["score"].to_numpy(), table["corrupted"].to_numpy())
        print(f"corrupted samples: {m['num_corrupted']} of {m['num_samples']} "
              f"({100 * m['num_corrupted'] / m['num_samples']:.1f}%)")
        print(f"  AUROC              {m['auroc']:.4f}")
        print(f"  average precision  {m['average_precision']:.4f}")
        print(f"  precision@{m['k']:<8} {m['precision_at_k']:.4f}")
    if comparison is not None:
        from ..label_quality.cleanlab_comparison import format_comparison

        print(format_comparison(comparison))

    written = _write_table(table, output)
    print(f"wrote {', '.join(str(p) for p in written)} ({len(table)} rows)")
    if args.top:
        import pandas as pd

        with pd.option_context("display.width", 120, "display.max_columns", 20):
            print(f"top {min(args.top, len(table))} suspects:")
            print(table.head(args.top).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    if grid_images is not None:
        from ..label_quality.grid import plot_suspect_grid

        classes, images = grid_images
        png = plot_suspect_grid(
            table.head(len(images)), images, output.with_suffix(".png"), classes=classes,
            title=f"{evidence.method}: the {len(images)} most suspected labels (score {score})",
        )
        print(f"wrote {png} ({len(images)} images)")
    else:
        print(grid_note)
    return table


def _suspect_images(run_dir: Path, evidence, rows, data_root):
    """``((classes, images), None)``, or ``(None, note)`` when there is nothing to show.

    Labels that no longer match the run raise; anything else that keeps the images away (no
    run.json, a dataset of the user's own, missing files) only skips the grid.
    """
    from ..label_quality import EvidenceError
    from ..label_quality.grid import sample_images
    from ..label_quality.run_data import run_training_set

    try:
        dataset = run_training_set(run_dir, evidence.given_label, data_root=data_root)
        images = sample_images(dataset, rows["index"].to_numpy())
    except EvidenceError:
        raise
    except (OSError, ValueError) as err:
        hint = ""
        if isinstance(err, OSError) and (run_dir / "run.json").is_file():
            hint = " (--data-root DIR says where the dataset is; --no-grid skips the images)"
        return None, f"no grid: {err}{hint}"
    if images is None:
        return None, f"no grid: {type(dataset).__name__} holds no images"
    return (getattr(dataset, "classes", None), images), None


def _has_pyarrow() -> bool:
    return importlib.util.find_spec("pyarrow") is not None


def _write_table(table, output: Path) -> list[Path]:
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix == ".parquet":
        table.to_parquet(output, index=False)
        return [output]
    table.to_csv(output, index=False)
    written = [output]
    if _has_pyarrow():
        parquet = output.with_suffix(".parquet")
        table.to_parquet(parquet, index=False)
        written.append(parquet)
    return written
