"""load_cifar on tiny CIFAR-10/100 folders written in the official Python 2 pickle format."""

import io
import pickle
import re
import struct

import numpy as np
import pytest
import torch
import torchvision

from ignoise.data.datasets.cifar import load_cifar
from ignoise.data.transforms import NORMALIZATION, eval_transform

TRAIN_PER_BATCH, NUM_TEST = 20, 10
CIFAR10_NAMES = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
]


class _Py2Pickler(pickle._Pickler):
    """Writes every str and bytes as a Python 2 ``str``, as in the official CIFAR files.

    Loaded with ``encoding="latin1"`` (torchvision) the keys come back as ``"data"``; with
    ``encoding="bytes"`` (the CIFAR web page) as ``b"data"``.
    """

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_str(self, obj):
        data = obj.encode("latin1") if isinstance(obj, str) else obj
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[str] = save_py2_str
    dispatch[bytes] = save_py2_str


def write_py2_pickle(path, obj):
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump(obj)
    # Files pickled under numpy 1 name numpy.core, not numpy._core.
    path.write_bytes(buf.getvalue().replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))


def _batch(rng, n, num_classes, label_key, **extra):
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    labels = [int(v) for v in rng.integers(0, num_classes, size=n)]
    return {"batch_label": "fixture", "data": data, label_key: labels, **extra}


