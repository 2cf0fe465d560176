"""PreAct-ResNet18 for 32x32 images, as used by DivideMix and the GAL/GSS experiments on CIFAR."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["PreActBlock", "PreActResNet", "preact_resnet18"]


def _conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


class PreActBlock(nn.Module):
    """The pre-activation basic block (He et al. 2016, "Identity Mappings", Fig. 1b).

    BN-ReLU comes before each 3x3 convolution; the projection shortcut (a strided 1x1
    convolution, when the shape changes) takes the pre-activated input.

    Args:
        in_planes: input channels.
        planes: output channels.
        stride: stride of the first convolution and of the shortcut.

    Examples:
        >>> PreActBlock(64, 128, stride=2)(torch.zeros(1, 64, 8, 8)).shape
        torch.Size([1, 128, 4, 4])
    """

    expansion = 1

    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = _conv3x3(in_planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, kernel_size=1, stride=stride, bias=False)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(x))
        shortcut = self.shortcut(out)
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + shortcut


class PreActResNet(nn.Module):
    """A pre-activation ResNet for 32x32 inputs: a 3x3 stem, four stages, 4x4 average pool, linear.

    The layout and parameter names follow DivideMix's ``PreResNet.py`` (so its checkpoints load):
    the stem is conv3x3(64)-BN-ReLU and the last stage feeds the pool directly. He et al.'s
    full pre-activation network instead ends with BN-ReLU after the last stage; pass
    ``final_norm=True`` for that reading.

    Args:
        num_blocks: blocks per stage (64, 128, 256 and 512 channels; stages 2-4 halve the size).
        num_classes: number of outputs.
        in_channels: input channels.
        final_norm: add BN-ReLU between the last stage and the pool.

    Examples:
        >>> PreActResNet([1, 1, 1, 1], num_classes=3)(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 3])
    """

    def __init__(
        self,
        num_blocks: list[int],
        num_classes: int = 10,
        in_channels: int = 3,
        final_norm: bool = False,
    ) -> None:
        super().__init__()
        self.conv1 = _conv3x3(in_channels, 64)
        self.bn1 = nn.BatchNorm2d(64)
        in_planes = 64
        stages = []
        for i, (planes, n) in enumerate(zip((64, 128, 256, 512), num_blocks)):
            strides = [1 if i == 0 else 2] + [1] * (n - 1)
            blocks = []
            for stride in strides:
                blocks.append(PreActBlock(in_planes, planes, stride))
                in_planes = planes
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.final_norm = nn.Sequential(nn.BatchNorm2d(512), nn.ReLU()) if final_norm else None
        self.linear = nn.Linear(512, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The 512 pooled features that feed the linear classifier."""
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        if self.final_norm is not None:
            out = self.final_norm(out)
        return F.avg_pool2d(out, 4).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.features(x))


def preact_resnet18(num_classes: int = 10, in_channels: int = 3, **kwargs) -> PreActResNet:
    """PreAct-ResNet18: two :class:`PreActBlock` per stage, 11.2M parameters for 10 classes.

    Args:
        num_classes: number of outputs.
        in_channels: input channels.
        **kwargs: passed to :class:`PreActResNet` (``final_norm``).

    Returns:
        The network, for 32x32 inputs.

    Examples:
        >>> preact_resnet18(num_classes=10)(torch.zeros(2, 3, 32, 32)).shape
        torch.Size([2, 10])
    """
    return PreActResNet([2, 2, 2, 2], num_classes=num_classes, in_channels=in_channels, **kwargs)
