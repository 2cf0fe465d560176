"""Noise generators at their boundaries: the checks' messages, the reports' nominal rates, the
maps' defaults and the draws' spread, against hand computations.

Written for what the mutation run showed no test pinned.
"""

import re

import numpy as np
import pytest

from ignoise.noise import (
    asymmetric_noise,
    cifar10_asymmetric_map,
    cifar100_asymmetric_map,
    make_noise,
    pairflip_noise,
    realized_noise,
    symmetric_noise,
    transition_noise,
)
from ignoise.noise.report import check_num_classes
from ignoise.noise.synthetic import CIFAR100_COARSE_LABELS, _check_matrix


def _raises(error, match, fn, *args, **kwargs):
    with pytest.raises(error, match="^" + re.escape(match)):
        fn(*args, **kwargs)


def test_transition_matrix_checks_name_the_offending_entry():
    bad = np.array([[0.5, 0.5], [np.nan, np.inf]])
    _raises(ValueError, "transition matrix entry [1, 0] = nan is not finite", _check_matrix, bad)
    _raises(ValueError, "transition matrix entry [0, 1] = -0.1 is negative: expected "
            "probabilities", _check_matrix, [[1.1, -0.1], [0.5, 0.5]])
    _raises(ValueError, "transition matrix row 1 sums to 0.9, expected 1", _check_matrix,
            [[1.0, 0.0], [0.5, 0.4]])
    _raises(ValueError, "transition matrix must be K x K, got shape (2, 3)", _check_matrix,
            np.ones((2, 3)) / 3)
    _raises(ValueError, "num_classes must be at least 2, got 1", _check_matrix, [[1.0]])
    # Within the tolerance, rows are renormalized to sum to 1 exactly (by division).
    nearly = np.array([[0.6, 0.4 + 4e-7], [0.25, 0.75]])
    fixed = _check_matrix(nearly)
    assert np.allclose(fixed[0], nearly[0] / nearly[0].sum(), rtol=0, atol=1e-15)
    assert np.array_equal(fixed[1], [0.25, 0.75]) and fixed.dtype == np.float64
    assert _check_matrix([[1, 0], [0, 1]]).dtype == np.float64


def test_transition_noise_independent_draws_and_the_empty_case():
    matrix = np.array([[0.7, 0.3, 0.0], [0.0, 1.0, 0.0], [0.2, 0.2, 0.6]])
    labels = np.repeat(np.arange(3), 2000)
    report = transition_noise(labels, matrix, exact=False, seed=4)
    # Reference: one uniform per sample, the noisy label the first class whose cumulative
    # probability exceeds it.
    u = np.random.default_rng(4).random(labels.size)
    cum = np.cumsum(matrix, axis=1)
    want = np.array([int(np.argmax(cum[c] > x)) for c, x in zip(labels, u)])
    assert np.array_equal(report.noisy, want)
    assert report.nominal_rate == pytest.approx(1 - (0.7 + 1.0 + 0.6) / 3)
    empty = transition_noise(np.array([], dtype=np.int64), matrix)
    assert empty.nominal_rate == 0.0 and empty.rate == 0.0


def test_reports_record_the_nominal_rate():
    labels = np.repeat(np.arange(10), 20)
    assert asymmetric_noise(labels, 0.3).nominal_rate == 0.3
    assert pairflip_noise(labels, 0.25, 10).nominal_rate == 0.25
    assert np.isnan(realized_noise(labels, labels, 10).nominal_rate)


def test_report_checks_name_the_array_and_the_type():
    _raises(ValueError, "clean labels[1] = 5 is out of range: expected a class in [0, 3)",
            realized_noise, np.array([0, 5]), np.array([0, 1]), 3)
    _raises(ValueError, "noisy labels[0] = -1 is out of range", realized_noise,
            np.array([0, 1]), np.array([-1, 1]), 3)
    for bad in (True, 2.0, "3"):
        _raises(TypeError, f"num_classes must be an integer, got {bad!r}", check_num_classes, bad)
    assert check_num_classes(np.int64(3)) == 3


