"""AUROC, average precision and precision at k of a score against the corruption mask."""

import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from ignoise.label_quality import detection_metrics, precision_at_k, rank_order


def test_hand_computed_figures():
    # Positives score 0.9, 0.7, 0.4; negatives 0.8, 0.6, 0.5.
    # AUROC: 0.9 beats 3 negatives, 0.7 beats 2, 0.4 none -> 5 of 9 pairs.
    # AP: positives at ranks 1, 3, 6 -> (1/1 + 2/3 + 3/6) / 3 = 13/18.
    # precision@3: the top 3 hold 2 positives.
    scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    corrupted = [True, False, True, False, False, True]
    m = detection_metrics(scores, corrupted)
    assert m["auroc"] == pytest.approx(5 / 9)
    assert m["average_precision"] == pytest.approx(13 / 18)
    assert m["precision_at_k"] == pytest.approx(2 / 3)
    assert (m["k"], m["num_corrupted"], m["num_samples"]) == (3, 3, 6)


def test_perfect_and_reversed_rankings():
    corrupted = np.array([0, 0, 1, 1, 0])
    perfect = detection_metrics([0.1, 0.2, 0.9, 0.8, 0.3], corrupted)
    assert perfect["auroc"] == perfect["average_precision"] == perfect["precision_at_k"] == 1.0
    reversed_ = detection_metrics([0.9, 0.8, 0.1, 0.2, 0.7], corrupted)
    assert reversed_["auroc"] == 0.0 and reversed_["precision_at_k"] == 0.0


def test_matches_sklearn_on_a_random_ranking():
    rng = np.random.default_rng(0)
    corrupted = rng.random(500) < 0.3
    scores = rng.normal(size=500) + 1.2 * corrupted
    m = detection_metrics(scores, corrupted)
    assert m["auroc"] == pytest.approx(roc_auc_score(corrupted, scores))
    assert m["average_precision"] == pytest.approx(average_precision_score(corrupted, scores))
    k = int(corrupted.sum())
    assert m["k"] == k
    assert m["precision_at_k"] == pytest.approx(corrupted[np.argsort(-scores)[:k]].mean())
    assert 0.75 < m["auroc"] < 0.9  # a real, imperfect ranking


def test_ties_are_broken_by_index():
    assert rank_order([0.5, 0.5, 0.9, 0.5, 0.1]).tolist() == [2, 0, 1, 3, 4]
    # The top 2 of three tied samples are the first two by index: 0 (clean) and 1 (corrupted).
    assert precision_at_k([0.5, 0.5, 0.5, 0.1], [False, True, True, False]) == 0.5
    assert precision_at_k([0.5, 0.5, 0.5, 0.1], [False, True, True, False], k=3) == \
        pytest.approx(2 / 3)


def test_all_or_no_corrupted_gives_nan_not_an_error():
    none = detection_metrics([0.3, 0.2], [False, False])
    assert math.isnan(none["auroc"]) and math.isnan(none["average_precision"])
    assert math.isnan(none["precision_at_k"]) and none["k"] == 0
    every = detection_metrics([0.3, 0.2], [True, True])
    assert math.isnan(every["auroc"]) and every["precision_at_k"] == 1.0


@pytest.mark.parametrize("scores, corrupted, message", [
    ([0.1, 0.2], [True], "same length"),
    ([[0.1, 0.2]], [[True, False]], "1-D"),
    ([0.1, float("nan")], [True, False], "scores[1] = nan"),
    ([0.1, 0.2], [0, 2], "boolean mask"),
])
def test_bad_input(scores, corrupted, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        detection_metrics(scores, corrupted)


def test_k_out_of_range():
    with pytest.raises(ValueError, match=r"k = 3: expected a count in \[0, 2\]"):
        precision_at_k([0.1, 0.2], [True, False], k=3)
