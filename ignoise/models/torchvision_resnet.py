"""torchvision's ResNet-34 and ResNet-50, optionally with ImageNet weights read from local files."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torchvision import models as tvm

__all__ = ["resnet", "imagenet_weights_file"]

# IMAGENET1K_V1: the weights the Clothing1M and WebVision papers start from.
_BUILDERS = {
    34: (tvm.resnet34, tvm.ResNet34_Weights.IMAGENET1K_V1),
    50: (tvm.resnet50, tvm.ResNet50_Weights.IMAGENET1K_V1),
}


def _check_depth(depth: int) -> None:
    if depth not in _BUILDERS:
        raise ValueError(f"unsupported ResNet depth {depth!r}: expected one of {list(_BUILDERS)}")


def imagenet_weights_file(depth: int) -> str:
    """The file name torchvision gives the ImageNet weights of ResNet-``depth`` in its cache.

    Examples:
        >>> imagenet_weights_file(50)
        'resnet50-0676ba61.pth'
    """
    _check_depth(depth)
    return Path(_BUILDERS[depth][1].url).name


def _find_weights(depth: int, weights_path: str | Path | None) -> Path:
    name = imagenet_weights_file(depth)
    if weights_path is not None:
        given = Path(weights_path)
        tried = [given / name] if given.is_dir() else [given]
    else:
        tried = [Path(torch.hub.get_dir()) / "checkpoints" / name]
    for path in tried:
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"ImageNet weights for ResNet-{depth} not found; tried {', '.join(map(str, tried))}. "
        f"Expected {name} (from {_BUILDERS[depth][1].url}): put it in torch's hub cache "
        "or pass weights_path; nothing is downloaded."
    )


def _read_state_dict(path: Path) -> dict:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch.load fails in many ways on a foreign file
        raise ValueError(f"{path} is not a state dict of tensors: {e}") from e
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(
            f"{path} is not a state dict (a dict of tensors), got {type(state).__name__}"
        )
    return state


def _mismatch(expected: dict, state: dict) -> str:
    """A short description of how ``state`` differs from ``expected``; empty if it fits."""
    groups = {
        "missing": [k for k in expected if k not in state],
        "unexpected": [k for k in state if k not in expected],
        "of another shape": [
            k for k in expected if k in state and state[k].shape != expected[k].shape
        ],
    }
    return "; ".join(
        f"{len(keys)} keys {what} (first {keys[:3]})" for what, keys in groups.items() if keys
    )


def resnet(
    depth: int = 50,
    num_classes: int = 1000,
    pretrained: bool = False,
    weights_path: str | Path | None = None,
) -> nn.Module:
    """torchvision's ResNet-34 or ResNet-50 with a ``num_classes``-way head.

    With ``pretrained``, the ImageNet (``IMAGENET1K_V1``) weights are read from ``weights_path``
    or else from torch's hub cache (``torch.hub.get_dir()/checkpoints/``, where torchvision
    keeps them), never downloaded; the 1000-class ``fc`` is then replaced by a freshly
    initialized one.

    Args:
        depth: 34 or 50.
        num_classes: number of outputs.
        pretrained: start from the ImageNet weights.
        weights_path: the weights file, or a folder holding it under torchvision's file name
            (see :func:`imagenet_weights_file`); only with ``pretrained``.

    Returns:
        A ``torchvision.models.ResNet``.

    Raises:
        ValueError: for an unsupported depth, a ``weights_path`` without ``pretrained``, or a
            weights file that is not a ResNet-``depth`` state dict (naming the file).
        FileNotFoundError: when the weights file is missing, naming every path tried.

    Examples:
        >>> net = resnet(34, num_classes=14)
        >>> net(torch.zeros(2, 3, 64, 64)).shape
        torch.Size([2, 14])
    """
    _check_depth(depth)
    builder = _BUILDERS[depth][0]
    if not pretrained:
        if weights_path is not None:
            raise ValueError(f"weights_path={str(weights_path)!r} is given but pretrained is False")
        return builder(weights=None, num_classes=num_classes)
    path = _find_weights(depth, weights_path)
    model = builder(weights=None)
    state = _read_state_dict(path)
    mismatch = _mismatch(model.state_dict(), state)
    if mismatch:
        raise ValueError(f"{path} does not hold ResNet-{depth} weights: {mismatch}")
    model.load_state_dict(state)
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    return model
