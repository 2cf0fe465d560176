"""The scores, the suggested labels and the ranked table."""

import numpy as np
import pandas as pd
import pytest
from evidence_files import evidence_arrays, write_evidence

from ignoise.label_quality import (
    Evidence,
    EvidenceError,
    label_issues,
    resolve_score,
    sample_scores,
)

# probs ranks 3, 0, 1, 2 (1 - p_given = .8, .6, .55, .2); the margin ranks 1 above 0 (sample 0
# has the larger margin: its competitors share the rest); loss_mean and the method signals are
# set to rank otherwise again.
GIVEN = [0, 1, 2, 1]
CLEAN = [0, 0, 2, 2]
PROBS = [[0.40, 0.30, 0.30], [0.52, 0.45, 0.03], [0.10, 0.10, 0.80], [0.20, 0.20, 0.60]]
LOSS_MEAN = np.array([0.5, 2.0, 0.1, 1.0], np.float32)
CLEAN_PROB = np.array([0.9, 0.05, 0.6, 0.3], np.float32)
JOINT_PROB = np.array([0.2, 0.9, 0.5, 0.6], np.float32)
JOINT_LABEL = np.array([1, 1, 2, 2])


def evidence(**signals) -> Evidence:
    arrays = evidence_arrays(GIVEN, PROBS, clean=CLEAN, **signals)
    arrays["loss_mean"] = LOSS_MEAN
    return Evidence(**arrays)


def margin_score(i):  # -margin_mean; the helper's margin_mean is the margin minus 0.1
    p = np.array(PROBS[i])
    others = np.delete(p, GIVEN[i])
    return -(np.log(p[GIVEN[i]]) - np.log(others.max())) + 0.1


@pytest.mark.parametrize("score, order, values", [
    ("probs", [3, 0, 1, 2], [0.8, 0.6, 0.55, 0.2]),
    ("loss", [1, 3, 0, 2], [2.0, 1.0, 0.5, 0.1]),
    ("margin", [3, 1, 0, 2], [margin_score(i) for i in (3, 1, 0, 2)]),
    ("clean_prob", [1, 3, 2, 0], [0.95, 0.7, 0.4, 0.1]),
    ("joint", [0, 2, 3, 1], [0.8, 0.5, 0.4, 0.1]),
])
def test_each_score_ranks_by_its_formula(score, order, values):
    table = label_issues(evidence(clean_prob=CLEAN_PROB, joint_prob_given=JOINT_PROB,
                                  joint_label=JOINT_LABEL), score=score)
    assert table.attrs["score"] == score
    assert table["index"].tolist() == order
    assert table["score"].tolist() == pytest.approx(values, rel=1e-5)
    assert table["given_label"].tolist() == [GIVEN[i] for i in order]


def test_margin_is_the_negated_area_under_the_margin():
    # sample 0: log .4 - log .3; sample 1: log .45 - log .52 (negative: prefers class 0)
    scores = sample_scores(evidence(), "margin")
    assert scores[0] == pytest.approx(-np.log(0.4 / 0.3) + 0.1, rel=1e-5)
    assert scores[1] == pytest.approx(-np.log(0.45 / 0.52) + 0.1, rel=1e-5)


def test_auto_picks_the_method_signal():
    assert resolve_score(evidence()) == "margin"  # no signal of its own: the AUM
    assert resolve_score(evidence(joint_prob_given=JOINT_PROB, joint_label=JOINT_LABEL)) == "joint"
    both = evidence(clean_prob=CLEAN_PROB, joint_prob_given=JOINT_PROB)
    assert resolve_score(both) == "clean_prob"
    table = label_issues(evidence(clean_prob=CLEAN_PROB))
    assert table.attrs["score"] == "clean_prob"
    assert table["index"].tolist() == [1, 3, 2, 0]  # not probs' [3, 0, 1, 2]


def test_suggested_label_is_the_argmax_or_the_joint_label():
    ev = evidence(joint_prob_given=JOINT_PROB, joint_label=JOINT_LABEL)
    by_probs = label_issues(ev, "probs").sort_values("index")
    assert by_probs["suggested_label"].tolist() == [0, 0, 2, 2]
    by_joint = label_issues(ev, "joint").sort_values("index")
    assert by_joint["suggested_label"].tolist() == [1, 1, 2, 2]


def test_columns_and_values():
    table = label_issues(evidence(clean_prob=CLEAN_PROB), "probs")
    assert list(table.columns) == [
        "index", "given_label", "suggested_label", "score", "p_given", "loss_mean", "loss_last",
        "margin_mean", "margin_last", "clean_prob", "corrupted", "clean_label"]
    row = table.iloc[0]  # sample 3: given 1, clean 2
    assert (row["index"], row["given_label"], row["suggested_label"]) == (3, 1, 2)
    assert row["p_given"] == pytest.approx(0.2) and row["clean_prob"] == pytest.approx(0.3)
    assert bool(row["corrupted"]) and row["clean_label"] == 2
    assert table["corrupted"].dtype == bool
    assert table.attrs["method"] == "ce" and table.attrs["epochs"] == 3


def test_no_clean_labels_no_corrupted_column():
    arrays = evidence_arrays(GIVEN, PROBS)
    table = label_issues(Evidence(**arrays))
    assert "corrupted" not in table and "clean_label" not in table


@pytest.mark.parametrize("score, needs", [("clean_prob", "clean_prob"),
                                          ("joint", "joint_prob_given")])
def test_a_missing_signal_names_what_the_file_has(score, needs):
    ev = evidence(joint_prob_given=JOINT_PROB) if score == "clean_prob" else evidence()
    with pytest.raises(EvidenceError) as err:
        label_issues(ev, score)
    message = str(err.value)
    assert f"score {score!r} needs {needs}" in message
    assert ("it has joint_prob_given" if score == "clean_prob" else
            "it has no method signal") in message


def test_unknown_score():
    with pytest.raises(ValueError, match="unknown score 'aum': expected one of auto, probs"):
        label_issues(evidence(), "aum")


def test_reads_a_run_folder_and_round_trips_through_csv(tmp_path):
    write_evidence(tmp_path, GIVEN, PROBS, clean=CLEAN, method="dividemix",
                   clean_prob=CLEAN_PROB)
    table = label_issues(tmp_path)
    assert table.attrs["score"] == "clean_prob" and table.attrs["method"] == "dividemix"
    table.to_csv(tmp_path / "t.csv", index=False)
    back = pd.read_csv(tmp_path / "t.csv")
    assert list(back.columns) == list(table.columns)
    assert back["corrupted"].dtype == bool and back["index"].tolist() == [1, 3, 2, 0]
    pd.testing.assert_frame_equal(back, table, check_dtype=False, check_exact=False,
                                  rtol=1e-6)
