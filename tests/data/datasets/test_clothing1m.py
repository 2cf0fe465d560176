"""load_clothing1m on a tiny Clothing1M root: real JPEGs under images/ and the five text files."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import transforms as T

from ignoise.data.datasets.catalog import DATASETS, build_noisy_data, load_dataset
from ignoise.data.datasets.clothing1m import CLOTHING1M_CLASSES, CLOTHING1M_FILES, load_clothing1m
from ignoise.data.samplers.balanced import ClassBalancedSubsetSampler

TRAIN = {  # key -> noisy label
    "images/0/12/a.jpg": 3, "images/0/12/b.jpg": 13, "images/1/40/c.jpg": 0,
    "images/1/40/d.jpg": 3, "images/2/07/e.jpg": 7, "images/2/07/f.jpg": 0,
}
VAL = {"images/5/01/v1.jpg": 11, "images/5/01/v2.jpg": 2}
TEST = {"images/6/02/t1.jpg": 5, "images/6/02/t2.jpg": 13, "images/6/02/t3.jpg": 0}
# Two training images also have a clean label (the ~25k overlap of the real dataset).
OVERLAP = {"images/1/40/c.jpg": 4, "images/2/07/f.jpg": 0}
UNUSED_NOISY = {"images/9/99/unused.jpg": 1}  # in the noisy kv but in no split


def _write_lines(path, lines):
    path.write_text("".join(f"{line}\n" for line in lines))


@pytest.fixture
def root(tmp_path):
    for i, key in enumerate([*TRAIN, *VAL, *TEST]):
        path = tmp_path / key
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (12 + i, 10), (i * 9, 0, 0)).save(path, "JPEG")
    _write_lines(tmp_path / "noisy_label_kv.txt",
                 [f"{k} {v}" for k, v in {**UNUSED_NOISY, **TRAIN}.items()])
    _write_lines(tmp_path / "clean_label_kv.txt",
                 [f"{k} {v}" for k, v in {**VAL, **OVERLAP, **TEST}.items()])
    # Key lists in an order of their own: the dataset follows the list, not the kv file.
    _write_lines(tmp_path / "noisy_train_key_list.txt", list(TRAIN)[::-1])
    _write_lines(tmp_path / "clean_val_key_list.txt", list(VAL))
    _write_lines(tmp_path / "clean_test_key_list.txt", list(TEST))
    return tmp_path


def test_train_is_the_noisy_keys_with_noisy_labels(root):
    ds = load_clothing1m(root, "train")
    keys = list(TRAIN)[::-1]
    assert len(ds) == 6 and ds.keys == keys
    assert ds.paths == [root / k for k in keys]
    assert ds.targets.tolist() == [0, 7, 3, 0, 13, 3]
    assert ds.clean_targets is None and ds.num_samples_per_epoch is None
    assert ds.num_classes == 14 and ds.classes == list(CLOTHING1M_CLASSES)
    assert ds.classes[0] == "T-Shirt" and ds.classes[13] == "Underwear"


def test_overlapping_clean_labels_are_kept_apart(root):
    ds = load_clothing1m(root, "train")
    # f (noisy 0, clean 0) is first, c (noisy 0, clean 4) fourth; -1 where no clean label.
    assert ds.overlap_clean_labels.tolist() == [0, -1, -1, 4, -1, -1]
    item = ds[3]
    assert (item["y"], item["index"]) == (0, 3) and "y_clean" not in item
    assert item["x"].mode == "RGB" and item["x"].size == (12 + 2, 10)


@pytest.mark.parametrize("split, labels", [("val", VAL), ("test", TEST)])
def test_val_and_test_are_the_clean_keys_with_clean_labels(root, split, labels):
    ds = load_clothing1m(root, split)
    assert ds.keys == list(labels)
    assert ds.targets.tolist() == list(labels.values())
    assert ds.clean_targets.tolist() == list(labels.values())
    assert ds[0]["y_clean"] == ds[0]["y"]


def test_balanced_subsample_option(root):
    ds = load_clothing1m(root, "train", num_samples_per_epoch=8)
    assert ds.num_samples_per_epoch == 8
    sampler = ClassBalancedSubsetSampler(ds.targets, ds.num_samples_per_epoch, seed=0,
                                         rank=0, world_size=1)
    # Four noisy classes present (0, 3, 7, 13): two of each.
    assert np.bincount(ds.targets[list(sampler)], minlength=14)[[0, 3, 7, 13]].tolist() == [2] * 4
    with pytest.raises(ValueError, match="subsamples the training set; got 8 for the 'test'"):
        load_clothing1m(root, "test", num_samples_per_epoch=8)
    with pytest.raises(ValueError, match="must be positive, got 0"):
        load_clothing1m(root, "train", num_samples_per_epoch=0)


def test_unknown_split(root):
    expected = r"unknown Clothing1M split 'dev'.*\['train', 'val', 'test'\]"
    with pytest.raises(ValueError, match=expected):
        load_clothing1m(root, "dev")


@pytest.mark.parametrize(
    "split, removed",
    [("train", "noisy_train_key_list.txt"), ("train", "clean_label_kv.txt"),
     ("test", "clean_test_key_list.txt"), ("val", "clean_label_kv.txt")],
)
def test_a_missing_file_is_named_with_the_five_expected(root, split, removed):
    (root / removed).unlink()
    with pytest.raises(FileNotFoundError) as info:
        load_clothing1m(root, split)
    message = str(info.value)
    assert f"{root} lacks {removed}" in message
    assert all(name in message for name in CLOTHING1M_FILES)


def test_missing_root_and_image_folder(root, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"root .*absent does not exist.*noisy_label_kv"):
        load_clothing1m(tmp_path / "absent")
    (root / "images").rename(root / "pictures")
    with pytest.raises(FileNotFoundError, match=r"image folder .*images does not exist"):
        load_clothing1m(root, "val")


@pytest.mark.parametrize(
    "bad", ["images/0/12/x.jpg", "images/0/12/x.jpg 3 1", "images/0/12/x.jpg three",
            "images/0/12/x.jpg 14", "images/0/12/x.jpg -1"],
)
def test_a_malformed_kv_line_is_named_with_its_number(root, bad):
    lines = (root / "noisy_label_kv.txt").read_text().splitlines()
    _write_lines(root / "noisy_label_kv.txt", lines[:2] + [bad] + lines[2:])
    expected = rf"noisy_label_kv\.txt:3: expected .*\[0, 14\), got '{bad}'"
    with pytest.raises(ValueError, match=expected):
        load_clothing1m(root, "train")


def test_a_malformed_key_list_line_is_named(root):
    _write_lines(root / "clean_val_key_list.txt", ["images/5/01/v1.jpg", "", "a.jpg 2"])
    with pytest.raises(ValueError, match=r"clean_val_key_list\.txt:3: expected one image path"):
        load_clothing1m(root, "val")


def test_keys_without_a_label_are_named(root):
    _write_lines(root / "clean_test_key_list.txt", [*TEST, "images/7/7/lost.jpg"])
    with pytest.raises(
        ValueError,
        match=r"1 keys of .*clean_test_key_list\.txt have no label in .*clean_label_kv\.txt, "
        r"e\.g\. 'images/7/7/lost\.jpg'",
    ):
        load_clothing1m(root, "test")


def test_an_empty_key_list_fails(root):
    (root / "clean_val_key_list.txt").write_text("\n")
    with pytest.raises(ValueError, match=r"clean_val_key_list\.txt lists no images"):
        load_clothing1m(root, "val")


def test_catalog_uses_the_clean_test_set_and_no_synthetic_noise(root):
    assert "clothing1m" in DATASETS
    assert load_dataset("clothing1m", root, train=False).keys == list(TEST)
    data = build_noisy_data("clothing1m", root)
    assert (len(data.train), len(data.test), data.num_classes) == (6, 3, 14)
    assert data.test[0]["x"].shape == (3, 224, 224)
    summary = json.loads(json.dumps(data.noise.summary()))
    assert (summary["kind"], summary["rate"], summary["n"]) == ("web", None, 6)
    with pytest.raises(ValueError, match="clothing1m has web noisy labels"):
        build_noisy_data("clothing1m", root, noise="asym", noise_rate=0.4)


def test_catalog_dividemix_transforms_reach_train_test_eval_train_and_the_hold_out(root):
    data = build_noisy_data("clothing1m", root, transforms="dividemix")
    assert data.transforms == "dividemix"
    assert build_noisy_data("clothing1m", root).transforms == "standard"
    # DivideMix's dataloader_clothing1M.py: test and eval_train resize to 256 and crop the
    # centre; train resizes and crops at random; both with Clothing1M's statistics
    stats = ((0.6959, 0.6537, 0.6371), (0.3113, 0.3192, 0.3214))
    centre = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize(*stats)])
    random = T.Compose([T.Resize(256), T.RandomCrop(224), T.RandomHorizontalFlip(),
                        T.ToTensor(), T.Normalize(*stats)])
    plain_train = load_clothing1m(root, "train")
    plain_test = load_clothing1m(root, "test")
    torch.testing.assert_close(data.test[1]["x"], centre(plain_test[1]["x"]), rtol=0, atol=0)
    torch.testing.assert_close(data.eval_train[2]["x"], centre(plain_train[2]["x"]), rtol=0,
                               atol=0)
    torch.manual_seed(0)
    augmented = data.train[2]["x"]
    torch.manual_seed(0)
    torch.testing.assert_close(augmented, random(plain_train[2]["x"]), rtol=0, atol=0)
    held = data.hold_out(0.5, seed=0)  # a copy: the preset survives it
    assert held.transforms == "dividemix" and len(held.val) == 2
    key = held.train.keys[0]
    torch.testing.assert_close(held.eval_train[0]["x"],
                               centre(plain_train[plain_train.keys.index(key)]["x"]), rtol=0,
                               atol=0)
    with pytest.raises(ValueError, match="preset 'dividemix' is defined for clothing1m only"):
        build_noisy_data("digits", transforms="dividemix")
