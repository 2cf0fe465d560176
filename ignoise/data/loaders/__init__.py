"""Loaders that yield the batch contract: torch DataLoaders, GPU-resident, FFCV (optional)."""

from .factory import (
    DEVICE_AUGMENTATION,
    LOADER_KINDS,
    build_eval_loader,
    build_loaders,
    default_cache_dir,
    restrict_eval_loader,
)
from .ffcv_loader import FFCVLoader, ffcv_eval_loader, ffcv_train_loader
from .ffcv_writer import cached_beton, write_beton
from .gpu_loader import GPUResidentLoader
from .torch_loaders import (
    collate_pair,
    loader_sampler,
    make_eval_loader,
    make_paired_loader,
    make_train_loader,
)

__all__ = [
    "LOADER_KINDS", "DEVICE_AUGMENTATION", "default_cache_dir", "build_loaders",
    "build_eval_loader", "restrict_eval_loader",
    "make_train_loader", "make_eval_loader", "make_paired_loader", "collate_pair",
    "loader_sampler", "GPUResidentLoader",
    "FFCVLoader", "ffcv_train_loader", "ffcv_eval_loader", "cached_beton", "write_beton",
]