@pytest.fixture
def cifar10(tmp_path):
    """A CIFAR-10 folder with 5 x 20 training and 10 test images; returns (root, batches)."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    batches = {}
    for name, n in [(f"data_batch_{i}", TRAIN_PER_BATCH) for i in range(1, 6)] + [
        ("test_batch", NUM_TEST)
    ]:
        batches[name] = _batch(rng, n, 10, "labels", filenames=[f"img_{i}.png" for i in range(n)])
        write_py2_pickle(folder / name, batches[name])
    write_py2_pickle(
        folder / "batches.meta",
        {"label_names": CIFAR10_NAMES, "num_cases_per_batch": TRAIN_PER_BATCH, "num_vis": 3072},
    )
    return tmp_path, batches


@pytest.fixture
def cifar100(tmp_path):
    rng = np.random.default_rng(1)
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    batches = {}
    for name, n in [("train", 30), ("test", NUM_TEST)]:
        coarse = [int(v) for v in rng.integers(0, 20, size=n)]
        batches[name] = _batch(rng, n, 100, "fine_labels", coarse_labels=coarse)
        write_py2_pickle(folder / name, batches[name])
    write_py2_pickle(
        folder / "meta",
        {
            "fine_label_names": [f"fine{i}" for i in range(100)],
            "coarse_label_names": [f"coarse{i}" for i in range(20)],
        },
    )
    return tmp_path, batches


def _expected_images(data):
    """Row-major (N, 3072) = 1024 red, then green, then blue values, each 32 rows of 32."""
    out = np.empty((len(data), 32, 32, 3), dtype=np.uint8)
    for c in range(3):
        out[..., c] = data[:, c * 1024 : (c + 1) * 1024].reshape(-1, 32, 32)
    return out


def test_fixture_has_the_official_key_types(cifar10):
    root, _ = cifar10
    with open(root / "cifar-10-batches-py" / "data_batch_1", "rb") as f:
        assert b"data" in pickle.load(f, encoding="bytes")


def test_reads_pixels_labels_and_class_names(cifar10):
    root, batches = cifar10
    ds = load_cifar(root, "cifar10", train=True)
    train = [batches[f"data_batch_{i}"] for i in range(1, 6)]
    raw = np.concatenate([b["data"] for b in train])
    labels = np.concatenate([b["labels"] for b in train])
    assert ds.images.dtype == np.uint8 and ds.images.shape == (100, 32, 32, 3)
    np.testing.assert_array_equal(ds.images, _expected_images(raw))
    # Image 23 is the fourth of data_batch_2; pixel (row 5, column 7) of its blue plane.
    assert ds.images[23, 5, 7, 2] == batches["data_batch_2"]["data"][3, 2048 + 5 * 32 + 7]
    np.testing.assert_array_equal(ds.targets, labels)
    np.testing.assert_array_equal(ds.clean_targets, labels)
    assert ds.num_classes == 10 and ds.classes == CIFAR10_NAMES

    test = load_cifar(root, "cifar10", train=False)
    np.testing.assert_array_equal(test.images, _expected_images(batches["test_batch"]["data"]))
    np.testing.assert_array_equal(test.targets, batches["test_batch"]["labels"])


def test_items_follow_the_batch_contract_with_a_torchvision_transform(cifar10):
    root, batches = cifar10
    ds = load_cifar(root, "cifar10", train=False, transform=eval_transform("cifar10"))
    item = ds[4]
    mean, std = (torch.tensor(v).view(3, 1, 1) for v in NORMALIZATION["cifar10"])
    pixels = torch.from_numpy(_expected_images(batches["test_batch"]["data"])[4]).permute(2, 0, 1)
    torch.testing.assert_close(item["x"], (pixels / 255 - mean) / std)
    assert item["y"] == item["y_clean"] == batches["test_batch"]["labels"][4]
    assert item["index"] == 4


def _spy_torchvision_init(monkeypatch, cls):
    calls = []
    original = cls.__init__

    def spy(self, *args, **kwargs):
        calls.append(kwargs)
        original(self, *args, **kwargs)

    monkeypatch.setattr(cls, "__init__", spy)
    return calls


def test_torchvision_reader_path_gives_the_same_dataset(cifar10, monkeypatch):
    root, _ = cifar10
    fallback = load_cifar(root, "cifar10", train=True)
    # Fixtures cannot match the official md5 sums, so the test (only) accepts them.
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr(torchvision.datasets.cifar, "check_integrity", lambda path, md5: True)
    calls = _spy_torchvision_init(monkeypatch, torchvision.datasets.CIFAR10)
    ds = load_cifar(root, "cifar10", train=True)
    assert calls == [{"train": True, "download": False}]
    np.testing.assert_array_equal(ds.images, fallback.images)
    np.testing.assert_array_equal(ds.targets, fallback.targets)
    assert ds.classes == fallback.classes and ds.images.flags.c_contiguous


def test_files_failing_the_md5_check_are_read_by_the_own_reader(cifar10, monkeypatch):
    root, _ = cifar10
    calls = _spy_torchvision_init(monkeypatch, torchvision.datasets.CIFAR10)
    assert len(load_cifar(root, "cifar10", train=True)) == 100
    assert len(calls) == 1  # torchvision was tried first


def test_cifar100_uses_fine_labels(cifar100):
    root, batches = cifar100
    ds = load_cifar(root, "cifar100", train=True)
    np.testing.assert_array_equal(ds.images, _expected_images(batches["train"]["data"]))
    np.testing.assert_array_equal(ds.targets, batches["train"]["fine_labels"])
    assert ds.num_classes == 100 and ds.classes[7] == "fine7"
    assert len(load_cifar(root, "cifar100", train=False)) == NUM_TEST


def test_download_is_asked_of_torchvision_only_when_requested(cifar10, tmp_path, monkeypatch):
    source, _ = cifar10
    target = tmp_path / "fresh"
    calls = []

    def fake_download(self):
        calls.append(self.root)
        (target / "cifar-10-batches-py").symlink_to(source / "cifar-10-batches-py")

    monkeypatch.setattr(torchvision.datasets.CIFAR10, "download", fake_download)
    target.mkdir()
    with pytest.raises(FileNotFoundError):
        load_cifar(target, "cifar10")
    assert calls == []
    assert len(load_cifar(target, "cifar10", download=True)) == 100
    assert calls == [str(target)]


def test_missing_root_folder_or_file_names_the_path_and_the_expected_files(cifar10, tmp_path):
    root, _ = cifar10
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "nowhere"))):
        load_cifar(tmp_path / "nowhere", "cifar10")
    with pytest.raises(FileNotFoundError, match=r"cifar-100-python.*download=True"):
        load_cifar(root, "cifar100")
    (root / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError) as info:
        load_cifar(root, "cifar10", train=False)
    message = str(info.value)
    assert "lacks data_batch_3:" in message and str(root / "cifar-10-batches-py") in message
    assert "test_batch, batches.meta" in message and "--download" in message


@pytest.mark.parametrize(
    "content, error",
    [
        (
            {"data": np.zeros((20, 3000), np.uint8), "labels": [0] * 20},
            r"uint8 array of shape \(N, 3072\)",
        ),
        ({"data": np.zeros((20, 3072), np.float32), "labels": [0] * 20}, "got float32"),
        ({"data": np.zeros((20, 3072), np.uint8)}, r"lacks the keys \['labels'\]"),
        ({"data": np.zeros((20, 3072), np.uint8), "labels": [0] * 19}, "one label per image"),
        ({"data": np.zeros((20, 3072), np.uint8), "labels": [10] * 20}, "out of range"),
        ([1, 2, 3], "must hold a pickled dict"),
    ],
)
def test_malformed_batch_raises_value_error_naming_the_file(cifar10, content, error):
    root, _ = cifar10
    path = root / "cifar-10-batches-py" / "data_batch_2"
    write_py2_pickle(path, content)
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*" + error):
        load_cifar(root, "cifar10")


def test_unreadable_or_unsafe_pickle_raises_value_error(cifar10):
    root, _ = cifar10
    path = root / "cifar-10-batches-py" / "test_batch"
    path.write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match=re.escape(str(path)) + " is not a readable CIFAR pickle"):
        load_cifar(root, "cifar10", train=False)
    marker = root / "created_by_the_pickle"

    class Exploit:
        def __reduce__(self):
            return open, (str(marker), "w")

    path.write_bytes(pickle.dumps({"data": Exploit()}, protocol=2))
    with pytest.raises(ValueError, match=r"refusing to load .*open"):
        load_cifar(root, "cifar10", train=False)
    assert not marker.exists()


def test_meta_file_must_name_every_class(cifar10):
    root, _ = cifar10
    path = root / "cifar-10-batches-py" / "batches.meta"
    write_py2_pickle(path, {"label_names": CIFAR10_NAMES[:9]})
    with pytest.raises(ValueError, match=re.escape(str(path)) + ".*10 class names"):
        load_cifar(root, "cifar10")


def test_unknown_name_lists_the_known_ones(tmp_path):
    with pytest.raises(ValueError, match=r"'svhn'.*\['cifar10', 'cifar100'\]"):
        load_cifar(tmp_path, "svhn")
