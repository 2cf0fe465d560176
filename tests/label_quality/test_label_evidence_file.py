"""Reading ``evidence.npz``: the arrays as the contract gives them, and clear errors naming the
file and the key for everything else."""

import numpy as np
import pytest
from evidence_files import evidence_arrays, write_evidence

from ignoise.label_quality import Evidence, EvidenceError, load_evidence

GIVEN = [0, 1, 2, 1]
PROBS = [[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8], [0.2, 0.2, 0.6]]


def test_reads_every_key(tmp_path):
    file = write_evidence(tmp_path, GIVEN, PROBS, clean=[0, 0, 2, 2], method="dividemix",
                          epochs=7, clean_prob=np.array([0.9, 0.1, 0.8, 0.2], np.float32),
                          overrides={"keep": np.array([1, 0, 1, 1], np.int64)})
    for where in (tmp_path, file):
        ev = load_evidence(where)
        assert (ev.method, ev.epochs, ev.num_samples, ev.num_classes) == ("dividemix", 7, 4, 3)
        assert ev.given_label.dtype == np.int64 and ev.given_label.tolist() == GIVEN
        assert ev.corrupted.tolist() == [False, True, False, True]
        assert ev.p_given.tolist() == pytest.approx([0.7, 0.3, 0.8, 0.2])
        assert ev.signals == ["clean_prob"] and ev.joint_label is None
        assert ev.extra["keep"].tolist() == [1, 0, 1, 1]  # unknown per-sample arrays are kept
        assert ev.source == str(file)


def test_without_clean_labels(tmp_path):
    ev = load_evidence(write_evidence(tmp_path, GIVEN, PROBS))
    assert ev.clean_label is None and ev.corrupted is None and ev.signals == []


def test_from_predictions_computes_loss_and_margin():
    ev = Evidence.from_predictions([0, 1], [[0.8, 0.2], [0.75, 0.25]])
    assert ev.loss_last.tolist() == pytest.approx([-np.log(0.8), -np.log(0.25)], rel=1e-6)
    assert ev.margin_mean.tolist() == pytest.approx([np.log(4), -np.log(3)], rel=1e-6)
    assert ev.epochs == 1


def test_missing_run_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"run folder {tmp_path / 'nope'} does not exist"):
        load_evidence(tmp_path / "nope")


@pytest.mark.parametrize("present, why", [
    ("results.json", "must be finished by a version of ignoise that records per-sample evidence"),
    ("run.json", "the run has not finished"),
    (None, "does not look like a run folder"),
])
def test_folder_without_evidence_says_why(tmp_path, present, why):
    if present:
        (tmp_path / present).write_text("{}")
    with pytest.raises(FileNotFoundError) as err:
        load_evidence(tmp_path)
    assert str(tmp_path / "evidence.npz") in str(err.value) and why in str(err.value)


def test_missing_npz_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="evidence file .*other.npz does not exist"):
        load_evidence(tmp_path / "other.npz")


def test_not_an_npz(tmp_path):
    (tmp_path / "evidence.npz").write_text("hello")
    with pytest.raises(EvidenceError, match="evidence.npz: not a readable evidence file"):
        load_evidence(tmp_path)


def test_missing_keys_are_named(tmp_path):
    write_evidence(tmp_path, GIVEN, PROBS, overrides={"probs": None, "margin_last": None})
    with pytest.raises(EvidenceError) as err:
        load_evidence(tmp_path)
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 'evidence.npz'}: missing probs, margin_last:")
    assert "found epochs, given_label" in message


@pytest.mark.parametrize("overrides, message", [
    ({"loss_mean": np.zeros(3, np.float32)}, "loss_mean has shape (3,): expected (4,)"),
    ({"probs": np.full((3, 3), 1 / 3, np.float32)}, "probs has 3 rows but given_label has 4"),
    ({"probs": np.full(4, 0.5, np.float32)}, "probs must have shape (N, K)"),
    ({"given_label": np.array([0, 1, 3, 1])}, "given_label[2] = 3 is out of range: expected a "
                                              "class in [0, 3)"),
    ({"given_label": np.array([0.0, 1, 2, 1])}, "given_label must be integers"),
    ({"clean_label": np.array([0, -1, 2, 2])}, "clean_label[1] = -1 is out of range"),
    ({"joint_label": np.array([0, 1, 2])}, "joint_label has shape (3,): expected (4,)"),
    ({"clean_prob": np.array([0.5, 1.5, 0.5, 0.5], np.float32)}, "clean_prob[1] = 1.5 is not "
                                                                  "a probability"),
    ({"probs": np.array(PROBS, np.float32) * 3}, "not a distribution"),
    ({"probs": np.array(PROBS, np.float32) * 0.9}, "probs[0] sums to 0.9"),
    ({"margin_mean": np.array([0, np.nan, 0, 0], np.float32)}, "margin_mean[1] = nan: expected "
                                                               "finite values"),
    ({"epochs": np.int64(0)}, "epochs = 0: expected a positive integer"),
    ({"method": np.int64(3)}, "method = 3: expected a string"),
])
def test_bad_arrays_name_the_file_and_key(tmp_path, overrides, message):
    write_evidence(tmp_path, GIVEN, PROBS, overrides=overrides)
    with pytest.raises(EvidenceError) as err:
        load_evidence(tmp_path)
    assert str(err.value).startswith(str(tmp_path / "evidence.npz") + ": ")
    assert message in str(err.value)


def test_constructor_checks_too():
    arrays = evidence_arrays(GIVEN, PROBS)
    arrays["probs"] = arrays["probs"][:, :1]
    with pytest.raises(EvidenceError, match="K >= 2"):
        Evidence(**arrays, source="mine")
