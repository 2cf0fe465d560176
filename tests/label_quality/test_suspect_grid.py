"""The images of the top suspects: the run's training set rebuilt and checked, and the grid."""

import numpy as np
import pytest
from evidence_files import write_run_json
from PIL import Image

from ignoise.label_quality import EvidenceError, label_issues
from ignoise.label_quality.evidence import Evidence
from ignoise.label_quality.grid import plot_suspect_grid, sample_images
from ignoise.label_quality.run_data import read_run_identity, run_training_set


class FileDataset:
    def __init__(self, paths):
        self.paths = paths


def test_images_of_an_in_memory_dataset():
    class Images:
        images = np.arange(3 * 4 * 4 * 3, dtype=np.uint8).reshape(3, 4, 4, 3)

    out = sample_images(Images(), [2, 0])
    assert [img.shape for img in out] == [(4, 4, 3), (4, 4, 3)]
    assert (out[0] == Images.images[2]).all()


def test_images_of_a_file_dataset_are_opened_and_shrunk(tmp_path):
    paths = []
    for i, size in enumerate([(400, 300), (20, 30)]):
        paths.append(tmp_path / f"{i}.png")
        Image.new("L", size, color=10 * i).save(paths[-1])
    out = sample_images(FileDataset(paths), [0, 1])
    assert out[0].shape == (120, 160, 3) and out[1].shape == (30, 20, 3)  # RGB, <= 160 a side
    assert out[1][0, 0].tolist() == [10, 10, 10]


def test_no_images():
    assert sample_images(object(), [0]) is None


def test_grid_png(tmp_path):
    ev = Evidence.from_predictions([0, 1, 2, 1, 0], np.full((5, 3), 1 / 3), clean_label=[0, 1, 2,
                                                                                       2, 1])
    table = label_issues(ev)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (8, 8), dtype=np.uint8) for _ in range(5)]
    path = plot_suspect_grid(table, images, tmp_path / "sub" / "grid.png", columns=5,
                             classes=["cat", "dog", "a very long class name"], title="t")
    assert path.stat().st_size > 1000
    with Image.open(path) as png:
        assert png.format == "PNG" and png.width > 2 * png.height  # one row of 5
    tall = plot_suspect_grid(table, images, tmp_path / "tall.png", columns=1)
    with Image.open(tall) as png:
        assert png.height > 3 * png.width  # one column of 5
    with pytest.raises(ValueError, match="4 images for 5 rows"):
        plot_suspect_grid(table, images[:4], tmp_path / "x.png")


@pytest.fixture(scope="module")
def digits_labels():
    from ignoise.data import build_noisy_data

    return build_noisy_data("digits", noise="sym", noise_rate=0.4, seed=0).train.targets


def test_rebuilds_the_digits_of_a_run(tmp_path, digits_labels):
    write_run_json(tmp_path)
    train = run_training_set(tmp_path, digits_labels)
    assert train.images.shape == (1437, 8, 8, 1) and train.classes[3] == "3"
    assert (train.targets == digits_labels).all()


def test_labels_that_changed_since_the_run(tmp_path, digits_labels):
    write_run_json(tmp_path, seed=1)  # another noise draw
    with pytest.raises(EvidenceError) as err:
        run_training_set(tmp_path, digits_labels)
    assert "training labels differ from the evidence's given_label" in str(err.value)
    assert "changed since the run" in str(err.value)
    write_run_json(tmp_path)
    with pytest.raises(EvidenceError, match="has 1437 samples but the evidence has 1436"):
        run_training_set(tmp_path, digits_labels[:-1])


def test_a_dataset_of_the_users_own(tmp_path):
    write_run_json(tmp_path, dataset="custom")
    with pytest.raises(ValueError, match="dataset 'custom', which ignoise cannot rebuild"):
        run_training_set(tmp_path, np.zeros(3, np.int64))


def test_run_json_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="run.json does not exist"):
        read_run_identity(tmp_path)
    (tmp_path / "run.json").write_text("{not json")
    with pytest.raises(EvidenceError, match="run.json: not readable as JSON"):
        read_run_identity(tmp_path)
    (tmp_path / "run.json").write_text('{"method": "ce"}')
    with pytest.raises(EvidenceError, match="expected {'method'"):
        read_run_identity(tmp_path)
