"""Datasets that yield the batch contract, samplers and loaders."""

from .animal10n import ANIMAL10N_CLASSES, load_animal10n
from .balanced_sampler import ClassBalancedSubsetSampler
from .base import ArrayImageDataset, FileImageDataset, NoisyLabelDataset, check_labels
from .batch import is_paired, move_batch
from .catalog import DATASETS, NoisyData, build_noisy_data, load_dataset, load_extra_eval_sets
from .cdas_sampler import SAMPLING_MODES, ClassDistributionAgreementSampler
from .cifar import CIFAR_NAMES, load_cifar
from .cifar_n import CIFAR_N_FILES, CIFAR_N_LABEL_SETS, load_cifar_n, read_human_labels
from .clothing1m import CLOTHING1M_CLASSES, load_clothing1m
from .codivide_sampler import CoDivideBatchSampler, collate_codivide, make_codivide_loader
from .digits import load_digits_dataset
from .ffcv_loader import FFCVLoader, ffcv_eval_loader, ffcv_train_loader
from .ffcv_writer import cached_beton, write_beton
from .gpu_loader import GPUResidentLoader
from .loader_factory import LOADER_KINDS, build_loaders
from .loaders import (
    collate_pair,
    loader_sampler,
    make_eval_loader,
    make_paired_loader,
    make_train_loader,
)
from .samplers import ShardedEvalSampler, ShardedRandomSampler, epoch_generator
from .transforms import NORMALIZATION, TRANSFORM_NAMES, eval_transform, train_transform
from .views import TwoViewDataset
from .webvision import load_imagenet_val, load_mini_webvision

__all__ = [
    "ArrayImageDataset", "FileImageDataset", "NoisyLabelDataset", "check_labels", "is_paired",
    "move_batch", "DATASETS", "NoisyData", "build_noisy_data", "load_dataset",
    "load_digits_dataset", "LOADER_KINDS", "build_loaders", "collate_pair", "loader_sampler",
    "make_eval_loader", "make_paired_loader", "make_train_loader", "ShardedEvalSampler",
    "ShardedRandomSampler", "epoch_generator", "CIFAR_NAMES", "load_cifar", "CIFAR_N_FILES",
    "CIFAR_N_LABEL_SETS", "load_cifar_n", "read_human_labels", "NORMALIZATION", "TRANSFORM_NAMES",
    "eval_transform", "train_transform", "ANIMAL10N_CLASSES", "load_animal10n",
    "ClassBalancedSubsetSampler", "load_extra_eval_sets", "CLOTHING1M_CLASSES", "load_clothing1m",
    "load_imagenet_val", "load_mini_webvision",
    "ClassDistributionAgreementSampler", "SAMPLING_MODES",
    "CoDivideBatchSampler", "collate_codivide", "make_codivide_loader", "TwoViewDataset",
    "FFCVLoader", "ffcv_eval_loader", "ffcv_train_loader", "cached_beton", "write_beton",
    "GPUResidentLoader",
]
