"""Per-dataset training and evaluation transforms, from PIL images to normalized float tensors."""

from __future__ import annotations

from torchvision import transforms as T

__all__ = ["NORMALIZATION", "TRANSFORM_NAMES", "train_transform", "eval_transform"]

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


def _normalize(name: str) -> list:
    if name not in NORMALIZATION:
        raise ValueError(
            f"unknown dataset {name!r} for transforms: expected one of {TRANSFORM_NAMES}"
        )
    mean, std = NORMALIZATION[name]
    return [T.ToTensor(), T.Normalize(mean, std)]


def train_transform(dataset_name: str) -> T.Compose:
    """The training augmentation of ``dataset_name``, ending in a normalized float tensor.

    - ``digits``: none (an 8x8 digit cropped or flipped changes meaning or loses strokes).
    - CIFAR (``cifar10``, ``cifar100`` and their ``n`` variants): 4-pixel padded 32x32 random
      crop and horizontal flip.
    - ``animal10n`` (64x64 images): 4-pixel padded 64x64 random crop and horizontal flip.
    - ``clothing1m``, ``webvision``: random-resized 224x224 crop and horizontal flip.

    Args:
        dataset_name: one of :data:`TRANSFORM_NAMES`.

    Returns:
        A ``torchvision.transforms.Compose`` taking a PIL image.

    Raises:
        ValueError: for an unknown name, listing the known ones.

    Examples:
        >>> from PIL import Image
        >>> train_transform("cifar10")(Image.new("RGB", (32, 32))).shape
        torch.Size([3, 32, 32])
    """
    tail = _normalize(dataset_name)
    if dataset_name == "digits":
        augment = []
    elif dataset_name == "animal10n":
        augment = [T.RandomCrop(64, padding=4), T.RandomHorizontalFlip()]
    elif dataset_name in ("clothing1m", "webvision"):
        augment = [T.RandomResizedCrop(224), T.RandomHorizontalFlip()]
    else:
        augment = [T.RandomCrop(32, padding=4), T.RandomHorizontalFlip()]
    return T.Compose(augment + tail)


def eval_transform(dataset_name: str) -> T.Compose:
    """The deterministic evaluation transform of ``dataset_name``.

    ``clothing1m`` and ``webvision`` resize the short side to 256 and take the central 224x224
    crop; the other datasets are only normalized.

    Args:
        dataset_name: one of :data:`TRANSFORM_NAMES`.

    Returns:
        A ``torchvision.transforms.Compose`` taking a PIL image.

    Raises:
        ValueError: for an unknown name, listing the known ones.

    Examples:
        >>> from PIL import Image
        >>> eval_transform("digits")(Image.new("L", (8, 8))).shape
        torch.Size([1, 8, 8])
    """
    tail = _normalize(dataset_name)
    resize = (
        [T.Resize(256), T.CenterCrop(224)] if dataset_name in ("clothing1m", "webvision") else []
    )
    return T.Compose(resize + tail)
