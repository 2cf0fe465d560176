"""load_cifar_n on a tiny CIFAR folder and CIFAR-N label files written by torch.save."""

import pickle
import re
import zipfile

import numpy as np
import pytest
import torch

from ignoise.data.datasets.cifar_n import load_cifar_n, read_human_labels

PER_BATCH = 20
N_TRAIN = 5 * PER_BATCH


def _write_cifar10(root, rng):
    """CIFAR-10 pickles with str keys (what the official files give under latin1)."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir()
    labels = {}
    for name, n in [(f"data_batch_{i}", PER_BATCH) for i in range(1, 6)] + [("test_batch", 10)]:
        labels[name] = rng.integers(0, 10, size=n)
        entry = {
            "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            "labels": labels[name].tolist(),
        }
        (folder / name).write_bytes(pickle.dumps(entry, protocol=2))
    names = {"label_names": [f"c{i}" for i in range(10)]}
    (folder / "batches.meta").write_bytes(pickle.dumps(names, protocol=2))
    train = np.concatenate([labels[f"data_batch_{i}"] for i in range(1, 6)])
    return train, labels["test_batch"]


@pytest.fixture
def cifar10n(tmp_path):
    """(root, CIFAR train labels, CIFAR test labels, human label arrays)."""
    rng = np.random.default_rng(0)
    train, test = _write_cifar10(tmp_path, rng)
    human = {"clean_label": train.copy()}
    for key, shift in [("aggre_label", 1), ("worse_label", 2), ("random_label1", 3)]:
        human[key] = (train + shift) % 10
    human["random_label2"] = rng.integers(0, 10, N_TRAIN)
    human["random_label3"] = rng.integers(0, 10, N_TRAIN).astype(np.int32)
    torch.save(human, tmp_path / "CIFAR-10_human.pt")
    return tmp_path, train, test, human


@pytest.mark.parametrize(
    "label_set, key",
    [
        ("aggre", "aggre_label"),
        ("worse", "worse_label"),
        ("random1", "random_label1"),
        ("random2", "random_label2"),
        ("random3", "random_label3"),
        (None, "aggre_label"),
    ],
)
def test_human_labels_replace_the_targets_and_cifar_labels_stay_clean(cifar10n, label_set, key):
    root, train, _, human = cifar10n
    ds = load_cifar_n(root, "cifar10n", label_set=label_set)
    np.testing.assert_array_equal(ds.targets, human[key])
    np.testing.assert_array_equal(ds.clean_targets, train)
    assert ds.images.shape == (N_TRAIN, 32, 32, 3)
    item = ds[7]
    assert (item["y"], item["y_clean"]) == (human[key][7], train[7])


def test_test_split_is_the_clean_cifar_test_set(cifar10n):
    root, _, test, _ = cifar10n
    (root / "CIFAR-10_human.pt").unlink()  # not needed for the test set
    ds = load_cifar_n(root, "cifar10n", label_set="worse", train=False)
    np.testing.assert_array_equal(ds.targets, test)
    np.testing.assert_array_equal(ds.clean_targets, test)


def test_labels_file_elsewhere(cifar10n, tmp_path_factory):
    root, _, _, human = cifar10n
    other = tmp_path_factory.mktemp("labels") / "cifar10n.pt"
    (root / "CIFAR-10_human.pt").rename(other)
    ds = load_cifar_n(root, "cifar10n", label_set="worse", labels_file=other)
    np.testing.assert_array_equal(ds.targets, human["worse_label"])


def test_files_saved_under_numpy_1_and_as_tensors_load(cifar10n):
    root, _, _, human = cifar10n
    path = root / "CIFAR-10_human.pt"
    legacy = root / "legacy.pt"
    # The published files name numpy 1's module: rewrite the pickle's GLOBAL opcodes to match.
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(legacy, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.endswith("data.pkl"):
                data = data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
            dst.writestr(info, data)
    with zipfile.ZipFile(legacy) as z:
        assert b"numpy.core.multiarray" in z.read("CIFAR-10_human/data.pkl")
    np.testing.assert_array_equal(read_human_labels(legacy)["worse_label"], human["worse_label"])
    torch.save({k: torch.from_numpy(v) for k, v in human.items()}, path)
    np.testing.assert_array_equal(
        load_cifar_n(root, label_set="random1").targets, human["random_label1"]
    )


def test_file_with_other_objects_is_refused_not_executed(cifar10n):
    root, _, _, human = cifar10n
    marker = root / "created_by_the_pickle"

    class Exploit:
        def __reduce__(self):
            return open, (str(marker), "w")

    path = root / "CIFAR-10_human.pt"
    torch.save({**human, "extra": Exploit()}, path)
    with pytest.raises(ValueError, match=re.escape(str(path)) + " is not a CIFAR-N label file"):
        load_cifar_n(root)
    assert not marker.exists()


def test_cifar100n_noisy_labels(tmp_path):
    rng = np.random.default_rng(1)
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    fine = {name: rng.integers(0, 100, n) for name, n in [("train", 30), ("test", 5)]}
    for name, labels in fine.items():
        entry = {
            "data": np.zeros((len(labels), 3072), np.uint8),
            "fine_labels": labels.tolist(),
            "coarse_labels": (labels // 5).tolist(),
        }
        (folder / name).write_bytes(pickle.dumps(entry, protocol=2))
    meta = {"fine_label_names": [str(i) for i in range(100)]}
    (folder / "meta").write_bytes(pickle.dumps(meta, protocol=2))
    noisy = (fine["train"] + 42) % 100
    torch.save(
        {
            "clean_label": fine["train"],
            "noisy_label": noisy,
            "clean_coarse_label": fine["train"] // 5,
            "noisy_coarse_label": noisy // 5,
        },
        tmp_path / "CIFAR-100_human.pt",
    )
    ds = load_cifar_n(tmp_path, "cifar100n")
    np.testing.assert_array_equal(ds.targets, noisy)
    np.testing.assert_array_equal(ds.clean_targets, fine["train"])
    assert ds.num_classes == 100
    with pytest.raises(ValueError, match=r"'aggre' is not offered by cifar100n.*\['noisy100'\]"):
        load_cifar_n(tmp_path, "cifar100n", label_set="aggre")


def test_bad_names_and_label_sets(tmp_path):
    with pytest.raises(ValueError, match=r"'noisy100' is not offered by cifar10n.*'aggre'"):
        load_cifar_n(tmp_path, "cifar10n", label_set="noisy100")
    with pytest.raises(ValueError, match=r"unknown CIFAR-N dataset 'cifar10'"):
        load_cifar_n(tmp_path, "cifar10")


def test_missing_label_file_names_the_path_and_the_file(cifar10n):
    root, _, _, _ = cifar10n
    (root / "CIFAR-10_human.pt").unlink()
    with pytest.raises(
        FileNotFoundError,
        match=re.escape(str(root / "CIFAR-10_human.pt")) + ".*expected CIFAR-10_human.pt",
    ):
        load_cifar_n(root, "cifar10n")


def _shorter(h):
    h["worse_label"] = h["worse_label"][:-1]


def _out_of_range(h):
    h["worse_label"][5] = 10


def _other_clean_labels(h):
    h["clean_label"][3:6] = (h["clean_label"][3:6] + 1) % 10


def _missing(h):
    del h["worse_label"]


def _float(h):
    h["worse_label"] = h["worse_label"].astype(np.float64)


@pytest.mark.parametrize(
    "change, error",
    [
        (_shorter, r"'worse_label' has shape \(99,\).*100 images; the files do not match"),
        (_out_of_range, r"CIFAR-10_human.pt worse_label\[5\] = 10 is out of range"),
        (_other_clean_labels, r"at 3 of 100 images \(first at index 3\); the files do not match"),
        (_missing, r"lacks 'worse_label'; it holds \['aggre_label'"),
        (_float, "CIFAR-10_human.pt worse_label must be integers"),
    ],
)
def test_label_file_that_does_not_fit_the_cifar_train_set(cifar10n, change, error):
    root, _, _, human = cifar10n
    human = {k: v.copy() for k, v in human.items()}
    change(human)
    torch.save(human, root / "CIFAR-10_human.pt")
    with pytest.raises(ValueError, match=error):
        load_cifar_n(root, "cifar10n", label_set="worse")


def test_build_noisy_data_trains_on_the_benchmarks_first_label_set_unless_told(cifar10n):
    from ignoise.data import build_noisy_data

    root, _, _, human = cifar10n
    default = build_noisy_data("cifar10n", root)
    assert np.array_equal(default.train.targets, human["aggre_label"])
    worse = build_noisy_data("cifar10n", root, label_set="worse")
    assert np.array_equal(worse.train.targets, human["worse_label"])


def test_the_label_set_is_a_checked_config_key():
    from ignoise.config import ConfigError
    from ignoise.methods import CEConfig

    assert CEConfig(dataset="cifar10n").effective_label_set() == "aggre"
    assert CEConfig(dataset="cifar100n").effective_label_set() == "noisy100"
    assert CEConfig(dataset="cifar10n", label_set="random2").effective_label_set() == "random2"
    assert CEConfig(dataset="cifar10").effective_label_set() is None
    with pytest.raises(ConfigError, match="'worst' is not offered by cifar10n: expected one of "
                                          "aggre, random1, random2, random3, worse"):
        CEConfig(dataset="cifar10n", label_set="worst")
    with pytest.raises(ConfigError, match="only cifar10n and cifar100n have label sets"):
        CEConfig(dataset="cifar10", label_set="aggre")
