"""NoisyData: from_datasets, in_channels, eval_train, and build_noisy_data built on them."""

import numpy as np
import pytest
import torch
from PIL import Image

from ignoise.data import (
    ArrayDataset,
    FileImageDataset,
    NoisyData,
    build_noisy_data,
    eval_transform,
    load_dataset,
    train_transform,
)
from ignoise.noise import make_noise

K = 4


def arrays(shape, n=40, num_classes=K, seed=0, **kwargs):
    rng = np.random.default_rng(seed)
    inputs = torch.as_tensor(rng.normal(size=(n, *shape)).astype(np.float32))
    return ArrayDataset(inputs, rng.integers(0, num_classes, n), num_classes, **kwargs)


@pytest.mark.parametrize("noise", ["sym", "pairflip", "instance"])
def test_build_noisy_data_draws_what_from_datasets_draws(noise):
    built = build_noisy_data("digits", noise=noise, noise_rate=0.3, seed=5)
    train = load_dataset("digits", "data", train=True, transform=train_transform("digits"))
    test = load_dataset("digits", "data", train=False, transform=eval_transform("digits"))
    composed = NoisyData.from_datasets(train, test, noise=noise, noise_rate=0.3, seed=5,
                                       name="digits")
    np.testing.assert_array_equal(built.train.targets, composed.train.targets)
    assert built.noise.rate == composed.noise.rate > 0.2
    features = train.images.astype(np.float32).reshape(len(train), -1)
    direct = make_noise(noise, train.targets, 0.3, 10, seed=5,
                        features=features if noise == "instance" else None)
    np.testing.assert_array_equal(built.train.targets, direct.noisy)


def test_asym_noise_takes_the_map_of_a_named_dataset_or_of_the_class_count():
    train = arrays((3,), n=200, num_classes=10)
    by_name = NoisyData.from_datasets(train, train, noise="asym", noise_rate=0.4, name="cifar10")
    by_count = NoisyData.from_datasets(train, train, noise="asym", noise_rate=0.4)
    np.testing.assert_array_equal(by_name.train.targets, by_count.train.targets)
    assert by_name.noise.transition[3, 5] > 0  # CIFAR-10's cat -> dog
    with pytest.raises(ValueError, match="no map for dataset 'digits'"):
        build_noisy_data("digits", noise="asym", noise_rate=0.4)


def test_in_channels_of_images_signals_and_vectors():
    assert build_noisy_data("digits").in_channels == 1
    signal = arrays((3, 16))
    assert NoisyData.from_datasets(signal, signal).in_channels == 3
    image = arrays((2, 8, 8))
    assert NoisyData.from_datasets(image, image).in_channels == 2
    vector = arrays((16,))
    assert NoisyData.from_datasets(vector, vector).in_channels is None


def test_in_channels_of_image_files_comes_from_the_transformed_sample(tmp_path):
    paths = []
    for i in range(4):
        paths.append(tmp_path / f"{i}.png")
        Image.new("RGB", (10, 10), (i, 0, 0)).save(paths[-1])
    files = FileImageDataset(paths, [0, 1, 0, 1], 2, transform=eval_transform("animal10n"))
    assert NoisyData.from_datasets(files, files).in_channels == 3
    raw = files.with_transform(None)  # PIL images: their band count
    assert NoisyData.from_datasets(raw, raw).in_channels == 3


def test_eval_train_of_a_named_dataset_is_the_unaugmented_training_set():
    data = build_noisy_data("digits", noise="sym", noise_rate=0.5, seed=1)
    plain = data.eval_train
    np.testing.assert_array_equal(plain.targets, data.train.targets)
    np.testing.assert_array_equal(plain.clean_targets, data.train.clean_targets)
    assert plain.images is data.train.images
    assert torch.equal(plain[10]["x"], eval_transform("digits")(data.train.load(10)))


def test_eval_train_of_a_custom_dataset_is_train_or_the_given_train_eval():
    jitter = lambda x: x + torch.randn_like(x)
    train = arrays((2, 8), transform=jitter)
    data = NoisyData.from_datasets(train, train, noise="sym", noise_rate=0.5, seed=2)
    assert data.eval_train is data.train

    fixed = train.with_transform(None)
    data = NoisyData.from_datasets(train, train, noise="sym", noise_rate=0.5, seed=2,
                                   train_eval=fixed)
    assert data.eval_train is data.train_eval
    np.testing.assert_array_equal(data.eval_train.targets, data.train.targets)
    np.testing.assert_array_equal(data.eval_train.clean_targets, train.targets)
    assert torch.equal(data.eval_train[3]["x"], train.inputs[3])


def test_noisy_labels_given_with_their_clean_ones_are_measured_not_corrupted_again():
    clean = np.arange(40) % K
    given = np.where(np.arange(40) < 10, (clean + 1) % K, clean)
    train = ArrayDataset(torch.zeros(40, 2), given, K, clean_targets=clean)
    data = NoisyData.from_datasets(train, train)
    assert data.train is train and data.noise.rate == 0.25 and data.noise.kind == "given"
    with pytest.raises(ValueError, match=r"already noisy \(10 of 40 differ.*got 'sym'"):
        NoisyData.from_datasets(train, train, noise="sym", noise_rate=0.2)


def test_bad_bundles_name_the_offending_values():
    train, test = arrays((3,)), arrays((3,), num_classes=K + 2)
    with pytest.raises(ValueError, match="custom: the training set has 4 classes but the test "
                                         "set has 6"):
        NoisyData.from_datasets(train, test)
    with pytest.raises(ValueError, match="train_eval has 39 samples but train has 40"):
        NoisyData.from_datasets(train, train, train_eval=arrays((3,), n=39))
    with pytest.raises(TypeError, match="train must be an ignoise dataset .* got list"):
        NoisyData.from_datasets([{"x": 0, "y": 0, "index": 0}], test)
    with pytest.raises(ValueError, match="noise rate 1.5 is outside"):
        NoisyData.from_datasets(train, train, noise="sym", noise_rate=1.5)


def test_instance_noise_without_features_says_what_it_needs(tmp_path):
    Image.new("RGB", (4, 4)).save(tmp_path / "a.png")
    files = FileImageDataset([tmp_path / "a.png"] * 4, [0, 1, 0, 1], 2)
    with pytest.raises(ValueError, match="needs one feature row per sample: FileImageDataset"):
        NoisyData.from_datasets(files, files, noise="instance", noise_rate=0.2)
