"""Tests of ignoise.noise.instance: instance-dependent noise of Xia et al. (2020)."""

import numpy as np
import pytest

from ignoise.noise import instance_dependent_noise

K, N, D = 10, 5000, 64


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    return rng.integers(0, K, size=N), rng.normal(size=(N, D))


@pytest.mark.parametrize("rate", [0.2, 0.4])
def test_realized_rate_close_to_nominal(data, rate):
    labels, features = data
    report = instance_dependent_noise(labels, features, rate, K, seed=1)
    assert abs(report.rate - rate) < 0.03
    assert report.kind == "instance" and report.nominal_rate == rate
    np.testing.assert_array_equal(report.clean, labels)
    np.testing.assert_array_equal(report.corrupted, report.noisy != labels)
    assert report.noisy.min() >= 0 and report.noisy.max() < K


def test_flips_depend_on_features(data):
    labels, features = data
    other = np.random.default_rng(5).normal(size=features.shape)
    a = instance_dependent_noise(labels, features, 0.4, K, seed=1)
    b = instance_dependent_noise(labels, other, 0.4, K, seed=1)
    # Same seed, so the same flip rates and draws: only the features differ.
    assert not np.array_equal(a.noisy, b.noisy)


def test_identical_large_features_flip_to_one_class():
    # Unnormalized large inputs make the softmax one-hot, as with raw images in the paper's code:
    # samples with the same input and label all flip to the same class.
    labels = np.repeat(np.arange(K), 300)
    features = np.tile(np.random.default_rng(2).normal(size=D) * 100, (labels.size, 1))
    report = instance_dependent_noise(labels, features, 0.3, K, seed=3, normalize=False)
    for c in range(K):
        targets = np.unique(report.noisy[(labels == c) & report.corrupted])
        assert targets.size == 1 and targets[0] != c


def test_normalized_features_are_scale_invariant(data):
    labels, features = data
    a = instance_dependent_noise(labels, features, 0.3, K, seed=4)
    b = instance_dependent_noise(labels, features * 7.5, 0.3, K, seed=4)
    np.testing.assert_array_equal(a.noisy, b.noisy)


def test_image_shaped_features_are_flattened(data):
    labels, features = data
    flat = instance_dependent_noise(labels, features, 0.3, K, seed=4)
    images = instance_dependent_noise(labels, features.reshape(N, 4, 4, 4), 0.3, K, seed=4)
    np.testing.assert_array_equal(flat.noisy, images.noisy)


def test_rate_zero_keeps_clean_labels(data):
    labels, features = data
    report = instance_dependent_noise(labels, features, 0.0, K)
    assert report.rate == 0.0
    np.testing.assert_array_equal(report.noisy, labels)


def test_zero_std_gives_constant_flip_rate(data):
    labels, features = data
    report = instance_dependent_noise(labels, features, 0.25, K, std=0.0, seed=6)
    assert abs(report.rate - 0.25) < 5 * np.sqrt(0.25 * 0.75 / N)


def test_determinism(data):
    labels, features = data
    state = np.random.get_state()
    a = instance_dependent_noise(labels, features, 0.3, K, seed=7)
    b = instance_dependent_noise(labels, features, 0.3, K, seed=7)
    c = instance_dependent_noise(labels, features, 0.3, K, seed=8)
    np.testing.assert_array_equal(a.noisy, b.noisy)
    assert not np.array_equal(a.noisy, c.noisy)
    assert np.array_equal(np.random.get_state()[1], state[1])


def test_bad_input(data):
    labels, features = data
    with pytest.raises(ValueError, match="features have 4999 rows but there are 5000 labels"):
        instance_dependent_noise(labels, features[:-1], 0.3, K)
    with pytest.raises(ValueError, match=r"noise rate 1.5 is outside \[0, 1\)"):
        instance_dependent_noise(labels, features, 1.5, K)
    with pytest.raises(ValueError, match="std -0.1"):
        instance_dependent_noise(labels, features, 0.3, K, std=-0.1)
    with pytest.raises(ValueError, match=r"labels\[\d+\] = \d+ is out of range"):
        instance_dependent_noise(labels, features, 0.3, 5)
    with pytest.raises(ValueError, match="at least 2"):
        instance_dependent_noise(np.zeros(N, dtype=int), features, 0.3, 1)
