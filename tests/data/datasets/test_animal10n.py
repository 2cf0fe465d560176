"""load_animal10n on tiny training/ and testing/ folders of real JPEGs named <label>_<id>.jpg."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from ignoise.data.datasets.animal10n import ANIMAL10N_CLASSES, load_animal10n
from ignoise.data.datasets.catalog import (
    DATASETS,
    build_noisy_data,
    load_dataset,
    load_extra_eval_sets,
)

# Written out of name order on purpose: the loader sorts by file name.
TRAIN_NAMES = ["3_00002.jpg", "0_00001.jpg", "9_00010.jpg", "3_00001.jpg", "5_00007.jpg",
               "1_00003.jpg"]
TEST_NAMES = ["2_00001.jpg", "8_00002.jpg", "0_00003.jpg"]


def _jpeg(path, value):
    Image.new("RGB", (64, 64), (value, 255 - value, 0)).save(path, "JPEG")


@pytest.fixture
def root(tmp_path):
    for folder, names in [("training", TRAIN_NAMES), ("testing", TEST_NAMES)]:
        (tmp_path / folder).mkdir()
        for i, name in enumerate(names):
            _jpeg(tmp_path / folder / name, 20 * i)
    return tmp_path


def test_training_labels_come_from_the_file_names_in_name_order(root):
    ds = load_animal10n(root, train=True)
    names = sorted(TRAIN_NAMES)
    assert names == ["0_00001.jpg", "1_00003.jpg", "3_00001.jpg", "3_00002.jpg", "5_00007.jpg",
                     "9_00010.jpg"]
    assert len(ds) == 6
    assert ds.targets.tolist() == [0, 1, 3, 3, 5, 9]
    assert ds.paths == [root / "training" / n for n in names]
    assert ds.num_classes == 10 and ds.clean_targets is None
    assert ds.classes == list(ANIMAL10N_CLASSES)


def test_items_are_64px_rgb_images_without_a_clean_label(root):
    item = load_animal10n(root, train=True)[5]
    assert (item["y"], item["index"]) == (9, 5) and "y_clean" not in item
    assert item["x"].size == (64, 64) and item["x"].mode == "RGB"


def test_testing_folder_and_transform(root):
    ds = load_animal10n(root, train=False, transform=lambda img: torch.tensor(img.size))
    assert ds.targets.tolist() == [0, 2, 8]
    assert [p.name for p in ds.paths] == ["0_00003.jpg", "2_00001.jpg", "8_00002.jpg"]
    assert ds[1]["x"].tolist() == [64, 64]


def test_class_names_follow_the_dataset_page_order():
    assert ANIMAL10N_CLASSES[0] == "cat" and ANIMAL10N_CLASSES[1] == "lynx"
    assert ANIMAL10N_CLASSES[4:6] == ("cheetah", "jaguar")
    assert ANIMAL10N_CLASSES[9] == "guinea pig" and len(ANIMAL10N_CLASSES) == 10


def test_hidden_files_are_skipped(root):
    (root / "training" / ".DS_Store").write_bytes(b"\0")
    assert len(load_animal10n(root)) == 6


def test_missing_root_and_folder_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"root .*nowhere does not exist.*training/"):
        load_animal10n(tmp_path / "nowhere")
    (tmp_path / "training").mkdir()
    with pytest.raises(FileNotFoundError, match=r"folder .*testing does not exist"):
        load_animal10n(tmp_path, train=False)


def test_an_empty_folder_fails(tmp_path):
    (tmp_path / "training").mkdir()
    with pytest.raises(FileNotFoundError, match=r"training holds no images.*<label>_<id>\.jpg"):
        load_animal10n(tmp_path)


@pytest.mark.parametrize("bad", ["cat_00001.jpg", "0-00001.jpg", "0_00001.png", "notes.txt"])
def test_a_name_off_the_pattern_is_named(root, bad):
    (root / "training" / bad).write_bytes(b"x")
    with pytest.raises(ValueError, match=rf"{bad}.*does not match the pattern <label>_<id>\.jpg"):
        load_animal10n(root)


def test_a_label_out_of_range_is_named(root):
    _jpeg(root / "testing" / "10_00004.jpg", 0)
    expected = r"10_00004\.jpg has label 10: expected a class in \[0, 10\)"
    with pytest.raises(ValueError, match=expected):
        load_animal10n(root, train=False)


def test_catalog_loads_both_splits_without_synthetic_noise(root):
    assert "animal10n" in DATASETS
    assert load_dataset("animal10n", root, train=False).targets.tolist() == [0, 2, 8]
    data = build_noisy_data("animal10n", root)
    assert len(data.train) == 6 and len(data.test) == 3 and data.num_classes == 10
    np.testing.assert_array_equal(data.train.targets, [0, 1, 3, 3, 5, 9])
    assert data.train[0]["x"].shape == (3, 64, 64)
    summary = json.loads(json.dumps(data.noise.summary()))
    assert summary["kind"] == "human" and summary["rate"] is None and summary["n"] == 6
    assert summary["per_class_rate"] == [None] * 10
    assert np.isnan(data.noise.rate) and np.isnan(data.noise.transition).all()
    assert load_extra_eval_sets("animal10n", root) == {}
    with pytest.raises(ValueError, match="animal10n has human noisy labels.*got 'sym'"):
        build_noisy_data("animal10n", root, noise="sym", noise_rate=0.2)
