"""Per-dataset torchvision transforms: output shapes, normalization values, augmentations."""

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import transforms as T

from ignoise.data.transforms import NORMALIZATION, TRANSFORM_NAMES, eval_transform, train_transform

CIFAR = ("cifar10", "cifar100", "cifar10n", "cifar100n")


def _constant(size, value, mode="RGB"):
    width, height = size
    return Image.new(mode, (width, height), value if mode == "L" else (value,) * 3)


def test_every_name_has_normalization_and_both_transforms():
    assert set(TRANSFORM_NAMES) == {"digits", *CIFAR, "animal10n", "clothing1m", "webvision"}
    assert NORMALIZATION["cifar10n"] == NORMALIZATION["cifar10"]
    assert NORMALIZATION["cifar100n"] == NORMALIZATION["cifar100"]
    assert NORMALIZATION["webvision"] == ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


@pytest.mark.parametrize(
    "name, size, mode, shape",
    [("digits", (8, 8), "L", (1, 8, 8))]
    + [(n, (32, 32), "RGB", (3, 32, 32)) for n in CIFAR]
    + [
        ("animal10n", (64, 64), "RGB", (3, 64, 64)),
        ("clothing1m", (300, 260), "RGB", (3, 224, 224)),
        ("webvision", (500, 375), "RGB", (3, 224, 224)),
    ],
)
def test_outputs_are_float_tensors_of_the_model_input_size(name, size, mode, shape):
    img = _constant(size, 100, mode)
    for transform in (train_transform(name), eval_transform(name)):
        out = transform(img)
        assert out.dtype == torch.float32 and tuple(out.shape) == shape


@pytest.mark.parametrize("name", ["digits", "cifar10", "cifar100", "animal10n"])
def test_eval_normalizes_with_the_exported_constants(name):
    mode, size = ("L", (8, 8)) if name == "digits" else ("RGB", (8, 8))
    out = eval_transform(name)(_constant(size, 51, mode))
    mean, std = (torch.tensor(v).view(-1, 1, 1) for v in NORMALIZATION[name])
    torch.testing.assert_close(out, ((0.2 - mean) / std).expand_as(out))


def test_digits_training_has_no_augmentation():
    img = Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8) * 4, "L")
    torch.testing.assert_close(train_transform("digits")(img), eval_transform("digits")(img))


def test_cifar_training_pads_crops_and_flips():
    steps = train_transform("cifar10").transforms
    crop, flip = steps[0], steps[1]
    assert isinstance(crop, T.RandomCrop) and crop.size == (32, 32) and crop.padding == 4
    assert isinstance(flip, T.RandomHorizontalFlip)
    # A left-to-right ramp: crops shift it, flips reverse it; both happen over 40 draws.
    ramp = Image.fromarray(
        np.tile(np.arange(32, dtype=np.uint8) * 8, (32, 1))[..., None].repeat(3, -1)
    )
    torch.manual_seed(0)
    outs = [train_transform("cifar10")(ramp) for _ in range(40)]
    centre = [o[0, 16, 12:20] for o in outs]
    assert any(bool((c.diff() > 0).all()) for c in centre) and any(
        bool((c.diff() < 0).all()) for c in centre
    )


def test_imagenet_style_pipelines():
    assert isinstance(train_transform("clothing1m").transforms[0], T.RandomResizedCrop)
    resize, crop = eval_transform("webvision").transforms[:2]
    assert isinstance(resize, T.Resize) and resize.size == 256 and crop.size == (224, 224)
    animal = train_transform("animal10n").transforms[0]
    assert isinstance(animal, T.RandomCrop) and animal.size == (64, 64)


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown dataset 'mnist'.*'digits', 'cifar10'"):
        train_transform("mnist")
    with pytest.raises(ValueError, match=r"'mnist'"):
        eval_transform("mnist")
