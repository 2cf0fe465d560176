"""ignoise's ranking side by side with cleanlab's, on the same run's predicted probabilities.

cleanlab (confident learning, Northcutt et al., 2021) finds label issues from a model's
predicted probabilities: :func:`cleanlab.filter.find_label_issues` flags a set,
:func:`cleanlab.rank.get_label_quality_scores` ranks every sample. It expects out-of-sample
(cross-validated) probabilities; a run's ``probs`` are in-sample (the networks trained on these
samples and fit part of their noisy labels), so cleanlab's figures here are best read as a lower
bound of what it does with cross-validation. Needs the ``cleanlab`` extra
(``pip install ignoise[cleanlab]``).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

import numpy as np

from .detection_metrics import detection_metrics, rank_order
from .evidence import Evidence

__all__ = ["CleanlabComparison", "CleanlabNotInstalled", "compare_with_cleanlab",
           "format_comparison", "probabilities_caveat"]

_INSTALL = "pip install ignoise[cleanlab] (or pip install 'cleanlab>=2.5')"


class CleanlabNotInstalled(ImportError):
    """``--compare cleanlab`` without cleanlab installed."""


@dataclass
class CleanlabComparison:
    """The result of :func:`compare_with_cleanlab`.

    Attributes:
        figures: a pandas DataFrame, one row per ranking (ignoise's, cleanlab's rank,
            cleanlab's ``find_label_issues``), with ``auroc``, ``average_precision``,
            ``precision_at_k`` (NaN where the clean labels are unknown, and for the flagged set,
            which is not a ranking), ``flagged`` (the size of cleanlab's set; the rankings take
            their top as many), ``precision_flagged`` and ``recall_flagged`` of those, and
            ``overlap`` (how many of them cleanlab's set holds).
        issues: ``(N,)`` bool, cleanlab's ``find_label_issues`` mask.
        quality: ``(N,)`` cleanlab's label quality scores (lower = more likely mislabeled).
        caveat: how the probabilities were obtained, and why cleanlab expects others.
    """

    figures: object
    issues: np.ndarray
    quality: np.ndarray
    caveat: str


def probabilities_caveat(evidence: Evidence) -> str:
    """Says how the run's ``probs`` were obtained and that cleanlab expects out-of-sample ones.

    Examples:
        >>> ev = Evidence.from_predictions([0, 1], [[0.9, 0.1], [0.8, 0.2]], method="gal")
        >>> "network C" in probabilities_caveat(ev)
        True
    """
    if evidence.method.startswith("gal"):
        predictor = "network C (GAL's reported predictor)"
    elif evidence.method == "dividemix":
        predictor = "the mean of DivideMix's two networks"
    else:
        predictor = f"the {evidence.method} run's reported predictor"
    return (
        f"cleanlab expects out-of-sample (cross-validated) predicted probabilities; these are "
        f"in-sample: the class probabilities of {predictor} after its last epoch (epoch "
        f"{evidence.epochs}), in evaluation mode without augmentation, of the very samples it "
        f"trained on. A trained network fits part of the noisy labels, so cleanlab's figures "
        f"here likely understate what it does with cross-validated probabilities "
        f"(cleanlab.count.estimate_cv_predicted_probabilities)."
    )


def compare_with_cleanlab(evidence: Evidence, scores, score_label: str = "ignoise", *,
                          filter_by: str = "prune_by_noise_rate",
                          rank_method: str = "self_confidence",
                          n_jobs: int | None = 1) -> CleanlabComparison:
    """Run cleanlab on ``evidence.probs`` and measure its rankings with ignoise's.

    Args:
        evidence: the run's evidence.
        scores: ``(N,)`` ignoise's scores (higher = more likely mislabeled).
        score_label: the name of ignoise's row (e.g. ``"ignoise (1 - clean_prob)"``).
        filter_by: ``find_label_issues``'s method.
        rank_method: ``get_label_quality_scores``'s method.
        n_jobs: ``find_label_issues``'s processes (None: every core).

    Raises:
        CleanlabNotInstalled: naming ``pip install ignoise[cleanlab]``.
    """
    try:
        from cleanlab.filter import find_label_issues
        from cleanlab.rank import get_label_quality_scores
    except ImportError as err:
        raise CleanlabNotInstalled(f"--compare cleanlab needs cleanlab, which is not "
                                   f"installed ({err}): {_INSTALL}") from None
    import pandas as pd

    labels = evidence.given_label
    probs = evidence.probs.astype(np.float64)
    probs /= probs.sum(1, keepdims=True)  # float32 rounding; cleanlab checks the sums
    issues = np.asarray(find_label_issues(labels, probs, filter_by=filter_by, n_jobs=n_jobs),
                        dtype=bool)
    quality = np.asarray(get_label_quality_scores(labels, probs, method=rank_method),
                         dtype=np.float64)
    corrupted = evidence.corrupted
    flagged = int(issues.sum())
    rows = {}
    for name, ranking in ((score_label, np.asarray(scores, dtype=np.float64)),
                          (f"cleanlab rank ({rank_method})", 1.0 - quality)):
        top = np.zeros(len(ranking), dtype=bool)
        top[rank_order(ranking)[:flagged]] = True
        rows[name] = {**_ranking_figures(ranking, corrupted), **_set_figures(top, corrupted),
                      "overlap": int((top & issues).sum())}
    rows[f"cleanlab find_label_issues ({filter_by})"] = {
        "auroc": np.nan, "average_precision": np.nan, "precision_at_k": np.nan,
        **_set_figures(issues, corrupted), "overlap": flagged,
    }
    figures = pd.DataFrame.from_dict(rows, orient="index")
    figures.index.name = "ranking"
    return CleanlabComparison(figures, issues, quality, probabilities_caveat(evidence))


def _ranking_figures(scores: np.ndarray, corrupted: np.ndarray | None) -> dict:
    if corrupted is None:
        return {"auroc": np.nan, "average_precision": np.nan, "precision_at_k": np.nan}
    m = detection_metrics(scores, corrupted)
    return {key: m[key] for key in ("auroc", "average_precision", "precision_at_k")}


def _set_figures(flagged: np.ndarray, corrupted: np.ndarray | None) -> dict:
    n = int(flagged.sum())
    if corrupted is None:
        return {"flagged": n, "precision_flagged": np.nan, "recall_flagged": np.nan}
    hits = int((flagged & corrupted).sum())
    return {"flagged": n,
            "precision_flagged": hits / n if n else np.nan,
            "recall_flagged": hits / corrupted.sum() if corrupted.any() else np.nan}


def format_comparison(comparison: CleanlabComparison) -> str:
    """The figures as aligned text, with the caveat about the probabilities."""
    figures = comparison.figures
    width = max(len(str(name)) for name in figures.index)
    head = (f"{'ranking':<{width}}  {'AUROC':>6}  {'AP':>6}  {'prec@k':>6}  {'flagged':>7}  "
            f"{'prec':>6}  {'recall':>6}  {'overlap':>7}")
    lines = [head]
    for name, row in figures.iterrows():
        cells = [_cell(row[key]) for key in ("auroc", "average_precision", "precision_at_k")]
        sets = [_cell(row[key]) for key in ("precision_flagged", "recall_flagged")]
        lines.append(f"{name:<{width}}  {cells[0]:>6}  {cells[1]:>6}  {cells[2]:>6}  "
                     f"{int(row['flagged']):>7}  {sets[0]:>6}  {sets[1]:>6}  "
                     f"{int(row['overlap']):>7}")
    lines.append(textwrap.fill(
        "flagged: the size of cleanlab's find_label_issues set; the rankings take their top as "
        "many (prec, recall: of those; overlap: how many of them cleanlab flagged).", 100,
        break_on_hyphens=False))
    lines.append(textwrap.fill("note: " + comparison.caveat, 100, break_on_hyphens=False))
    return "\n".join(lines)


def _cell(value) -> str:
    return "-" if value is None or np.isnan(value) else f"{value:.3f}"
