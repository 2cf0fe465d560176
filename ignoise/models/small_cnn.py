"""A small CNN for the embedded 8x8 digits, fast enough to try any method on a CPU."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["DigitsCNN"]


class DigitsCNN(nn.Module):
    """Two 3x3 conv-BN-ReLU layers (32, 64 channels), a 2x2 max-pool and a 128-unit hidden layer.

    About 151k parameters; an 8x8 input gives 64 x 4 x 4 features after the pool.

    Args:
        num_classes: number of outputs.
        in_channels: input channels.
        dropout: dropout probability before the last layer; 0 (the default) disables it.

    Examples:
        >>> DigitsCNN()(torch.zeros(2, 1, 8, 8)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, 32, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(32),
            nn.ReLU(inplace=True),
            nn.Conv2d(32, 64, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(64 * 4 * 4, 128),
            nn.ReLU(inplace=True),
        )
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.linear = nn.Linear(128, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The 128 hidden features that feed the linear classifier."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.dropout(self.body(x)))
