"""Tests of ignoise.noise.report: NoisyLabels and realized_noise on given label arrays."""

import dataclasses
import json

import numpy as np
import pytest

from ignoise.noise import NoisyLabels, realized_noise, symmetric_noise


def test_realized_noise_on_given_arrays():
    clean = np.array([0, 0, 0, 0, 1, 1, 3, 3])
    noisy = np.array([0, 1, 2, 0, 1, 1, 0, 3])
    report = realized_noise(clean, noisy, 4)
    assert isinstance(report, NoisyLabels)
    np.testing.assert_array_equal(report.corrupted, [0, 1, 1, 0, 0, 0, 1, 0])
    assert report.rate == 3 / 8 and report.kind == "given" and np.isnan(report.nominal_rate)
    expected = np.array(
        [
            [0.5, 0.25, 0.25, 0.0],
            [0.0, 1.0, 0.0, 0.0],
            [0.0, 0.0, 1.0, 0.0],  # class 2 absent: identity row
            [0.5, 0.0, 0.0, 0.5],
        ]
    )
    np.testing.assert_array_equal(report.transition, expected)
    assert report.per_class_rate() == [0.5, 0.0, None, 0.5]


def test_realized_noise_copies_inputs_as_int64():
    clean = np.array([0, 1], dtype=np.int32)
    report = realized_noise(clean, [1, 1], 2)
    clean[0] = 1
    assert report.clean.tolist() == [0, 1] and report.clean.dtype == np.int64


def test_summary_is_json_serializable():
    report = symmetric_noise(np.repeat(np.arange(3), 10), 0.2, 3, seed=0)
    summary = json.loads(json.dumps(report.summary(), allow_nan=False))
    assert summary == {
        "kind": "sym",
        "nominal_rate": 0.2,
        "rate": pytest.approx(0.2),
        "num_classes": 3,
        "n": 30,
        "per_class_rate": [pytest.approx(0.2)] * 3,
    }
    given = realized_noise(np.array([0, 1]), np.array([1, 1]), 3).summary()
    json.dumps(given, allow_nan=False)
    assert given["nominal_rate"] is None and given["per_class_rate"] == [1.0, 0.0, None]


def test_report_is_frozen():
    report = realized_noise(np.array([0]), np.array([0]), 2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.rate = 0.5


def test_empty_labels():
    report = realized_noise(np.array([], dtype=int), np.array([], dtype=int), 2)
    assert report.rate == 0.0 and report.summary()["n"] == 0
    np.testing.assert_array_equal(report.transition, np.eye(2))


def test_bad_arrays():
    with pytest.raises(ValueError, match="differ in length: 2 != 3"):
        realized_noise(np.array([0, 1]), np.array([0, 1, 1]), 2)
    with pytest.raises(ValueError, match=r"noisy labels\[1\] = 5 is out of range.*\[0, 2\)"):
        realized_noise(np.array([0, 1]), np.array([0, 5]), 2)
    with pytest.raises(ValueError, match="num_classes must be at least 2, got 0"):
        realized_noise(np.array([0]), np.array([0]), 0)
