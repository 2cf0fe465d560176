"""Tests of ignoise.noise.synthetic: realized rates, maps, transition matrices, errors."""

import numpy as np
import pytest

from ignoise.noise import (
    asymmetric_noise,
    cifar10_asymmetric_map,
    cifar100_asymmetric_map,
    pairflip_noise,
    symmetric_noise,
    transition_noise,
)

K = 10
N_LARGE = 20_000


def balanced(num_classes=K, per_class=100):
    return np.repeat(np.arange(num_classes), per_class)


def shuffled(num_classes, n, seed=123):
    return np.random.default_rng(seed).integers(0, num_classes, size=n)


def binomial_tol(p, n, sigmas=5.0):
    return sigmas * np.sqrt(p * (1 - p) / n)


def per_class_rates(report):
    return np.array([r for r in report.per_class_rate() if r is not None])


# -- symmetric -----------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [0.0, 0.2, 0.5, 0.8])
def test_symmetric_exact_rate_overall_and_per_class(rate):
    report = symmetric_noise(balanced(), rate, K, seed=1)
    assert report.rate == pytest.approx(rate, abs=1e-12)
    np.testing.assert_allclose(per_class_rates(report), rate, atol=1e-12)
    assert report.kind == "sym" and report.nominal_rate == rate


def test_symmetric_exact_rounds_each_class_half_up():
    sizes = np.array([7, 13, 10, 3, 1])
    labels = np.repeat(np.arange(5), sizes)
    report = symmetric_noise(labels, 0.5, 5, seed=0)
    flipped = np.bincount(labels[report.corrupted], minlength=5)
    np.testing.assert_array_equal(flipped, [4, 7, 5, 2, 1])  # round half up of 0.5 * size


def test_symmetric_never_flips_to_own_class_and_spreads_uniformly():
    labels = shuffled(K, N_LARGE)
    report = symmetric_noise(labels, 0.6, K, seed=2)
    # Every chosen sample changed class: the exact rate is realized.
    assert report.rate == pytest.approx(0.6, abs=1e-3)
    off = report.transition[~np.eye(K, dtype=bool)].reshape(K, K - 1)
    np.testing.assert_allclose(off, 0.6 / (K - 1), atol=0.025)


def test_symmetric_include_true_class_realizes_rate_times_k_minus_1_over_k():
    labels = shuffled(K, N_LARGE)
    report = symmetric_noise(labels, 0.5, K, include_true_class=True, seed=3)
    expected = 0.5 * (K - 1) / K
    assert abs(report.rate - expected) < binomial_tol(expected, N_LARGE)
    assert report.rate < 0.5


def test_symmetric_per_sample_rate_within_binomial_tolerance():
    labels = shuffled(K, N_LARGE)
    report = symmetric_noise(labels, 0.3, K, exact=False, seed=4)
    assert abs(report.rate - 0.3) < binomial_tol(0.3, N_LARGE)
    assert report.rate != 0.3  # not the exact quota
    counts = np.bincount(labels, minlength=K)
    assert np.all(np.abs(per_class_rates(report) - 0.3) < binomial_tol(0.3, counts.min()))


def test_symmetric_report_fields_are_consistent():
    labels = shuffled(K, 500)
    report = symmetric_noise(labels, 0.4, K, seed=5)
    np.testing.assert_array_equal(report.clean, labels)
    np.testing.assert_array_equal(report.corrupted, report.noisy != report.clean)
    assert report.noisy.dtype == np.int64 and report.corrupted.dtype == bool
    np.testing.assert_allclose(report.transition.sum(axis=1), 1.0)


# -- asymmetric ----------------------------------------------------------------------------------


def test_cifar10_map_is_the_standard_one():
    target = cifar10_asymmetric_map()
    expected = {9: 1, 2: 0, 4: 7, 3: 5, 5: 3}
    for c in range(10):
        assert target[c] == expected.get(c, c)


