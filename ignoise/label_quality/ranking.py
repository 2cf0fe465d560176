"""Rank a run's training samples by how likely their label is wrong: the scores and the table.

Every score is higher for a more likely mislabeled sample:

============== =========================== ==================================================
``--score``     value                       reads
============== =========================== ==================================================
``probs``       ``1 - probs[i, given_i]``   the run's prediction after its last epoch
``loss``        ``loss_mean``               cross-entropy against the given label, mean over
                                            the epochs
``margin``      ``-margin_mean``            minus the area under the margin (Pleiss et al.,
                                            2020) of the evaluation prediction
``clean_prob``  ``1 - clean_prob``          the GMM's clean probability (DivideMix, GSS-SSL,
                                            screening)
``joint``       ``1 - joint_prob_given``    GAL's joint A+B prediction of the given label
``auto``        the method's own signal     ``clean_prob``, else ``joint``, else ``margin``
============== =========================== ==================================================

Without a signal of its own (CE, GSS-CE), ``auto`` ranks by the area under the margin, the
ranking Pleiss et al. (2020) propose for identifying mislabeled data: it averages over the
whole training, whereas the last prediction (``probs``) comes from a network that has had
time to memorize the wrong labels.

Ties (a saturated signal) are ordered by the area under the margin, lowest first. The
suggested label is the argmax of ``probs`` (of the joint prediction, ``joint_label``, when
scoring by ``joint``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .detection_metrics import rank_order
from .evidence import Evidence, EvidenceError, load_evidence

__all__ = ["SCORES", "SCORE_FORMULAS", "resolve_score", "sample_scores", "suggested_labels",
           "label_issues"]

SCORES = ("auto", "probs", "loss", "margin", "clean_prob", "joint")
SCORE_FORMULAS = {
    "probs": "1 - probs[given]",
    "loss": "loss_mean",
    "margin": "-margin_mean",
    "clean_prob": "1 - clean_prob",
    "joint": "1 - joint_prob_given",
}
# The signal each method score needs.
_NEEDS = {"clean_prob": "clean_prob", "joint": "joint_prob_given"}


def resolve_score(evidence: Evidence, score: str = "auto") -> str:
    """The score ``score`` names for ``evidence``: ``auto`` becomes the method's own signal.

    Raises:
        ValueError: an unknown score.
        EvidenceError: a method score whose signal the evidence lacks (naming what it has).

    Examples:
        >>> ev = Evidence.from_predictions([0, 1], [[0.9, 0.1], [0.8, 0.2]])
        >>> resolve_score(ev), resolve_score(ev, "probs")
        ('margin', 'probs')
    """
    if score not in SCORES:
        raise ValueError(f"unknown score {score!r}: expected one of {', '.join(SCORES)}")
    if score == "auto":
        for name in ("clean_prob", "joint"):
            if getattr(evidence, _NEEDS[name]) is not None:
                return name
        return "margin"
    if score in _NEEDS and getattr(evidence, _NEEDS[score]) is None:
        has = ", ".join(evidence.signals) or "no method signal"
        raise EvidenceError(
            f"{evidence.source}: score {score!r} needs {_NEEDS[score]}, which the run of method "
            f"{evidence.method!r} did not record (it has {has}): choose one of probs, loss, "
            f"margin{''.join(', ' + s for s in _method_scores(evidence))} or auto"
        )
    return score


def _method_scores(evidence: Evidence) -> list[str]:
    return [name for name, key in _NEEDS.items() if getattr(evidence, key) is not None]


def sample_scores(evidence: Evidence, score: str = "auto") -> np.ndarray:
    """``(N,)`` float64 scores, higher = more likely mislabeled (see the module's table).

    Examples:
        >>> ev = Evidence.from_predictions([0, 1], [[0.9, 0.1], [0.8, 0.2]])
        >>> sample_scores(ev, "probs").round(2).tolist()
        [0.1, 0.8]
    """
    score = resolve_score(evidence, score)
    if score == "probs":
        return 1.0 - evidence.p_given.astype(np.float64)
    if score == "loss":
        return evidence.loss_mean.astype(np.float64)
    if score == "margin":
        return -evidence.margin_mean.astype(np.float64)
    if score == "clean_prob":
        return 1.0 - evidence.clean_prob.astype(np.float64)
    return 1.0 - evidence.joint_prob_given.astype(np.float64)


def suggested_labels(evidence: Evidence, score: str = "auto") -> np.ndarray:
    """``(N,)`` the label the run would give each sample: the argmax of ``probs``, or GAL's
    ``joint_label`` when scoring by ``joint``."""
    if resolve_score(evidence, score) == "joint" and evidence.joint_label is not None:
        return evidence.joint_label
    return evidence.probs.argmax(1).astype(np.int64)


def label_issues(run_dir_or_evidence: str | Path | Evidence, score: str = "auto"):
    """The ranked table of suspected mislabeled training samples of a run.

    Args:
        run_dir_or_evidence: a finished run's folder, its ``evidence.npz``, or an
            :class:`Evidence`.
        score: one of :data:`SCORES`.

    Returns:
        A pandas DataFrame, one row per training sample from the highest score to the lowest
        (ties by index), with the columns ``index``, ``given_label``, ``suggested_label``,
        ``score``, the evidence (``p_given`` = ``probs[given]``, ``loss_mean``, ``loss_last``,
        ``margin_mean``, ``margin_last``, the method signals present and other per-sample
        arrays of the file) and, where the clean labels are known, ``corrupted`` and
        ``clean_label``. ``attrs`` holds ``score`` (the score used, ``auto`` resolved),
        ``method``, ``epochs`` and ``source``.

    Raises:
        FileNotFoundError, EvidenceError: see :func:`~ignoise.label_quality.load_evidence`
            and :func:`resolve_score`.

    Examples:
        >>> ev = Evidence.from_predictions([0, 1, 1], [[0.9, 0.1], [0.8, 0.2], [0.4, 0.6]],
        ...                                clean_label=[0, 0, 1])
        >>> table = label_issues(ev, "probs")
        >>> table["index"].tolist(), table["suggested_label"].tolist()
        ([1, 2, 0], [0, 1, 0])
        >>> table.attrs["score"], table["corrupted"].tolist()
        ('probs', [True, False, False])
    """
    import pandas as pd

    evidence = (run_dir_or_evidence if isinstance(run_dir_or_evidence, Evidence)
                else load_evidence(run_dir_or_evidence))
    name = resolve_score(evidence, score)
    scores = sample_scores(evidence, name)
    columns = {
        "index": np.arange(evidence.num_samples, dtype=np.int64),
        "given_label": evidence.given_label,
        "suggested_label": suggested_labels(evidence, name),
        "score": scores,
        "p_given": evidence.p_given,
        "loss_mean": evidence.loss_mean,
        "loss_last": evidence.loss_last,
        "margin_mean": evidence.margin_mean,
        "margin_last": evidence.margin_last,
    }
    for signal in evidence.signals:
        columns[signal] = getattr(evidence, signal)
    for key, values in evidence.extra.items():
        columns.setdefault(key, values)
    if evidence.clean_label is not None:
        columns["corrupted"] = evidence.corrupted
        columns["clean_label"] = evidence.clean_label
    # A method's own signal often saturates (a clean probability of exactly 0 for hundreds of
    # samples): the area under the margin orders those ties.
    order = rank_order(scores, tiebreak=-evidence.margin_mean)
    table = pd.DataFrame({key: np.asarray(values)[order] for key, values in columns.items()})
    table.attrs.update(score=name, method=evidence.method, epochs=evidence.epochs,
                       source=evidence.source)
    return table
