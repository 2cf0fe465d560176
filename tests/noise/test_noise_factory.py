"""Tests of ignoise.noise.factory: make_noise dispatches every kind and checks its options."""

import numpy as np
import pytest

from ignoise.noise import (
    asymmetric_noise,
    instance_dependent_noise,
    make_noise,
    pairflip_noise,
    symmetric_noise,
)

K = 10
LABELS = np.random.default_rng(0).integers(0, K, size=1000)
FEATURES = np.random.default_rng(1).normal(size=(1000, 16))


@pytest.mark.parametrize(
    "kind, options, direct",
    [
        ("sym", {}, lambda: symmetric_noise(LABELS, 0.3, K, seed=5)),
        (
            "sym",
            {"include_true_class": True, "exact": False},
            lambda: symmetric_noise(LABELS, 0.3, K, include_true_class=True, exact=False, seed=5),
        ),
        ("asym", {"dataset": "cifar10"}, lambda: asymmetric_noise(LABELS, 0.3, seed=5)),
        ("asym", {}, lambda: asymmetric_noise(LABELS, 0.3, seed=5)),  # inferred from K = 10
        ("pairflip", {"exact": False}, lambda: pairflip_noise(LABELS, 0.3, K, exact=False, seed=5)),
        (
            "instance",
            {"std": 0.05},
            lambda: instance_dependent_noise(LABELS, FEATURES, 0.3, K, std=0.05, seed=5),
        ),
    ],
)
def test_dispatches_to_the_generator(kind, options, direct):
    report = make_noise(kind, LABELS, 0.3, K, features=FEATURES, seed=5, **options)
    expected = direct()
    np.testing.assert_array_equal(report.noisy, expected.noisy)
    assert report.kind == expected.kind == kind


def test_none_is_the_identity():
    report = make_noise("none", LABELS, 0.4, K)
    np.testing.assert_array_equal(report.noisy, LABELS)
    assert report.rate == 0.0 and report.kind == "none" and report.nominal_rate == 0.0
    np.testing.assert_array_equal(report.transition, np.eye(K))


def test_asym_cifar100_options_pass_through():
    labels = np.repeat(np.arange(100), 10)
    blocks = make_noise("asym", labels, 0.5, 100, cifar100_mapping="blocks")
    superclass = make_noise("asym", labels, 0.5, 100, dataset="cifar100")
    assert blocks.transition[0, 1] == 0.5 and superclass.transition[0, 51] == 0.5  # apple->mushroom


def test_asym_without_a_map_names_kind_and_datasets():
    message = r"'asym' has no map for dataset 'digits'.*cifar10.*cifar100"
    with pytest.raises(ValueError, match=message):
        make_noise("asym", LABELS, 0.2, K, dataset="digits")
    with pytest.raises(ValueError, match=r"'asym' has no map for dataset None with 7 classes"):
        make_noise("asym", LABELS % 7, 0.2, 7)
    with pytest.raises(ValueError, match=r"'cifar100' expects num_classes = 100, got 10"):
        make_noise("asym", LABELS, 0.2, K, dataset="cifar100")


def test_bad_kind_options_and_missing_features():
    with pytest.raises(ValueError, match=r"unknown noise kind 'symmetric'.*'sym'"):
        make_noise("symmetric", LABELS, 0.2, K)
    with pytest.raises(ValueError, match=r"'pairflip' takes no option 'std'"):
        make_noise("pairflip", LABELS, 0.2, K, std=0.1)
    with pytest.raises(ValueError, match="'instance' needs features"):
        make_noise("instance", LABELS, 0.2, K)
    with pytest.raises(ValueError, match=r"noise rate 1.2 is outside \[0, 1\)"):
        make_noise("asym", LABELS, 1.2, K)
    with pytest.raises(ValueError, match=r"labels\[0\] = 10"):
        make_noise("none", np.array([10]), 0.0, K)