@pytest.mark.parametrize("exact", [True, False])
def test_asymmetric_cifar10_flips_only_along_the_map(exact):
    labels = shuffled(10, N_LARGE) if not exact else balanced(10, 200)
    report = asymmetric_noise(labels, 0.4, dataset="cifar10", exact=exact, seed=6)
    target = cifar10_asymmetric_map()
    flipped = report.corrupted
    np.testing.assert_array_equal(report.noisy[flipped], target[report.clean[flipped]])
    untouched = np.isin(labels, [0, 1, 6, 7, 8])
    np.testing.assert_array_equal(report.noisy[untouched], labels[untouched])
    for c in [2, 3, 4, 5, 9]:
        rate = report.transition[c, target[c]]
        if exact:
            assert rate == pytest.approx(0.4, abs=1e-12)
        else:
            assert abs(rate - 0.4) < binomial_tol(0.4, N_LARGE / 10)


FINE = (
    "apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus "
    "butterfly camel can castle caterpillar cattle chair chimpanzee clock cloud cockroach couch "
    "crab crocodile cup dinosaur dolphin elephant flatfish forest fox girl hamster house "
    "kangaroo keyboard lamp lawn_mower leopard lion lizard lobster man maple_tree motorcycle "
    "mountain mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck pine_tree "
    "plain plate poppy porcupine possum rabbit raccoon ray road rocket rose sea seal shark shrew "
    "skunk skyscraper snail snake spider squirrel streetcar sunflower sweet_pepper table tank "
    "telephone television tiger tractor train trout tulip turtle wardrobe whale willow_tree wolf "
    "woman worm"
).split()

SUPERCLASSES = [  # the 20 CIFAR-100 super-classes, by fine class names
    "beaver dolphin otter seal whale",
    "aquarium_fish flatfish ray shark trout",
    "orchid poppy rose sunflower tulip",
    "bottle bowl can cup plate",
    "apple mushroom orange pear sweet_pepper",
    "clock keyboard lamp telephone television",
    "bed chair couch table wardrobe",
    "bee beetle butterfly caterpillar cockroach",
    "bear leopard lion tiger wolf",
    "bridge castle house road skyscraper",
    "cloud forest mountain plain sea",
    "camel cattle chimpanzee elephant kangaroo",
    "fox porcupine possum raccoon skunk",
    "crab lobster snail spider worm",
    "baby boy girl man woman",
    "crocodile dinosaur lizard snake turtle",
    "hamster mouse rabbit shrew squirrel",
    "maple_tree oak_tree palm_tree pine_tree willow_tree",
    "bicycle bus motorcycle pickup_truck train",
    "lawn_mower rocket streetcar tank tractor",
]


def test_cifar100_superclass_map_is_a_5_cycle_within_each_superclass():
    assert len(FINE) == 100 and FINE == sorted(FINE)
    target = cifar100_asymmetric_map("superclass")
    for names in SUPERCLASSES:
        members = sorted(FINE.index(name) for name in names.split())
        np.testing.assert_array_equal(target[members], np.roll(members, -1))
        # Following the map from any member visits all five and returns after five steps.
        c, seen = members[0], []
        for _ in range(5):
            seen.append(c)
            c = target[c]
        assert c == members[0] and sorted(seen) == members


def test_cifar100_coarse_labels_match_known_classes():
    from ignoise.noise import CIFAR100_COARSE_LABELS as coarse

    assert coarse[0] == 4 and coarse[1] == 1 and coarse[4] == 0 and coarse[99] == 13
    np.testing.assert_array_equal(np.bincount(coarse, minlength=20), 5)


