"""Architectures: PreAct-ResNet18, torchvision ResNets and a small CNN for the digits."""

from .factory import MODEL_NAMES, build_model
from .preact_resnet import PreActBlock, PreActResNet, preact_resnet18
from .small_cnn import DigitsCNN
from .torchvision_resnet import imagenet_weights_file, resnet

__all__ = [
    "MODEL_NAMES",
    "build_model",
    "PreActBlock",
    "PreActResNet",
    "preact_resnet18",
    "DigitsCNN",
    "imagenet_weights_file",
    "resnet",
]