def test_realized_transition_of_absent_classes_is_the_identity():
    # Class 1 has a single sample (present), class 2 none: its row stays the identity row.
    report = realized_noise(np.array([0, 0, 1]), np.array([0, 1, 0]), 3)
    assert report.transition.tolist() == [[0.5, 0.5, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]


def test_asymmetric_maps():
    target = cifar10_asymmetric_map()
    assert target.dtype == np.int64
    superclass = cifar100_asymmetric_map()
    assert superclass.shape == (100,) and superclass.dtype == np.int64
    assert np.array_equal(superclass, cifar100_asymmetric_map("superclass"))
    # Every class flips within its super-class, never to itself (five members each).
    assert np.array_equal(CIFAR100_COARSE_LABELS[superclass], CIFAR100_COARSE_LABELS)
    assert not np.any(superclass == np.arange(100))
    blocks = cifar100_asymmetric_map("blocks")
    assert blocks.dtype == np.int64 and blocks[:10].tolist() == [1, 2, 3, 4, 0, 6, 7, 8, 9, 5]
    _raises(ValueError, "unknown CIFAR-100 asymmetric mapping 'fine': expected 'superclass' or "
            "'blocks'", cifar100_asymmetric_map, "fine")


def test_symmetric_noise_draws_spread_over_the_classes():
    labels = np.repeat(np.arange(10), 1000)
    other = symmetric_noise(labels, 0.5, 10, seed=2)
    flipped = other.noisy[other.corrupted]
    # Excluding the true class: each of the 9 others gets about 1/9 of a class's flips.
    for c in range(10):
        moved = flipped[labels[other.corrupted] == c]
        assert c not in moved
        assert np.bincount(moved, minlength=10).max() < 2 * 500 / 9
    # Including it: a chosen sample keeps its label with probability 1/K.
    keep = symmetric_noise(labels, 0.5, 10, include_true_class=True, seed=2)
    assert keep.rate == pytest.approx(0.5 * 9 / 10, abs=0.02)
    counts = np.bincount(keep.noisy[labels == 0], minlength=10)
    assert counts[0] > 500 and counts[1:].min() > 20  # every class drawn, class 0 included
    # The two-class case: including the true class halves the realized rate.
    two = symmetric_noise(np.repeat([0, 1], 2000), 0.6, 2, include_true_class=True, seed=1)
    assert two.rate == pytest.approx(0.3, abs=0.03)


def test_make_noise_instance_needs_features():
    _raises(ValueError, "noise kind 'instance' needs features: got features=None",
            make_noise, "instance", np.zeros(4, dtype=np.int64), 0.2, 2)


def test_instance_noise_boundaries():
    from ignoise.noise import instance_dependent_noise

    labels = np.array([0, 1, 1, 0])
    _raises(ValueError, "features have no rows but there are 4 labels: expected one feature row "
            "per label", instance_dependent_noise, labels, np.float64(1.0), 0.2, 2)
    _raises(ValueError, "features have 3 rows but there are 4 labels: expected one feature row "
            "per label", instance_dependent_noise, labels, np.ones((3, 2)), 0.2, 2)
    # One scalar feature per sample (1-D features) is a valid input.
    assert instance_dependent_noise(labels, np.arange(4.0), 0.2, 2).noisy.shape == (4,)
    clean = instance_dependent_noise(labels, np.ones((4, 2)), 0.0, 2)
    assert clean.kind == "instance" and clean.nominal_rate == 0.0 and clean.rate == 0.0
    assert np.array_equal(clean.noisy, labels)
    empty = instance_dependent_noise(np.array([], dtype=np.int64), np.ones((0, 2)), 0.3, 2)
    assert empty.noisy.size == 0 and empty.nominal_rate == 0.3


def test_instance_noise_reaches_every_present_class():
    from ignoise.noise import instance_dependent_noise

    rng = np.random.default_rng(0)
    # Class 1 is absent and class 3 has a single sample: classes after them still get noise.
    labels = np.array([0] * 100 + [2] * 100 + [3])
    features = rng.normal(size=(labels.size, 5))
    flips = [instance_dependent_noise(labels, features, 0.9, 4, std=0.0, seed=s)
             for s in range(8)]
    assert all(r.corrupted[100:200].mean() > 0.8 for r in flips)
    assert sum(bool(r.corrupted[200]) for r in flips) >= 5  # the lone sample flips at 0.9


def test_instance_noise_with_normalized_features_ignores_their_scale():
    from ignoise.noise import instance_dependent_noise

    rng = np.random.default_rng(1)
    labels = rng.integers(0, 4, size=300)
    features = rng.normal(size=(300, 6))
    base = instance_dependent_noise(labels, features, 0.4, 4, seed=3)
    for scale in (0.05, 30.0):
        scaled = instance_dependent_noise(labels, scale * features, 0.4, 4, seed=3)
        assert np.array_equal(scaled.noisy, base.noisy)
