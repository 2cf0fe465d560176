"""Per-dataset torchvision transforms: output shapes, normalization values, augmentations."""

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import transforms as T

from ignoise.data.transforms import (
    CLOTHING1M_NORMALIZATION,
    NORMALIZATION,
    TRANSFORM_NAMES,
    TRANSFORM_PRESETS,
    eval_transform,
    train_transform,
)

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


# -- presets: DivideMix's Clothing1M pipeline (LiJunnan1992/DivideMix, dataloader_clothing1M.py)

def _photo(size=(400, 300), seed=0):
    """A random RGB image, so that every crop offset and flip gives another tensor."""
    width, height = size
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels, "RGB")


DIVIDEMIX_STATS = ((0.6959, 0.6537, 0.6371), (0.3113, 0.3192, 0.3214))


def test_dividemix_training_is_resize_random_crop_flip_with_clothing1m_statistics():
    assert TRANSFORM_PRESETS == ("standard", "dividemix")
    assert CLOTHING1M_NORMALIZATION == DIVIDEMIX_STATS
    by_hand = T.Compose([T.Resize(256), T.RandomCrop(224), T.RandomHorizontalFlip(),
                         T.ToTensor(), T.Normalize(*DIVIDEMIX_STATS)])
    img, preset = _photo(), train_transform("clothing1m", "dividemix")
    outs = []
    for seed in range(6):
        torch.manual_seed(seed)
        out = preset(img)
        torch.manual_seed(seed)
        torch.testing.assert_close(out, by_hand(img), rtol=0, atol=0)
        assert out.dtype == torch.float32 and tuple(out.shape) == (3, 224, 224)
        outs.append(out)
    assert any(not torch.equal(outs[0], o) for o in outs[1:])  # random crops and flips


def test_dividemix_eval_is_resize_centre_crop_with_clothing1m_statistics():
    by_hand = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(),
                         T.Normalize(*DIVIDEMIX_STATS)])
    img, preset = _photo(), eval_transform("clothing1m", "dividemix")
    torch.manual_seed(0)
    first = preset(img)
    torch.manual_seed(1)
    torch.testing.assert_close(preset(img), first, rtol=0, atol=0)
    torch.testing.assert_close(first, by_hand(img), rtol=0, atol=0)
    assert tuple(first.shape) == (3, 224, 224)
    # a constant image: exactly (v - mean) / std per channel
    out = preset(_constant((300, 260), 51))
    mean, std = (torch.tensor(v).view(-1, 1, 1) for v in DIVIDEMIX_STATS)
    torch.testing.assert_close(out, ((0.2 - mean) / std).expand_as(out))


def test_standard_preset_is_the_pipeline_of_before():
    # the transforms of each dataset as they were before presets, built by hand
    imagenet = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))

    def tail(stats):
        return [T.ToTensor(), T.Normalize(*stats)]

    cases = {
        "clothing1m": (_photo(), [T.RandomResizedCrop(224), T.RandomHorizontalFlip()]
                       + tail(imagenet), [T.Resize(256), T.CenterCrop(224)] + tail(imagenet)),
        "cifar10": (_photo((32, 32)), [T.RandomCrop(32, padding=4), T.RandomHorizontalFlip()]
                    + tail(NORMALIZATION["cifar10"]), tail(NORMALIZATION["cifar10"])),
    }
    for name, (img, train_ops, eval_ops) in cases.items():
        for preset, ops in ((train_transform(name, "standard"), train_ops),
                            (train_transform(name), train_ops),
                            (eval_transform(name, "standard"), eval_ops),
                            (eval_transform(name), eval_ops)):
            torch.manual_seed(3)
            out = preset(img)
            torch.manual_seed(3)
            torch.testing.assert_close(out, T.Compose(ops)(img), rtol=0, atol=0)


def test_a_preset_the_dataset_lacks_or_an_unknown_one_is_refused():
    for transform in (train_transform, eval_transform):
        with pytest.raises(ValueError, match=r"preset 'dividemix' is defined for clothing1m "
                                             r"only, got dataset 'cifar10'"):
            transform("cifar10", "dividemix")
        with pytest.raises(ValueError, match=r"unknown transforms preset 'fancy': expected one "
                                             r"of \('standard', 'dividemix'\)"):
            transform("clothing1m", "fancy")
