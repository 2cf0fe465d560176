"""Datasets that yield the batch contract: the base classes, the named datasets and wrappers."""

from .animal10n import ANIMAL10N_CLASSES, load_animal10n
from .arrays import ArrayDataset
from .base import ArrayImageDataset, FileImageDataset, NoisyLabelDataset, check_labels
from .catalog import DATASETS, NoisyData, build_noisy_data, load_dataset, load_extra_eval_sets
from .cifar import CIFAR_NAMES, load_cifar
from .cifar_n import CIFAR_N_FILES, CIFAR_N_LABEL_SETS, load_cifar_n, read_human_labels
from .clothing1m import CLOTHING1M_CLASSES, load_clothing1m
from .digits import load_digits_dataset
from .hold_out import stratified_hold_out
from .views import TwoViewDataset
from .webvision import load_imagenet_val, load_mini_webvision

__all__ = [
    "NoisyLabelDataset", "ArrayDataset", "ArrayImageDataset", "FileImageDataset", "check_labels",
    "DATASETS", "NoisyData", "build_noisy_data", "load_dataset", "load_extra_eval_sets",
    "load_digits_dataset", "CIFAR_NAMES", "load_cifar", "CIFAR_N_FILES", "CIFAR_N_LABEL_SETS",
    "load_cifar_n", "read_human_labels", "ANIMAL10N_CLASSES", "load_animal10n",
    "CLOTHING1M_CLASSES", "load_clothing1m", "load_imagenet_val", "load_mini_webvision",
    "TwoViewDataset", "stratified_hold_out",
]
