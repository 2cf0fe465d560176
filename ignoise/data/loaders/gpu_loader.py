"""A loader that keeps a whole in-memory image dataset on the device and augments it there.

For datasets that fit in device memory (digits, CIFAR, Animal-10N: 50,000 x 64 x 64 x 3 bytes is
600 MB) the fastest input pipeline is no pipeline: the uint8 images, labels and indices are
copied to the device once; each batch is one gather that selects, crops and flips (reading
flipped windows' columns backwards), and one multiply-add that normalizes. There are no worker
processes and no host to device copy per batch, so nothing waits on the CPU (the airbench
approach).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch

from ..samplers.sharded import ShardedEvalSampler, ShardedRandomSampler
from .gpu_augment import (
    AUGMENTATIONS,
    augment_views,
    augmentation_generator,
    normalization_constants,
    normalize,
    pad,
)
from .grouped import grouped_sampler, split_groups

__all__ = ["GPUResidentLoader", "split_pair", "VIEWS"]

#: How many augmented views of each sample a training batch can carry: ``x`` alone, or ``x``
#: and ``x2`` (MixMatch-style methods: DivideMix, GSS-SSL).
VIEWS = (1, 2)


def split_pair(batch: dict, half: int) -> dict:
    """Split a batch of ``2B`` samples from a paired batch sampler into ``{"a": ..., "b": ...}``.

    The first ``half`` samples are network A's, the rest network B's (the convention of
    :func:`ignoise.data.loaders.torch_loaders.collate_pair`).

    Examples:
        >>> split_pair({"index": torch.arange(4)}, 2)["b"]["index"]
        tensor([2, 3])
    """
    return {
        "a": {key: value[:half] for key, value in batch.items()},
        "b": {key: value[half:] for key, value in batch.items()},
    }


class GPUResidentLoader:
    """Batches of the batch contract drawn from an :class:`~ignoise.data.ArrayImageDataset` held
    on ``device``.

    Training mode draws a new order each epoch with the sharding of
    :class:`~ignoise.data.samplers.sharded.ShardedRandomSampler` (same ``seed`` and epoch, same
    indices on rank ``r`` as the torch loader), then augments on the device: random crop of the
    image size out of the image padded by ``padding`` pixels (zero padding, like torchvision's
    ``RandomCrop(size, padding)``, or ``padding_mode="reflect"``), and horizontal flip with
    probability 1/2. The crop offsets and flips come from a generator on ``device`` seeded from
    ``(seed, epoch, rank)``, so a run is reproducible. Evaluation mode (``train=False``) is
    sequential, split by rank like :class:`~ignoise.data.samplers.sharded.ShardedEvalSampler` (each
    sample on exactly one rank), unaugmented, and keeps the last partial batch.

    With ``paired_sampler`` (a CDAS-style batch sampler yielding one flat list of ``2B``
    indices per iteration), each batch is ``{"a": batch, "b": batch}``: the sampler's own index
    lists, split in halves. With ``codivide_sampler`` (a
    :class:`~ignoise.data.CoDivideBatchSampler`, ``4B`` indices per iteration) each batch is
    ``{"a": {"labeled": batch, "unlabeled": batch}, "b": {...}}``. Either sampler's lists of
    an epoch are read when its first batch is asked for (after the trainer's ``set_epoch``
    and the co-divide's ``set_division``) and copied to the device at once.

    With ``views=2`` every training batch also carries ``x2``, a second augmentation of the
    same samples drawn independently of ``x`` (what :class:`~ignoise.data.TwoViewDataset`
    gives the torch loader); both views come out of one gather.

    Each ``iter(loader)`` draws epoch :attr:`epoch` and advances it by one (as FFCV's loader
    does), so forgetting :meth:`set_epoch` never repeats an order; a trainer that calls
    ``set_epoch`` every epoch gets exactly that epoch. The loader is its own :attr:`sampler`,
    so :func:`ignoise.data.loaders.torch_loaders.loader_sampler` finds ``set_epoch`` and
    ``state_dict`` on it.

    Args:
        dataset: an in-memory dataset with ``images`` (uint8 ``(N, H, W, C)``), ``targets`` and
            optionally ``clean_targets``.
        batch_size: samples per batch (per network with a paired sampler).
        normalization: per-channel ``(mean, std)`` of images scaled to [0, 1], e.g.
            ``ignoise.data.transforms.NORMALIZATION["cifar10"]``.
        device: where the data lives and batches are made.
        train: random order and augmentation, or sequential evaluation.
        seed: shared seed of the order and the augmentation.
        rank, world_size: this process's shard.
        augmentation: one of ``"crop_flip"``, ``"flip"``, ``"none"`` (training only).
        padding: pixels of padding for the random crop.
        padding_mode: ``"zero"`` or ``"reflect"``.
        drop_last: drop the last partial training batch.
        paired_sampler: a paired batch sampler with ``set_epoch``, ``state_dict``,
            ``load_state_dict``, ``__len__`` and ``__iter__``.
        codivide_sampler: a co-divide batch sampler with the same methods.
        views: augmented views per sample, one of :data:`VIEWS` (training only).

    Examples:
        >>> from ignoise.data import load_digits_dataset
        >>> from ignoise.data.transforms import NORMALIZATION
        >>> loader = GPUResidentLoader(load_digits_dataset(), 64, augmentation="none",
        ...                            normalization=NORMALIZATION["digits"])
        >>> batch = next(iter(loader))
        >>> batch["x"].shape, batch["y"].dtype, len(loader)
        (torch.Size([64, 1, 8, 8]), torch.int64, 23)
    """

    def __init__(
        self,
        dataset,
        batch_size: int,
        *,
        normalization: tuple[Sequence[float], Sequence[float]],
        device: torch.device | str = "cpu",
        train: bool = True,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        augmentation: str = "crop_flip",
        padding: int = 4,
        padding_mode: str = "zero",
        drop_last: bool = False,
        paired_sampler=None,
        codivide_sampler=None,
        views: int = 1,
    ) -> None:
        images = getattr(dataset, "images", None)
        if not isinstance(images, np.ndarray):
            raise TypeError(
                f"the GPU-resident loader needs an in-memory dataset with a uint8 `images` array "
                f"(ArrayImageDataset), got {type(dataset).__name__}: use the torch or ffcv loader"
            )
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch size must be a positive integer, got {batch_size!r}")
        if augmentation not in AUGMENTATIONS:
            raise ValueError(
                f"unknown augmentation {augmentation!r}: expected one of {AUGMENTATIONS}"
            )
        if padding < 0:
            raise ValueError(f"padding must be >= 0, got {padding}")
        grouped, groups, state_key = grouped_sampler(paired_sampler, codivide_sampler)
        if grouped is not None and not train:
            raise ValueError(f"{state_key} only makes sense for a training loader "
                             f"(train=True)")
        if views not in VIEWS or (views > 1 and not train):
            raise ValueError(f"views must be one of {VIEWS} (more than 1 for training only), "
                             f"got {views!r} with train={train}")
        channels = images.shape[-1]
        mean, std = normalization
        if len(mean) != channels:
            raise ValueError(
                f"normalization has {len(mean)} channel means but the images have {channels} "
                f"channels"
            )
        self.dataset = dataset
        self.batch_size = batch_size
        self.device = torch.device(device)
        self.train = train
        self.seed, self.rank, self.world_size = int(seed), rank, world_size
        self.augmentation = augmentation if train else "none"
        self.padding = padding if self.augmentation == "crop_flip" else 0
        self.drop_last = drop_last and train
        self.paired_sampler = paired_sampler
        self.codivide_sampler = codivide_sampler
        self._grouped, self._groups, self._state_key = grouped, groups, state_key
        self.views = views
        self.epoch = 0

        n = len(images)
        x = torch.from_numpy(np.ascontiguousarray(images)).to(self.device)
        x = x.permute(0, 3, 1, 2).contiguous()
        self._size = tuple(x.shape[-2:])
        # Pad the whole dataset once: each batch is then a single gather of its crops.
        self._images = pad(x, self.padding, padding_mode)
        self._targets = torch.as_tensor(dataset.targets, dtype=torch.int64, device=self.device)
        clean = getattr(dataset, "clean_targets", None)
        self._clean = (
            None if clean is None else torch.as_tensor(clean, dtype=torch.int64, device=self.device)
        )
        self._scale, self._shift = normalization_constants(mean, std, self.device)
        if train:
            self._sampler = ShardedRandomSampler(n, seed=seed, rank=rank, world_size=world_size)
        else:
            eval_indices = list(ShardedEvalSampler(n, rank=rank, world_size=world_size))
            self._eval_order = torch.as_tensor(eval_indices, dtype=torch.int64, device=self.device)

    @property
    def sampler(self) -> GPUResidentLoader:
        """The loader itself: what a trainer calls ``set_epoch`` on and Checkpoint saves."""
        return self

    def set_epoch(self, epoch: int) -> None:
        """Make the next ``iter(loader)`` draw epoch ``epoch``."""
        self.epoch = int(epoch)

    def state_dict(self) -> dict:
        state = {"seed": self.seed, "epoch": self.epoch}
        if self._grouped is not None:
            state[self._state_key] = self._grouped.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        self.seed, self.epoch = int(state["seed"]), int(state["epoch"])
        if self.train:
            self._sampler.seed = self.seed
        if self._grouped is not None and self._state_key in state:
            self._grouped.load_state_dict(state[self._state_key])

    def restricted(self, indices) -> GPUResidentLoader:
        """This evaluation loader over ``indices`` only, each on exactly one rank (the images
        stay where they are)."""
        if self.train:
            raise ValueError("only an evaluation loader can be restricted to a subset")
        mine = list(ShardedEvalSampler(len(self._targets), rank=self.rank,
                                       world_size=self.world_size, indices=indices))
        out = copy.copy(self)
        out._eval_order = torch.as_tensor(mine, dtype=torch.int64, device=self.device)
        return out

    def __len__(self) -> int:
        if not self.train:
            return math.ceil(len(self._eval_order) / self.batch_size)
        if self._grouped is not None:
            return len(self._grouped)
        rounding = math.floor if self.drop_last else math.ceil
        return rounding(len(self._sampler) / self.batch_size)

    def __iter__(self) -> Iterator[dict]:
        if not self.train:
            return self._batches(self._eval_order.split(self.batch_size), None)
        epoch = self.epoch
        self.epoch += 1
        generator = augmentation_generator(self.seed, epoch, self.rank, self.device)
        if self._grouped is not None:
            self._grouped.set_epoch(epoch)
            return self._grouped_batches(generator)
        self._sampler.set_epoch(epoch)
        order = torch.as_tensor(list(self._sampler), dtype=torch.int64).to(self.device)
        batches = order.split(self.batch_size)
        if self.drop_last and len(order) % self.batch_size:
            batches = batches[:-1]
        return self._batches(batches, generator)

    def _batches(self, batches, generator) -> Iterator[dict]:
        for index in batches:
            yield self._make_batch(index, generator)

    def _grouped_batches(self, generator) -> Iterator[dict]:
        # The whole epoch's lists in one host-to-device copy, then one slice per iteration.
        lists = [np.asarray(flat, dtype=np.int64).reshape(-1) for flat in self._grouped]
        if not lists:
            return
        flat = torch.from_numpy(np.concatenate(lists)).to(self.device, non_blocking=True)
        for index in flat.split([len(indices) for indices in lists]):
            yield split_groups(self._make_batch(index, generator), self._groups)

    def _make_batch(self, index: torch.Tensor, generator: torch.Generator | None) -> dict:
        views = augment_views(self._images, self.augmentation, generator, size=self._size,
                              index=index, views=self.views)
        x = normalize(views[0], self._scale, self._shift)
        batch = {"x": x, "y": self._targets[index], "index": index}
        if self.views == 2:
            batch["x2"] = x if views[1] is views[0] else normalize(views[1], self._scale,
                                                                   self._shift)
        if self._clean is not None:
            batch["y_clean"] = self._clean[index]
        return batch
