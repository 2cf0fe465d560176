"""Per-dataset training and evaluation transforms, from PIL images to normalized float tensors.

Each dataset has ignoise's own pipeline (the ``"standard"`` preset); Clothing1M also has
DivideMix's (the ``"dividemix"`` preset), so that a DivideMix run reads its images as
DivideMix's code does.
"""

from __future__ import annotations

from torchvision import transforms as T

__all__ = ["NORMALIZATION", "TRANSFORM_NAMES", "TRANSFORM_PRESETS", "CLOTHING1M_NORMALIZATION",
           "train_transform", "eval_transform"]

_CIFAR10 = ((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010))
_CIFAR100 = ((0.507, 0.487, 0.441), (0.267, 0.256, 0.276))
_IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))

#: Per-channel ``(mean, std)`` of the inputs scaled to [0, 1], by dataset name.
#: Digits: measured on the 1,437 training images. CIFAR: the values of DivideMix and most
#: noisy-label code (the CIFAR-10 std there is not the pixel std, 0.247/0.243/0.261; kept so
#: that results compare). Animal-10N, Clothing1M, WebVision: ImageNet's, for pretrained nets.
NORMALIZATION = {
    "digits": ((0.3054,), (0.3760,)),
    "cifar10": _CIFAR10,
    "cifar10n": _CIFAR10,
    "cifar100": _CIFAR100,
    "cifar100n": _CIFAR100,
    "animal10n": _IMAGENET,
    "clothing1m": _IMAGENET,
    "webvision": _IMAGENET,
}

#: The dataset names the transforms know.
TRANSFORM_NAMES = tuple(NORMALIZATION)

#: The image pipelines: ``"standard"``, ignoise's per-dataset one (every dataset), and
#: ``"dividemix"``, DivideMix's Clothing1M one (``clothing1m`` only).
TRANSFORM_PRESETS = ("standard", "dividemix")

#: Clothing1M's per-channel ``(mean, std)`` as DivideMix normalizes it (the
#: ``transforms.Normalize`` of LiJunnan1992/DivideMix, ``dataloader_clothing1M.py``), used by
#: the ``"dividemix"`` preset; the ``"standard"`` one uses ImageNet's (:data:`NORMALIZATION`).
CLOTHING1M_NORMALIZATION = ((0.6959, 0.6537, 0.6371), (0.3113, 0.3192, 0.3214))

#: The datasets each preset other than ``"standard"`` is defined for.
_PRESET_DATASETS = {"dividemix": ("clothing1m",)}


def _check(name: str, preset: str) -> None:
    if name not in NORMALIZATION:
        raise ValueError(
            f"unknown dataset {name!r} for transforms: expected one of {TRANSFORM_NAMES}"
        )
    if preset not in TRANSFORM_PRESETS:
        raise ValueError(
            f"unknown transforms preset {preset!r}: expected one of {TRANSFORM_PRESETS}"
        )
    if preset != "standard" and name not in _PRESET_DATASETS[preset]:
        raise ValueError(
            f"transforms preset {preset!r} is defined for {', '.join(_PRESET_DATASETS[preset])} "
            f"only, got dataset {name!r}: expected preset 'standard'"
        )


def _to_tensor(mean_std: tuple) -> list:
    mean, std = mean_std
    return [T.ToTensor(), T.Normalize(mean, std)]


def train_transform(dataset_name: str, preset: str = "standard") -> T.Compose:
    """The training augmentation of ``dataset_name``, ending in a normalized float tensor.

    ``preset="standard"``:

    - ``digits``: none (an 8x8 digit cropped or flipped changes meaning or loses strokes).
    - CIFAR (``cifar10``, ``cifar100`` and their ``n`` variants): 4-pixel padded 32x32 random
      crop and horizontal flip.
    - ``animal10n`` (64x64 images): 4-pixel padded 64x64 random crop and horizontal flip.
    - ``clothing1m``, ``webvision``: random-resized 224x224 crop and horizontal flip.

    ``preset="dividemix"`` (``clothing1m`` only): DivideMix's training transform
    (LiJunnan1992/DivideMix, ``dataloader_clothing1M.py``): the short side resized to 256, a
    random 224x224 crop, a horizontal flip, and :data:`CLOTHING1M_NORMALIZATION`.

    Args:
        dataset_name: one of :data:`TRANSFORM_NAMES`.
        preset: one of :data:`TRANSFORM_PRESETS`.

    Returns:
        A ``torchvision.transforms.Compose`` taking a PIL image.

    Raises:
        ValueError: for an unknown name or preset, or a preset not defined for the dataset,
            naming the value and what was expected.

    Examples:
        >>> from PIL import Image
        >>> train_transform("cifar10")(Image.new("RGB", (32, 32))).shape
        torch.Size([3, 32, 32])
        >>> train_transform("clothing1m", "dividemix")(Image.new("RGB", (400, 300))).shape
        torch.Size([3, 224, 224])
    """
    _check(dataset_name, preset)
    if preset == "dividemix":
        return T.Compose([T.Resize(256), T.RandomCrop(224), T.RandomHorizontalFlip()]
                         + _to_tensor(CLOTHING1M_NORMALIZATION))
    if dataset_name == "digits":
        augment = []
    elif dataset_name == "animal10n":
        augment = [T.RandomCrop(64, padding=4), T.RandomHorizontalFlip()]
    elif dataset_name in ("clothing1m", "webvision"):
        augment = [T.RandomResizedCrop(224), T.RandomHorizontalFlip()]
    else:
        augment = [T.RandomCrop(32, padding=4), T.RandomHorizontalFlip()]
    return T.Compose(augment + _to_tensor(NORMALIZATION[dataset_name]))


def eval_transform(dataset_name: str, preset: str = "standard") -> T.Compose:
    """The deterministic evaluation transform of ``dataset_name``.

    ``preset="standard"``: ``clothing1m`` and ``webvision`` resize the short side to 256 and
    take the central 224x224 crop; the other datasets are only normalized.

    ``preset="dividemix"`` (``clothing1m`` only): DivideMix's test and ``eval_train`` transform
    (LiJunnan1992/DivideMix, ``dataloader_clothing1M.py``): the same resize and central crop,
    with :data:`CLOTHING1M_NORMALIZATION`.

    Args:
        dataset_name: one of :data:`TRANSFORM_NAMES`.
        preset: one of :data:`TRANSFORM_PRESETS`.

    Returns:
        A ``torchvision.transforms.Compose`` taking a PIL image.

    Raises:
        ValueError: for an unknown name or preset, or a preset not defined for the dataset,
            naming the value and what was expected.

    Examples:
        >>> from PIL import Image
        >>> eval_transform("digits")(Image.new("L", (8, 8))).shape
        torch.Size([1, 8, 8])
    """
    _check(dataset_name, preset)
    mean_std = CLOTHING1M_NORMALIZATION if preset == "dividemix" else NORMALIZATION[dataset_name]
    resize = (
        [T.Resize(256), T.CenterCrop(224)] if dataset_name in ("clothing1m", "webvision") else []
    )
    return T.Compose(resize + _to_tensor(mean_std))