def test_cifar100_blocks_map():
    c = np.arange(100)
    np.testing.assert_array_equal(cifar100_asymmetric_map("blocks"), 5 * (c // 5) + (c + 1) % 5)


@pytest.mark.parametrize("mapping", ["superclass", "blocks"])
def test_asymmetric_cifar100_uses_the_chosen_mapping(mapping):
    labels = balanced(100, 20)
    report = asymmetric_noise(labels, 0.3, dataset="cifar100", cifar100_mapping=mapping, seed=7)
    target = cifar100_asymmetric_map(mapping)
    np.testing.assert_array_equal(report.noisy[report.corrupted], target[labels[report.corrupted]])
    assert report.rate == pytest.approx(0.3, abs=1e-12)  # every class is mapped


# -- pair-flip -----------------------------------------------------------------------------------


def test_pairflip_exact_transition():
    report = pairflip_noise(balanced(5, 100), 0.45, 5, seed=8)
    expected = 0.55 * np.eye(5) + 0.45 * np.roll(np.eye(5), 1, axis=1)
    np.testing.assert_allclose(report.transition, expected, atol=1e-12)


def test_pairflip_per_sample_close():
    report = pairflip_noise(shuffled(K, N_LARGE), 0.2, K, exact=False, seed=9)
    np.testing.assert_array_equal(
        report.noisy[report.corrupted], (report.clean[report.corrupted] + 1) % K
    )
    assert abs(report.rate - 0.2) < binomial_tol(0.2, N_LARGE)


# -- transition matrix ---------------------------------------------------------------------------


def test_transition_exact_largest_remainder_by_hand():
    matrix = np.array([[0.5, 0.25, 0.25], [0.0, 1.0, 0.0], [0.1, 0.2, 0.7]])
    labels = np.repeat([0, 1, 2], [7, 4, 10])
    report = transition_noise(labels, matrix, seed=0)
    # Row 0: 3.5, 1.75, 1.75 -> floors 3, 1, 1; two left go to the largest remainders (.75, .75).
    expected = np.array([[3 / 7, 2 / 7, 2 / 7], [0.0, 1.0, 0.0], [0.1, 0.2, 0.7]])
    np.testing.assert_allclose(report.transition, expected, atol=1e-12)
    assert report.kind == "matrix"


def test_transition_exact_reproduces_a_random_matrix():
    rng = np.random.default_rng(0)
    matrix = rng.dirichlet(np.ones(K), size=K)
    labels = balanced(K, 1000)
    report = transition_noise(labels, matrix, seed=1)
    counts = np.round(report.transition * 1000)
    np.testing.assert_allclose(report.transition * 1000, counts, atol=1e-9)
    np.testing.assert_array_equal(counts.sum(axis=1), 1000)
    expected = matrix * 1000
    rounded_up = counts > np.floor(expected)
    np.testing.assert_array_equal(counts, np.floor(expected) + rounded_up)  # floor or ceil
    remainder = expected - np.floor(expected)
    for row in range(K):  # the ceilings went to the largest remainders
        up, down = remainder[row, rounded_up[row]], remainder[row, ~rounded_up[row]]
        assert up.size == 0 or down.size == 0 or up.min() >= down.max()
    assert report.nominal_rate == pytest.approx(1 - np.diag(matrix).mean())


def test_transition_per_sample_close_to_matrix():
    rng = np.random.default_rng(1)
    matrix = rng.dirichlet(np.ones(4), size=4)
    labels = shuffled(4, N_LARGE)
    report = transition_noise(labels, matrix, exact=False, seed=2)
    assert np.abs(report.transition - matrix).max() < binomial_tol(0.25, N_LARGE / 4)
    assert not np.allclose(report.transition, matrix, atol=1e-4)  # a real draw


def test_transition_zero_entries_are_never_drawn():
    matrix = np.array([[0.0, 1.0, 0.0], [0.5, 0.0, 0.5], [0.0, 0.0, 1.0]])
    labels = shuffled(3, 3000)
    report = transition_noise(labels, matrix, exact=False, seed=3)
    assert np.all(report.transition[matrix == 0] == 0)


# -- determinism ---------------------------------------------------------------------------------


GENERATORS = [
    lambda labels, seed: symmetric_noise(labels, 0.4, K, seed=seed),
    lambda labels, seed: symmetric_noise(labels, 0.4, K, exact=False, seed=seed),
    lambda labels, seed: asymmetric_noise(labels, 0.4, seed=seed),
    lambda labels, seed: pairflip_noise(labels, 0.4, K, seed=seed),
    lambda labels, seed: transition_noise(labels, np.full((K, K), 1 / K), seed=seed),
    lambda labels, seed: transition_noise(labels, np.full((K, K), 1 / K), exact=False, seed=seed),
]


@pytest.mark.parametrize("generate", GENERATORS)
def test_same_seed_same_labels_different_seed_different(generate):
    labels = shuffled(K, 2000)
    state = np.random.get_state()
    first, again, other = generate(labels, 11), generate(labels, 11), generate(labels, 12)
    np.testing.assert_array_equal(first.noisy, again.noisy)
    assert not np.array_equal(first.noisy, other.noisy)
    assert np.array_equal(np.random.get_state()[1], state[1])  # global RNG untouched


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize("rate, shown", [(1.2, "1.2"), (1.0, "1"), (-0.1, "-0.1")])
def test_rate_outside_unit_interval(rate, shown):
    with pytest.raises(ValueError, match=rf"noise rate {shown} is outside \[0, 1\)"):
        symmetric_noise(balanced(), rate, K)
    with pytest.raises(ValueError, match="outside"):
        asymmetric_noise(balanced(), rate)
    with pytest.raises(ValueError, match="outside"):
        pairflip_noise(balanced(), rate, K)


def test_label_out_of_range_names_index_value_and_range():
    labels = np.array([0, 1, 10, 2])
    with pytest.raises(ValueError, match=r"labels\[2\] = 10 is out of range.*\[0, 10\)"):
        symmetric_noise(labels, 0.2, K)
    with pytest.raises(ValueError, match=r"labels\[0\] = -1"):
        pairflip_noise(np.array([-1, 0]), 0.2, K)


def test_labels_must_be_1d_integers():
    with pytest.raises(ValueError, match="1-D"):
        symmetric_noise(np.zeros((2, 2), dtype=int), 0.2, K)
    with pytest.raises(ValueError, match="integers"):
        symmetric_noise(np.array([0.0, 1.5]), 0.2, K)


def test_num_classes_below_two():
    with pytest.raises(ValueError, match="num_classes must be at least 2, got 1"):
        symmetric_noise(np.zeros(3, dtype=int), 0.2, 1)


def test_asymmetric_cifar10_rejects_labels_beyond_ten():
    with pytest.raises(ValueError, match=r"cifar10: labels\[1\] = 12 .*\[0, 10\)"):
        asymmetric_noise(np.array([0, 12]), 0.2, dataset="cifar10")


def test_asymmetric_unknown_dataset_and_mapping():
    with pytest.raises(ValueError, match=r"dataset 'mnist'.*cifar10.*cifar100"):
        asymmetric_noise(balanced(), 0.2, dataset="mnist")
    with pytest.raises(ValueError, match=r"mapping 'coarse'.*superclass.*blocks"):
        asymmetric_noise(balanced(100, 2), 0.2, dataset="cifar100", cifar100_mapping="coarse")


def test_transition_matrix_errors():
    labels = np.array([0, 1])
    with pytest.raises(ValueError, match=r"K x K, got shape \(2, 3\)"):
        transition_noise(labels, np.full((2, 3), 1 / 3))
    with pytest.raises(ValueError, match=r"entry \[1, 0\] = -0.5 is negative"):
        transition_noise(labels, np.array([[1.0, 0.0], [-0.5, 1.5]]))
    with pytest.raises(ValueError, match="row 1 sums to 0.9, expected 1"):
        transition_noise(labels, np.array([[1.0, 0.0], [0.4, 0.5]]))
    with pytest.raises(ValueError, match=r"labels\[1\] = 2"):
        transition_noise(np.array([0, 2]), np.eye(2))
    # Within the 1e-6 tolerance: accepted.
    transition_noise(labels, np.array([[1.0 + 1e-8, 0.0], [0.5, 0.5]]))
