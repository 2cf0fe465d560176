"""Which training samples are mislabeled: rankings from a run's per-sample evidence.

Every run writes ``evidence.npz`` into its folder (:class:`ignoise.handlers.SampleEvidence`).
:func:`load_evidence` reads and checks it, :func:`label_issues` ranks the samples into a table
(a pandas DataFrame), :func:`detection_metrics` measures a ranking against the corruption mask
where the clean labels are known; :mod:`~ignoise.label_quality.cleanlab_comparison` sets
cleanlab's rankings beside ignoise's and :mod:`~ignoise.label_quality.grid` draws the top
suspects. ``python -m ignoise label-issues RUN_DIR`` does all of it. Importing this package
imports neither torch nor pandas.

Examples:
    >>> from ignoise.label_quality import Evidence, label_issues, detection_metrics
    >>> ev = Evidence.from_predictions([0, 1, 1, 0], [[0.9, 0.1], [0.7, 0.3], [0.2, 0.8],
    ...                                               [0.4, 0.6]], clean_label=[0, 0, 1, 1])
    >>> table = label_issues(ev)
    >>> table["index"].tolist()
    [1, 3, 2, 0]
    >>> detection_metrics(table["score"], table["corrupted"])["auroc"]
    1.0
"""

from .detection_metrics import detection_metrics, precision_at_k, rank_order
from .evidence import EVIDENCE_FILE, SIGNALS, Evidence, EvidenceError, evidence_path, load_evidence
from .ranking import (
    SCORE_FORMULAS,
    SCORES,
    label_issues,
    resolve_score,
    sample_scores,
    suggested_labels,
)

__all__ = ["EVIDENCE_FILE", "SIGNALS", "Evidence", "EvidenceError", "evidence_path",
           "load_evidence", "SCORES", "SCORE_FORMULAS", "resolve_score", "sample_scores",
           "suggested_labels", "label_issues", "detection_metrics", "precision_at_k",
           "rank_order"]
