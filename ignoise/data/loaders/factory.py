"""One entry point for recipes: build the training and evaluation loaders of a given kind.

``--loader torch`` (torchvision transforms in worker processes, any dataset), ``gpu`` (the
whole in-memory dataset on the device, augmented there: digits, CIFAR, Animal-10N) and ``ffcv``
(a ``.beton`` cached in ``cache_dir``, decoded by FFCV: any dataset, needs the ``ffcv`` extra)
yield the same batch contract and, for the same seed, the same samples on each rank in the same
order; only the augmentation draws differ. Each also takes a paired (CDAS) or co-divide batch
sampler and gives two augmented views (``x``, ``x2``) where a method needs them.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from ..datasets.views import TwoViewDataset
from ..samplers.codivide import make_codivide_loader
from ..samplers.sharded import ShardedEvalSampler
from .torch_loaders import make_eval_loader, make_paired_loader, make_train_loader

__all__ = ["LOADER_KINDS", "DEVICE_AUGMENTATION", "default_cache_dir", "build_loaders",
           "build_eval_loader", "restrict_eval_loader"]

LOADER_KINDS = ("torch", "gpu", "ffcv")

_CIFAR_LIKE = {"augmentation": "crop_flip", "padding": 4}

#: The training augmentation of each dataset for the gpu and ffcv loaders, the same as
#: :func:`ignoise.data.transforms.train_transform`: none for digits, a 4-pixel zero-padded
#: random crop and flip for CIFAR and Animal-10N, a random-resized 224 crop and flip (FFCV only)
#: for the web-scale datasets.
DEVICE_AUGMENTATION = {
    "digits": {"augmentation": "none"},
    "cifar10": _CIFAR_LIKE,
    "cifar10n": _CIFAR_LIKE,
    "cifar100": _CIFAR_LIKE,
    "cifar100n": _CIFAR_LIKE,
    "animal10n": _CIFAR_LIKE,
    "clothing1m": {"augmentation": "random_resized_crop", "crop_size": 224},
    "webvision": {"augmentation": "random_resized_crop", "crop_size": 224},
}

#: Evaluation center crops of the ffcv loader (``Resize(256)`` + ``CenterCrop(224)``).
_EVAL_CENTER_CROP = {"clothing1m": 224, "webvision": 224}


def default_cache_dir() -> Path:
    """``$IGNOISE_CACHE_DIR``, else ``$XDG_CACHE_HOME/ignoise/ffcv`` (``~/.cache/ignoise/ffcv``)."""
    if os.environ.get("IGNOISE_CACHE_DIR"):
        return Path(os.environ["IGNOISE_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ignoise" / "ffcv"


def build_loaders(
    kind: str,
    train_set,
    test_set,
    *,
    batch_size: int,
    eval_batch_size: int | None = None,
    seed: int = 0,
    rank: int = 0,
    world_size: int = 1,
    num_workers: int = 0,
    device=None,
    dataset_name: str | None = None,
    paired_sampler=None,
    codivide_sampler=None,
    views: int = 1,
    cache_dir: str | os.PathLike | None = None,
):
    """Return ``(train_loader, eval_loader)`` of the given kind.

    The gpu and ffcv loaders take the labels from ``train_set`` and ``test_set`` (noisy and
    clean), apply :data:`DEVICE_AUGMENTATION` and normalize with
    :data:`ignoise.data.transforms.NORMALIZATION`; the datasets' torchvision transforms are not
    used. The ffcv loader reads images-only ``.beton`` files from ``cache_dir``, writing them
    on first use (see :func:`ignoise.data.loaders.ffcv_writer.cached_beton`: keyed by the pixels or
    image files, so one file serves every noise setting): raw pixels for in-memory datasets,
    JPEG (quality 90) for image files. In a multi-process run with a process group, rank 0
    writes a missing file while the others wait.

    Args:
        kind: one of :data:`LOADER_KINDS`.
        train_set, test_set: ignoise datasets (transforms already set for the torch loader).
        batch_size: per-process training batch size (per network for a paired sampler).
        eval_batch_size: evaluation batch size (default ``2 * batch_size``).
        seed, rank, world_size: sharding (see :mod:`ignoise.data.samplers.sharded`).
        num_workers: worker processes of the torch loader; FFCV's decoding threads
            (at least 1).
        device: where batches should land (gpu and ffcv loaders; default: CUDA if available).
        dataset_name: selects the augmentation and normalization of the gpu and ffcv loaders.
        paired_sampler: a paired batch sampler (CDAS); the training loader then yields
            ``{"a": batch, "b": batch}``.
        codivide_sampler: a :class:`~ignoise.data.CoDivideBatchSampler` (DivideMix); the
            training loader then yields ``{"a": {"labeled": batch, "unlabeled": batch},
            "b": {...}}``.
        views: 2 adds ``x2``, a second independent augmentation of each training sample
            (the torch loader reads the dataset through a
            :class:`~ignoise.data.TwoViewDataset`; the others draw it on the device).
        cache_dir: folder of the ffcv loader's ``.beton`` files (default
            :func:`default_cache_dir`).

    Raises:
        ValueError: an unknown kind, views other than 1 or 2, both samplers, or a gpu/ffcv
            loader without a known ``dataset_name``.

    Examples:
        >>> from ignoise.data import load_digits_dataset
        >>> train, test = build_loaders("gpu", load_digits_dataset(), load_digits_dataset(False),
        ...                             batch_size=64, device="cpu", dataset_name="digits")
        >>> sorted(next(iter(train)))
        ['index', 'x', 'y', 'y_clean']
    """
    _check_kind(kind)
    if views not in (1, 2):
        raise ValueError(f"views must be 1 or 2, got {views!r}")
    if paired_sampler is not None and codivide_sampler is not None:
        raise ValueError("give build_loaders a paired_sampler or a codivide_sampler, not both")
    eval_batch_size = eval_batch_size or 2 * batch_size
    eval_options = {"batch_size": eval_batch_size, "rank": rank, "world_size": world_size,
                    "num_workers": num_workers, "device": device, "dataset_name": dataset_name,
                    "cache_dir": cache_dir}
    if kind == "torch":
        dataset = TwoViewDataset(train_set) if views == 2 else train_set
        if codivide_sampler is not None:
            train = make_codivide_loader(dataset, codivide_sampler, num_workers=num_workers)
        elif paired_sampler is not None:
            train = make_paired_loader(dataset, paired_sampler, num_workers=num_workers)
        else:
            train = make_train_loader(
                dataset, batch_size, seed=seed, rank=rank, world_size=world_size,
                num_workers=num_workers,
            )
        return train, build_eval_loader(kind, test_set, **eval_options)

    augmentation, common = _device_options(kind, dataset_name, device)
    sharding = {"rank": rank, "world_size": world_size}
    grouped = {"paired_sampler": paired_sampler, "codivide_sampler": codivide_sampler,
               "views": views}
    if kind == "gpu":
        from .gpu_loader import GPUResidentLoader

        if augmentation["augmentation"] not in ("crop_flip", "flip", "none"):
            raise ValueError(
                f"the gpu loader cannot apply {augmentation['augmentation']!r} ({dataset_name}'s "
                f"augmentation, and its images do not fit on a device): use --loader ffcv"
            )
        train = GPUResidentLoader(
            train_set, batch_size, seed=seed, **grouped, **augmentation, **common, **sharding,
        )
        return train, build_eval_loader(kind, test_set, **eval_options)

    from .ffcv_loader import ffcv_train_loader

    path = _shared_beton(train_set, cache_dir, dataset_name, "train", num_workers, rank,
                         world_size)
    train = ffcv_train_loader(
        path, batch_size, seed=seed, num_workers=max(int(num_workers), 1),
        targets=train_set.targets, clean_targets=train_set.clean_targets, **grouped,
        **augmentation, **common, **sharding,
    )
    return train, build_eval_loader(kind, test_set, **eval_options)


def build_eval_loader(
    kind: str,
    dataset,
    *,
    batch_size: int,
    rank: int = 0,
    world_size: int = 1,
    num_workers: int = 0,
    device=None,
    dataset_name: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    split: str = "test",
):
    """A sequential, unaugmented loader of the given kind over ``dataset``, each sample on
    exactly one rank: the evaluation loader of :func:`build_loaders`, alone (the test set, or
    the training set for a per-epoch pass such as DivideMix's co-divide).

    Args:
        kind: one of :data:`LOADER_KINDS`.
        dataset: an ignoise dataset (its evaluation transform set for the torch loader).
        batch_size: samples per batch.
        rank, world_size, num_workers, device, dataset_name, cache_dir: as for
            :func:`build_loaders`.
        split: the ffcv loader's ``.beton`` name part: ``"train"`` reuses the training
            loader's file for a pass over the training images.

    Examples:
        >>> from ignoise.data import load_digits_dataset
        >>> test = build_eval_loader("gpu", load_digits_dataset(False), batch_size=100,
        ...                          device="cpu", dataset_name="digits")
        >>> [len(b["index"]) for b in test]
        [100, 100, 100, 60]
    """
    _check_kind(kind)
    if kind == "torch":
        return make_eval_loader(dataset, batch_size, rank=rank, world_size=world_size,
                                num_workers=num_workers)
    _, common = _device_options(kind, dataset_name, device)
    sharding = {"rank": rank, "world_size": world_size}
    if kind == "gpu":
        from .gpu_loader import GPUResidentLoader

        return GPUResidentLoader(dataset, batch_size, train=False, **common, **sharding)

    from .ffcv_loader import ffcv_eval_loader

    path = _shared_beton(dataset, cache_dir, dataset_name, split, num_workers, rank, world_size)
    return ffcv_eval_loader(
        path, batch_size, center_crop=_EVAL_CENTER_CROP.get(dataset_name),
        num_workers=max(int(num_workers), 1), targets=dataset.targets,
        clean_targets=dataset.clean_targets, **common, **sharding,
    )


def restrict_eval_loader(loader, indices):
    """An evaluation loader like ``loader`` that reads only the samples ``indices``, each on
    exactly one rank, or ``None`` for a loader that cannot (one of your own): the caller then
    reads the whole pass and keeps what it needs.

    Works for the loaders :func:`build_eval_loader` makes: the torch DataLoader (a new one, with
    the same dataset, batch size and workers), the GPU-resident loader (its images stay on the
    device) and the FFCV loader (a new one over the same ``.beton``).
    """
    if getattr(loader, "train", False):
        return None  # a training loader's order is its sampler's
    if hasattr(loader, "restricted"):
        return loader.restricted(indices)
    sampler = getattr(loader, "sampler", None)
    if isinstance(loader, DataLoader) and isinstance(sampler, ShardedEvalSampler):
        return make_eval_loader(loader.dataset, loader.batch_size, rank=sampler.rank,
                                world_size=sampler.world_size, num_workers=loader.num_workers,
                                pin_memory=loader.pin_memory, indices=indices)
    return None


def _check_kind(kind: str) -> None:
    if kind not in LOADER_KINDS:
        raise ValueError(f"unknown loader {kind!r}: expected one of {', '.join(LOADER_KINDS)}")


def _device_options(kind: str, dataset_name, device) -> tuple[dict, dict]:
    """``(augmentation, common)`` options of the gpu and ffcv loaders for ``dataset_name``."""
    from ..transforms import NORMALIZATION

    if dataset_name not in DEVICE_AUGMENTATION or dataset_name not in NORMALIZATION:
        raise ValueError(
            f"the {kind} loader needs dataset_name, one of {sorted(DEVICE_AUGMENTATION)}; "
            f"got {dataset_name!r}"
        )
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    return (DEVICE_AUGMENTATION[dataset_name],
            {"normalization": NORMALIZATION[dataset_name], "device": device})


def _shared_beton(dataset, cache_dir, name, split, num_workers, rank, world_size) -> Path:
    from .ffcv_writer import cached_beton

    in_memory = getattr(dataset, "images", None) is not None
    options = {
        "name": name, "split": split, "image_format": "raw" if in_memory else "jpeg",
        "num_workers": max(int(num_workers), 1),
    }
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    dist = torch.distributed
    grouped = world_size > 1 and dist.is_available() and dist.is_initialized()
    if grouped and rank != 0:
        dist.barrier()  # rank 0 writes first
    path = cached_beton(dataset, cache_dir, **options)
    if grouped and rank == 0:
        dist.barrier()
    return path
