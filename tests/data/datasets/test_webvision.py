"""load_mini_webvision and load_imagenet_val on a tiny WebVision root: the info/ lists,
synsets.txt, and real JPEGs under google/, val_images_256/ and imagenet/val/."""

import numpy as np
import pytest
from PIL import Image

from ignoise.data.datasets.catalog import (
    DATASETS,
    build_noisy_data,
    load_dataset,
    load_extra_eval_sets,
)
from ignoise.data.datasets.webvision import load_imagenet_val, load_mini_webvision

# (path, label) in list order; labels 50 and above are outside mini-WebVision.
TRAIN = [("google/q0001/a.jpg", 0), ("google/q0051/b.jpg", 50), ("google/q0050/c.jpg", 49),
         ("google/q0001/d.jpg", 0), ("google/q0999/e.jpg", 999), ("google/q0002/f.jpg", 1)]
VAL = [("val000001.jpg", 1), ("val000002.jpg", 700), ("val000003.jpg", 49)]
SYNSETS = [f"n{10_000_000 + 37 * i:08d}" for i in range(1000)]


def _jpeg(path, size=(20, 16)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (90, 30, 200)).save(path, "JPEG")


def _write_list(path, entries):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{p} {label}\n" for p, label in entries))


@pytest.fixture
def root(tmp_path):
    _write_list(tmp_path / "info" / "train_filelist_google.txt", TRAIN)
    _write_list(tmp_path / "info" / "val_filelist.txt", VAL)
    (tmp_path / "info" / "synsets.txt").write_text(
        "".join(f"{s} animal{i}, beast{i}\n" for i, s in enumerate(SYNSETS))
    )
    for p, _ in TRAIN:
        _jpeg(tmp_path / p)
    for p, _ in VAL:
        _jpeg(tmp_path / "val_images_256" / p)
    return tmp_path


def _imagenet(root, folders_per_class, count=lambda c: 1 + c % 2):
    """One folder per class under imagenet/val/, holding 1 or 2 JPEGs (plus a stray file)."""
    for c, name in enumerate(folders_per_class):
        for j in range(count(c)):
            _jpeg(root / "imagenet" / "val" / name / f"ILSVRC2012_val_{c:05d}{j}.JPEG")
        (root / "imagenet" / "val" / name / "notes.txt").write_text("not an image")


def test_train_keeps_the_first_50_classes_in_list_order(root):
    ds = load_mini_webvision(root, "train")
    kept = [(p, label) for p, label in TRAIN if label < 50]
    assert len(ds) == 4 and ds.num_classes == 50
    assert ds.targets.tolist() == [label for _, label in kept] == [0, 49, 0, 1]
    assert ds.paths == [root / p for p, _ in kept]
    assert ds.clean_targets is None
    assert ds.classes[:2] == ["animal0", "animal1"] and len(ds.classes) == 50
    item = ds[1]
    assert (item["y"], item["index"]) == (49, 1) and "y_clean" not in item
    assert item["x"].size == (20, 16)


def test_val_images_live_under_val_images_256_and_are_clean(root):
    ds = load_mini_webvision(root, "val")
    assert ds.paths == [root / "val_images_256" / "val000001.jpg",
                        root / "val_images_256" / "val000003.jpg"]
    assert ds.targets.tolist() == ds.clean_targets.tolist() == [1, 49]
    assert ds[1]["y_clean"] == 49


def test_num_classes_selects_the_first_classes(root):
    assert load_mini_webvision(root, "train", num_classes=2).targets.tolist() == [0, 0, 1]
    full = load_mini_webvision(root, "train", num_classes=1000)
    assert full.targets.tolist() == [label for _, label in TRAIN]
    with pytest.raises(ValueError, match=r"num_classes must lie in \[2, 1000\], got 1001"):
        load_mini_webvision(root, num_classes=1001)
    _write_list(root / "info" / "val_filelist.txt", [("val000002.jpg", 700)])
    with pytest.raises(ValueError, match=r"val_filelist\.txt lists no image with a label below 2"):
        load_mini_webvision(root, "val", num_classes=2)


def test_class_names_are_optional(root):
    (root / "info" / "synsets.txt").unlink()
    assert load_mini_webvision(root, "val").classes is None


def test_missing_lists_and_folders_are_named(root, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"root .*absent does not exist.*train_filelist"):
        load_mini_webvision(tmp_path / "absent")
    (root / "info" / "val_filelist.txt").unlink()
    with pytest.raises(
        FileNotFoundError,
        match=r"file list .*info/val_filelist\.txt does not exist: expected "
        r"info/train_filelist_google\.txt and info/val_filelist\.txt",
    ):
        load_mini_webvision(root, "val")
    (root / "google").rename(root / "web")
    expected = r"image folder .*google/q0001 .*'google/q0001/a\.jpg'"
    with pytest.raises(FileNotFoundError, match=expected):
        load_mini_webvision(root, "train")


