"""Datasets that yield the batch contract, samplers and loaders.

Sub-packages: :mod:`ignoise.data.datasets` (what the samples are), :mod:`ignoise.data.samplers`
(in which order and groups they are drawn), :mod:`ignoise.data.loaders` (how batches reach the
device); :mod:`ignoise.data.batch` and :mod:`ignoise.data.transforms` serve all three. Every
public name is importable from ``ignoise.data``.
"""

from .batch import BATCH_KEYS, is_paired, move_batch
from .datasets import (
    ANIMAL10N_CLASSES,
    CIFAR_N_FILES,
    CIFAR_N_LABEL_SETS,
    CIFAR_NAMES,
    CLOTHING1M_CLASSES,
    DATASETS,
    ArrayDataset,
    ArrayImageDataset,
    FileImageDataset,
    NoisyData,
    NoisyLabelDataset,
    TwoViewDataset,
    build_noisy_data,
    check_labels,
    load_animal10n,
    load_cifar,
    load_cifar_n,
    load_clothing1m,
    load_dataset,
    load_digits_dataset,
    load_extra_eval_sets,
    load_imagenet_val,
    load_mini_webvision,
    read_human_labels,
    stratified_hold_out,
)
from .loaders import (
    DEVICE_AUGMENTATION,
    LOADER_KINDS,
    FFCVLoader,
    GPUResidentLoader,
    build_eval_loader,
    build_loaders,
    cached_beton,
    collate_pair,
    default_cache_dir,
    ffcv_eval_loader,
    ffcv_train_loader,
    loader_sampler,
    make_eval_loader,
    make_paired_loader,
    make_train_loader,
    restrict_eval_loader,
    write_beton,
)
from .samplers import (
    CODIVIDE_GROUPS,
    PHASE_GROUPS,
    SAMPLING_MODES,
    BalancedSubsets,
    ClassBalancedSubsetSampler,
    ClassDistributionAgreementSampler,
    CoDivideBatchSampler,
    ShardedEvalSampler,
    ShardedRandomSampler,
    collate_codivide,
    epoch_generator,
    make_codivide_loader,
)
from .transforms import (
    CLOTHING1M_NORMALIZATION,
    NORMALIZATION,
    TRANSFORM_NAMES,
    TRANSFORM_PRESETS,
    eval_transform,
    train_transform,
)

__all__ = [
    # batch contract and transforms
    "BATCH_KEYS", "is_paired", "move_batch",
    "NORMALIZATION", "TRANSFORM_NAMES", "TRANSFORM_PRESETS", "CLOTHING1M_NORMALIZATION",
    "eval_transform", "train_transform",
    # datasets
    "NoisyLabelDataset", "ArrayDataset", "ArrayImageDataset", "FileImageDataset", "check_labels",
    "DATASETS", "NoisyData", "build_noisy_data", "load_dataset", "load_extra_eval_sets",
    "load_digits_dataset", "CIFAR_NAMES", "load_cifar", "CIFAR_N_FILES", "CIFAR_N_LABEL_SETS",
    "load_cifar_n", "read_human_labels", "ANIMAL10N_CLASSES", "load_animal10n",
    "CLOTHING1M_CLASSES", "load_clothing1m", "load_imagenet_val", "load_mini_webvision",
    "TwoViewDataset", "stratified_hold_out",
    # samplers
    "ShardedRandomSampler", "ShardedEvalSampler", "epoch_generator",
    "ClassDistributionAgreementSampler", "SAMPLING_MODES",
    "CoDivideBatchSampler", "CODIVIDE_GROUPS", "PHASE_GROUPS", "collate_codivide",
    "make_codivide_loader",
    "ClassBalancedSubsetSampler", "BalancedSubsets",
    # loaders
    "LOADER_KINDS", "DEVICE_AUGMENTATION", "default_cache_dir", "build_loaders",
    "build_eval_loader", "restrict_eval_loader",
    "make_train_loader", "make_eval_loader", "make_paired_loader", "collate_pair",
    "loader_sampler", "GPUResidentLoader",
    "FFCVLoader", "ffcv_train_loader", "ffcv_eval_loader", "cached_beton", "write_beton",
]
