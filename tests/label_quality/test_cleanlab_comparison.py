"""ignoise's ranking beside cleanlab's on the same probabilities."""

import sys

import numpy as np
import pytest
from evidence_files import evidence_arrays, noisy_probs

from ignoise.label_quality import Evidence, detection_metrics, sample_scores
from ignoise.label_quality.cleanlab_comparison import (
    CleanlabNotInstalled,
    compare_with_cleanlab,
    format_comparison,
    probabilities_caveat,
)


def make_evidence(method="dividemix", clean_known=True) -> Evidence:
    rng = np.random.default_rng(0)
    clean = np.arange(300) % 3
    given = clean.copy()
    flip = rng.random(300) < 0.3
    given[flip] = (clean[flip] + rng.integers(1, 3, flip.sum())) % 3
    probs = noisy_probs(given, clean, 3, seed=1, confidence=0.5, noise=0.2)
    clean_prob = np.clip(np.where(flip, 0.3, 0.7) + rng.normal(0, 0.2, 300), 0, 1)
    return Evidence(**evidence_arrays(given, probs, clean=clean if clean_known else None,
                                      method=method, clean_prob=clean_prob.astype(np.float32)))


def test_figures_of_each_ranking():
    cleanlab = pytest.importorskip("cleanlab")
    from cleanlab.filter import find_label_issues

    ev = make_evidence()
    scores = sample_scores(ev, "probs")
    result = compare_with_cleanlab(ev, scores, "ignoise (1 - probs[given])")
    rows = result.figures
    assert list(rows.index) == ["ignoise (1 - probs[given])", "cleanlab rank (self_confidence)",
                                "cleanlab find_label_issues (prune_by_noise_rate)"]
    # cleanlab's self-confidence quality is probs[given]: the same ranking as ignoise's probs.
    assert result.quality == pytest.approx(ev.p_given, abs=1e-6)
    m = detection_metrics(scores, ev.corrupted)
    for row in rows.index[:2]:
        for key in ("auroc", "average_precision", "precision_at_k"):
            assert rows.loc[row, key] == pytest.approx(m[key])
    issues = find_label_issues(ev.given_label, ev.probs / ev.probs.sum(1, keepdims=True),
                               n_jobs=1)
    assert result.issues.tolist() == issues.tolist()
    flagged = int(issues.sum())
    assert 0 < flagged < 300 and (rows["flagged"] == flagged).all()
    last = rows.iloc[2]
    assert np.isnan(last["auroc"]) and last["overlap"] == flagged
    assert last["precision_flagged"] == pytest.approx((issues & ev.corrupted).sum() / flagged)
    assert last["recall_flagged"] == pytest.approx((issues & ev.corrupted).sum()
                                                   / ev.corrupted.sum())
    top = np.argsort(-scores, kind="stable")[:flagged]
    assert rows.iloc[0]["precision_flagged"] == pytest.approx(ev.corrupted[top].mean())
    assert rows.iloc[0]["overlap"] == issues[top].sum()
    assert cleanlab.__version__


def test_without_clean_labels_only_the_sets():
    pytest.importorskip("cleanlab")
    ev = make_evidence(clean_known=False)
    rows = compare_with_cleanlab(ev, sample_scores(ev, "clean_prob")).figures
    assert rows[["auroc", "average_precision", "precision_flagged"]].isna().all().all()
    assert (rows["flagged"] > 0).all()
    text = format_comparison(compare_with_cleanlab(ev, sample_scores(ev, "clean_prob")))
    assert "   -  " in text


def test_the_output_says_the_probabilities_are_in_sample():
    pytest.importorskip("cleanlab")
    ev = make_evidence(method="gal")
    text = format_comparison(compare_with_cleanlab(ev, sample_scores(ev), "ignoise"))
    flat = " ".join(text.split())
    assert "cleanlab expects out-of-sample (cross-validated) predicted probabilities" in flat
    assert "in-sample" in flat and "network C" in flat and "epoch 3" in flat
    assert "likely understate" in flat
    assert text.splitlines()[0].split() == ["ranking", "AUROC", "AP", "prec@k", "flagged",
                                            "prec", "recall", "overlap"]


@pytest.mark.parametrize("method, predictor", [
    ("gal", "network C"), ("gal_ab_ce", "network C"), ("dividemix", "DivideMix's two networks"),
    ("ce", "the ce run's reported predictor"),
])
def test_caveat_names_the_predictor(method, predictor):
    assert predictor in probabilities_caveat(make_evidence(method=method))


def test_missing_cleanlab_names_the_extra(monkeypatch):
    for name in ("cleanlab", "cleanlab.filter", "cleanlab.rank"):
        monkeypatch.setitem(sys.modules, name, None)
    ev = make_evidence()
    with pytest.raises(CleanlabNotInstalled, match=r"pip install ignoise\[cleanlab\]"):
        compare_with_cleanlab(ev, sample_scores(ev))
