"""The noisy validation hold-out: stratified_hold_out, NoisyLabelDataset.subset and
NoisyData.hold_out."""

import math

import numpy as np
import pytest
import torch
from PIL import Image

from ignoise.data import (
    ArrayDataset,
    ArrayImageDataset,
    FileImageDataset,
    NoisyData,
    NoisyLabelDataset,
    build_noisy_data,
    eval_transform,
    stratified_hold_out,
)
from ignoise.data.datasets.catalog import _unknown_clean_noise

K = 4


def identity_data(n=203, noise_rate=0.4, seed=0, **kwargs):
    """An ArrayDataset whose input is each sample's position, corrupted with symmetric noise,
    so that every item says which original sample it is."""
    clean = np.random.default_rng(1).integers(0, K, n)
    train = ArrayDataset(torch.arange(n, dtype=torch.float32)[:, None], clean, K)
    test = ArrayDataset(torch.zeros(8, 1), np.arange(8) % K, K)
    return NoisyData.from_datasets(train, test, noise="sym", noise_rate=noise_rate, seed=seed,
                                   **kwargs)


def ids(dataset) -> list[int]:
    return [int(dataset[i]["x"][0]) for i in range(len(dataset))]


# -- the split ---------------------------------------------------------------------------

@pytest.mark.parametrize("fraction", [0.05, 0.2, 0.37, 0.5, 0.8])
@pytest.mark.parametrize("counts", [[144] * 10, [1000, 3, 17, 250, 2], [5, 7, 9]])
def test_each_class_is_held_out_within_one_sample_of_the_fraction(counts, fraction):
    labels = np.random.default_rng(0).permutation(np.repeat(np.arange(len(counts)), counts))
    kept, held = stratified_hold_out(labels, fraction, len(counts), seed=3)
    held_counts = np.bincount(labels[held], minlength=len(counts))
    kept_counts = np.bincount(labels[kept], minlength=len(counts))
    assert np.all(np.abs(held_counts - fraction * np.array(counts)) < 1)
    assert np.array_equal(held_counts + kept_counts, counts)
    assert np.all(kept_counts >= 1)
    total = math.floor(fraction * len(labels) + 0.5)  # less a sample per class kept whole
    assert total - len(counts) <= len(held) <= total
    if min(counts) > 1 / (1 - fraction):
        assert len(held) == total


def test_the_split_is_disjoint_covering_and_sorted():
    labels = np.random.default_rng(0).integers(0, K, 301)
    kept, held = stratified_hold_out(labels, 0.3, K, seed=0)
    assert np.intersect1d(kept, held).size == 0
    assert np.array_equal(np.sort(np.concatenate([kept, held])), np.arange(301))
    assert np.all(np.diff(kept) > 0) and np.all(np.diff(held) > 0)


def test_the_same_seed_gives_the_same_split_and_another_seed_another():
    labels = np.random.default_rng(0).integers(0, K, 400)
    first = stratified_hold_out(labels, 0.25, K, seed=7)
    again = stratified_hold_out(labels, 0.25, K, seed=7)
    other = stratified_hold_out(labels, 0.25, K, seed=8)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[1], other[1])


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5, float("nan")])
def test_a_fraction_outside_the_open_interval_is_rejected(fraction):
    with pytest.raises(ValueError, match=r"hold-out fraction .* is outside \(0, 1\)"):
        stratified_hold_out(np.arange(20) % 2, fraction, 2)


def test_a_fraction_that_holds_out_nothing_names_the_minimum():
    with pytest.raises(ValueError, match=r"fraction 0.004 of 100 samples holds out no sample: "
                                         r"expected a fraction of at least 0.005"):
        stratified_hold_out(np.arange(100) % 2, 0.004, 2)


def test_a_class_always_keeps_a_training_sample():
    labels = np.array([0] * 50 + [1] * 2 + [2])
    kept, held = stratified_hold_out(labels, 0.9, 3, seed=0)
    assert np.bincount(labels[kept], minlength=3).tolist() == [5, 1, 1]
    with pytest.raises(ValueError, match=r"fraction 0.9 holds out no sample: each of the 3 "
                                         r"classes has a single sample"):
        stratified_hold_out(np.array([0, 1, 2]), 0.9, 4)


# -- subset ------------------------------------------------------------------------------