def test_missing_validation_image_folder(root):
    (root / "val_images_256").rename(root / "val_images")
    with pytest.raises(FileNotFoundError, match=r"val_images_256 .*of 'val000001\.jpg'"):
        load_mini_webvision(root, "val")


@pytest.mark.parametrize(
    "bad", ["google/q0001/x.jpg", "google/q0001/x.jpg 1 2", "google/q0001/x.jpg one",
            "google/q0001/x.jpg 1000"],
)
def test_a_malformed_list_line_is_named_with_its_number(root, bad):
    _write_list(root / "info" / "train_filelist_google.txt", TRAIN[:1])
    with open(root / "info" / "train_filelist_google.txt", "a") as f:
        f.write(f"\n{bad}\n")
    with pytest.raises(
        ValueError, match=rf"train_filelist_google\.txt:3: expected .*\[0, 1000\), got '{bad}'"
    ):
        load_mini_webvision(root)


def test_unknown_split(root):
    with pytest.raises(ValueError, match=r"unknown WebVision split 'test'"):
        load_mini_webvision(root, "test")


def test_imagenet_val_maps_synset_folders_to_webvision_labels(root):
    # Folders for 52 synsets: the 51st and 52nd are outside mini-WebVision and must be ignored.
    _imagenet(root, SYNSETS[:52])
    ds = load_imagenet_val(root)
    expected = np.repeat(np.arange(50), [1 + c % 2 for c in range(50)])
    assert len(ds) == 75 and ds.num_classes == 50
    np.testing.assert_array_equal(ds.targets, expected)
    np.testing.assert_array_equal(ds.clean_targets, expected)
    assert ds.paths[:3] == [
        root / "imagenet/val" / SYNSETS[0] / "ILSVRC2012_val_000000.JPEG",
        root / "imagenet/val" / SYNSETS[1] / "ILSVRC2012_val_000010.JPEG",
        root / "imagenet/val" / SYNSETS[1] / "ILSVRC2012_val_000011.JPEG",
    ]
    assert ds.classes[49] == "animal49"
    assert ds[2]["y"] == 1 and ds[2]["x"].size == (20, 16)


def test_imagenet_val_reads_the_synsets_in_webvision_order_not_sorted(root):
    # Synset ids chosen so that their sorted order differs from WebVision's label order.
    (root / "info" / "synsets.txt").write_text("n3 c\nn1 a\nn2 b\n")
    _imagenet(root, ["n3", "n1", "n2"], count=lambda c: c + 1)
    ds = load_imagenet_val(root, num_classes=3)
    assert ds.targets.tolist() == [0, 1, 1, 2, 2, 2]
    assert [p.parent.name for p in ds.paths] == ["n3", "n1", "n1", "n2", "n2", "n2"]
    assert ds.classes == ["c", "a", "b"]


def test_imagenet_val_accepts_dividemix_label_folders(root):
    (root / "info" / "synsets.txt").unlink()
    _imagenet(root, ["0", "1", "2", "3"])
    ds = load_imagenet_val(root, num_classes=3)
    assert ds.targets.tolist() == [0, 1, 1, 2] and ds.classes is None
    assert ds.paths[0] == root / "imagenet/val/0/ILSVRC2012_val_000000.JPEG"


def test_imagenet_val_errors_name_the_path(root, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"imagenet/val does not exist: expected"):
        load_imagenet_val(root)
    _imagenet(root, SYNSETS[:2])
    with pytest.raises(
        FileNotFoundError, match=rf"class folder .*{SYNSETS[2]} \(WebVision label 2\) does not"
    ):
        load_imagenet_val(root, num_classes=3)
    (root / "imagenet/val" / SYNSETS[2]).mkdir()
    with pytest.raises(FileNotFoundError, match=rf"{SYNSETS[2]} holds no images"):
        load_imagenet_val(root, num_classes=3)
    (root / "info" / "synsets.txt").write_text(f"{SYNSETS[0]} x\n")
    with pytest.raises(ValueError, match=r"synsets\.txt lists 1 synsets: expected at least 2"):
        load_imagenet_val(root, num_classes=2)
    (root / "info" / "synsets.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"synset list .*info/synsets\.txt does not exist"):
        load_imagenet_val(root, num_classes=2)


def test_catalog_webvision_test_set_and_imagenet_hook(root):
    _imagenet(root, SYNSETS[:50])
    assert "webvision" in DATASETS
    assert load_dataset("webvision", root, train=False).targets.tolist() == [1, 49]
    data = build_noisy_data("webvision", root)
    assert (len(data.train), len(data.test), data.num_classes) == (4, 2, 50)
    assert data.noise.kind == "web" and data.noise.summary()["rate"] is None
    extra = load_extra_eval_sets("webvision", root)
    assert list(extra) == ["imagenet"] and len(extra["imagenet"]) == 75
    assert extra["imagenet"][0]["x"].shape == (3, 224, 224)
