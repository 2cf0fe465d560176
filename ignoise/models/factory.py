"""Build a network by the name a recipe or config gives."""

from __future__ import annotations

from torch import nn

from .preact_resnet import preact_resnet18
from .small_cnn import DigitsCNN
from .torchvision_resnet import resnet

__all__ = ["build_model", "MODEL_NAMES"]

#: The names :func:`build_model` accepts.
MODEL_NAMES = ("preact_resnet18", "resnet34", "resnet50", "digits_cnn")


def build_model(name: str, num_classes: int, in_channels: int = 3, **kwargs) -> nn.Module:
    """The network called ``name``, with ``num_classes`` outputs.

    Args:
        name: one of :data:`MODEL_NAMES`.
        num_classes: number of outputs.
        in_channels: input channels; the torchvision ResNets take 3 only.
        **kwargs: passed to the constructor: ``final_norm`` (preact_resnet18), ``pretrained``
            and ``weights_path`` (resnet34, resnet50), ``dropout`` (digits_cnn).

    Returns:
        The network.

    Raises:
        ValueError: for an unknown name, listing the known ones, or ``in_channels != 3`` for a
            torchvision ResNet.

    Examples:
        >>> build_model("digits_cnn", num_classes=10, in_channels=1).linear.out_features
        10
    """
    if name == "preact_resnet18":
        return preact_resnet18(num_classes, in_channels, **kwargs)
    if name == "digits_cnn":
        return DigitsCNN(num_classes, in_channels, **kwargs)
    if name in ("resnet34", "resnet50"):
        if in_channels != 3:
            raise ValueError(f"{name} takes 3-channel images, got in_channels={in_channels}")
        return resnet(int(name[len("resnet") :]), num_classes, **kwargs)
    raise ValueError(f"unknown model {name!r}: expected one of {MODEL_NAMES}")