def test_subset_takes_the_rows_and_reindexes_every_dataset_type(tmp_path):
    images = np.arange(5, dtype=np.uint8).reshape(5, 1, 1, 1).repeat(2, 1).repeat(2, 2)
    part = ArrayImageDataset(images, [0, 1, 0, 1, 1], 2, clean_targets=[0, 0, 0, 1, 1])
    part = part.subset([4, 1])
    assert part.images[:, 0, 0, 0].tolist() == [4, 1]
    assert part.targets.tolist() == [1, 1] and part.clean_targets.tolist() == [1, 0]
    assert [part[i]["index"] for i in range(2)] == [0, 1]

    arrays = ArrayDataset(torch.arange(6)[:, None], np.arange(6) % 3, 3).subset([5, 0, 3])
    assert arrays.inputs[:, 0].tolist() == [5, 0, 3] and arrays.clean_targets is None
    assert arrays[2] == {"x": torch.tensor([3]), "y": 0, "index": 2}

    paths = [tmp_path / f"{i}.png" for i in range(3)]
    files = FileImageDataset(paths, [0, 1, 2], 3).subset(np.array([2, 0]))
    assert files.paths == [paths[2], paths[0]] and files.targets.tolist() == [2, 0]


def test_subset_of_a_dataset_without_sample_fields_is_a_type_error():
    class Lines(NoisyLabelDataset):
        def load(self, i):
            return i

    with pytest.raises(TypeError, match=r"Lines cannot be subset: .* sample_fields"):
        Lines([0, 1], 2).subset([0])


@pytest.mark.parametrize("indices, error, message", [
    (np.array([True, False, True]), TypeError, "boolean mask"),
    ([0.0, 1.0], TypeError, "integer positions"),
    ([[0, 1]], ValueError, "1-D positions"),
    ([0, 3], ValueError, r"indices\[1\] = 3 is out of range: expected \[0, 3\)"),
])
def test_subset_rejects_bad_positions(indices, error, message):
    with pytest.raises(error, match=message):
        ArrayDataset(torch.zeros(3, 1), [0, 1, 0], 2).subset(indices)


# -- NoisyData.hold_out ------------------------------------------------------------------

def test_hold_out_keeps_the_noisy_labels_and_dense_indexes():
    data = identity_data()
    held = data.hold_out(0.25, seed=0)
    kept_ids, val_ids = ids(held.train), ids(held.val)
    kept, expected_val = stratified_hold_out(data.train.targets, 0.25, K, seed=0)
    assert kept_ids == kept.tolist() and val_ids == expected_val.tolist()
    assert [held.train[i]["index"] for i in range(len(held.train))] == list(range(len(kept)))
    assert [held.val[i]["index"] for i in range(len(held.val))] == list(range(len(val_ids)))
    # the labels drawn over the whole set, noisy in val too
    np.testing.assert_array_equal(held.train.targets, data.train.targets[kept_ids])
    np.testing.assert_array_equal(held.val.targets, data.train.targets[val_ids])
    np.testing.assert_array_equal(held.val.clean_targets, data.train.clean_targets[val_ids])
    assert (held.val.targets != held.val.clean_targets).any()
    assert data.val is None and len(data.train) == 203  # the original is untouched


def test_hold_out_reports_the_noise_of_the_kept_samples():
    data = identity_data()
    held = data.hold_out(0.3, seed=1)
    report = held.noise
    assert report.summary()["n"] == len(held.train) == 203 - 61
    assert report.kind == "sym" and report.nominal_rate == 0.4
    assert report.rate == np.mean(held.train.targets != held.train.clean_targets)
    np.testing.assert_array_equal(report.noisy, held.train.targets)


def test_hold_out_of_labels_with_unknown_clean_ones_keeps_the_rate_unknown():
    data = identity_data(noise_rate=0.0)
    data.noise = _unknown_clean_noise(data.train.targets, K, "human")
    held = data.hold_out(0.2, seed=0)
    assert held.noise.summary()["rate"] is None and held.noise.kind == "human"
    assert held.noise.summary()["n"] == len(held.train)


def test_hold_out_subsets_train_eval_and_reads_val_as_eval_train():
    data = identity_data()
    data.train_eval = data.train.with_transform(lambda x: x + 1000)
    held = data.hold_out(0.2, seed=0)
    assert [x - 1000 for x in ids(held.train_eval)] == ids(held.train)
    assert [x - 1000 for x in ids(held.val)] == ids(held.val.with_transform(None))


def test_hold_out_of_a_named_dataset_gives_val_the_evaluation_transform():
    data = build_noisy_data("digits", noise="sym", noise_rate=0.2, seed=0)
    held = data.hold_out(0.2, seed=0)
    assert len(held.train) + len(held.val) == len(data.train) == 1437
    raw = held.val.images[0]
    expected = eval_transform("digits")(Image.fromarray(raw[..., 0]))
    assert torch.equal(held.val[0]["x"], expected)
    assert held.eval_train.transform is not held.train.transform  # still derived


def test_hold_out_twice_is_an_error():
    held = identity_data().hold_out(0.2)
    with pytest.raises(ValueError, match="already has a validation set"):
        held.hold_out(0.2)
