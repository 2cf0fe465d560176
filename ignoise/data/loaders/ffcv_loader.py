"""FFCV loaders over a ``.beton`` (see :mod:`ignoise.data.loaders.ffcv_writer`) that yield the batch
contract.

FFCV decodes (and, for large images, random-resize-crops) in compiled numba threads and yields
tuples in field order; :class:`FFCVLoader` turns them into ``{"x", "y", "index", "y_clean"?}``
(or ``{"a": ..., "b": ...}``). What happens where:

- FFCV: reading, JPEG decoding, ``random_resized_crop`` (in the decoder, where it saves decoding
  work), the center crop of evaluation, and the copy to a CUDA device (``ToDevice``);
- on the device, in the wrapper: the padded random crop and the flip
  (:mod:`ignoise.data.loaders.gpu_augment`, the GPU-resident loader's ops, drawn from a generator
  seeded by ``(seed, epoch, rank)``), the reduction of one-channel images, normalization, and
  the labels, looked up by ``index`` in tensors held on the device.

Two views (``views=2``, for DivideMix and GSS-SSL): each sample is decoded once and cropped and
flipped twice on the device; with ``random_resized_crop``, which happens in the decoder, the
order lists every batch twice instead, so that FFCV decodes and crops each sample twice.

Normalizing in torch rather than with FFCV's ``NormalizeImage`` keeps CUDA free of cupy, which
that transform imports on the GPU, and keeps the CPU path the same code.

Sample order. The training order is a custom FFCV traversal order that draws exactly the indices
:class:`~ignoise.data.samplers.sharded.ShardedRandomSampler` draws for ``(seed, epoch, rank,
world_size)``: switching ``--loader`` between torch, gpu and ffcv keeps the sample order.
FFCV's own ``distributed=True`` mode is not used: in FFCV 1.0.2 it wraps torch's
``DistributedSampler``, which reads rank and world size from an initialized
``torch.distributed`` group (ignoring these arguments), draws another permutation than the
other loaders, and pads evaluation sets with duplicates. Evaluation reads the indices
``rank, rank + world_size, ...`` in order through FFCV's ``indices=`` argument, so each test
sample is counted by exactly one rank.

Randomness. Order and device-side crop/flip are reproducible from the seed; FFCV's
``random_resized_crop`` draws from numba's per-thread generators, which FFCV does not seed, so
that augmentation alone is not reproducible.

FFCV quirks worked around here (FFCV 1.0.2): a custom traversal order must be an *instance*
that FFCV calls with the loader (passing a class fails its ``isinstance`` check);
``Loader`` sets torch's intra-op thread count to its ``num_workers``, which is restored after
each call into FFCV; FFCV reuses its output buffers a few batches later, so ``index`` is copied.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch

from ..samplers.sharded import ShardedEvalSampler, ShardedRandomSampler
from .ffcv_writer import require_ffcv
from .gpu_augment import (
    PADDING_MODES,
    augment_views,
    augmentation_generator,
    normalization_constants,
    normalize,
    pad,
)
from .gpu_loader import VIEWS
from .grouped import grouped_sampler, split_groups

__all__ = ["FFCV_AUGMENTATIONS", "FFCVLoader", "ffcv_train_loader", "ffcv_eval_loader"]

#: Training augmentations of :func:`ffcv_train_loader`.
FFCV_AUGMENTATIONS = ("crop_flip", "random_resized_crop", "flip", "none")


@contextlib.contextmanager
def _keep_torch_threads():
    # FFCV's Compiler.set_num_threads also calls torch.set_num_threads(num_workers).
    threads = torch.get_num_threads()
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _preset_order(sample_order: Callable[[int], np.ndarray]):
    """An FFCV traversal order whose epoch ``e`` is ``sample_order(e)``."""
    from ffcv.traversal_order.base import TraversalOrder

    class PresetOrder(TraversalOrder):
        def __init__(self) -> None:  # the loader does not exist yet: see __call__
            pass

        def __call__(self, loader) -> PresetOrder:
            # FFCV 1.0.2 calls the order instance with itself: bind the loader here.
            super().__init__(loader)
            return self

        def sample_order(self, epoch: int) -> np.ndarray:
            return sample_order(epoch)

    return PresetOrder()


def _grouped_order(sampler, groups: int, list_size: int,
                   repeat: int = 1) -> Callable[[int], np.ndarray]:
    """A grouped sampler's flat lists of one epoch (``groups`` batches each), concatenated for
    FFCV to cut into batches of ``repeat * list_size``: every list but the last must hold
    exactly ``list_size`` indices, or FFCV's batches would straddle two lists. ``repeat=2``
    lists every batch twice (two views decoded separately)."""

    def sample_order(epoch: int) -> np.ndarray:
        sampler.set_epoch(epoch)
        lists = [np.asarray(flat, dtype=np.int64).reshape(-1) for flat in sampler]
        for i, flat in enumerate(lists):
            last = i == len(lists) - 1
            if (len(flat) != list_size and not last) or len(flat) > list_size \
                    or len(flat) % groups:
                raise ValueError(
                    f"grouped batch {i} of epoch {epoch} has {len(flat)} indices: expected "
                    f"{list_size} ({groups} x batch_size; only the last may be shorter, and a "
                    f"multiple of {groups})"
                )
        if repeat > 1:
            lists = [np.tile(flat, repeat) for flat in lists]
        return np.concatenate(lists) if lists else np.zeros(0, dtype=np.int64)

    return sample_order


def _read_columns(path) -> dict:
    """The integer columns and image sizes of a ``.beton``, read from its metadata table."""
    from ffcv.reader import Reader

    reader = Reader(str(path))
    meta = reader.metadata
    columns = {name: meta[f"f{i}"] for i, name in enumerate(reader.field_names)}
    if "image" not in columns or "index" not in columns:
        raise ValueError(
            f"{path} has fields {reader.field_names}: expected at least 'image' and 'index' "
            f"(write it with ignoise.data.loaders.ffcv_writer.write_beton)"
        )
    return {
        "fields": reader.field_names,
        "num_samples": int(reader.num_samples),
        "index": np.asarray(columns["index"], dtype=np.int64),
        "label": columns.get("label"),
        "clean_label": columns.get("clean_label"),
        "channels": int(columns["channels"][0]) if "channels" in columns else 3,
        "heights": np.asarray(columns["image"]["height"]),
        "widths": np.asarray(columns["image"]["width"]),
    }


def _constant_size(info: dict, path, what: str) -> tuple[int, int]:
    heights, widths = info["heights"], info["widths"]
    if heights.min() != heights.max() or widths.min() != widths.max():
        raise ValueError(
            f"{path} holds images of several sizes ({heights.min()}-{heights.max()} x "
            f"{widths.min()}-{widths.max()}): {what} needs one size; use "
            f"augmentation='random_resized_crop' (training) or center_crop= (evaluation)"
        )
    return int(heights[0]), int(widths[0])


def _label_table(given, column, n: int, what: str, device) -> torch.Tensor | None:
    values = given if given is not None else column
    if values is None:
        return None
    # np.array copies: FFCV's metadata table is a read-only view of the file.
    values = torch.as_tensor(np.array(values, dtype=np.int64))
    if len(values) != n:
        raise ValueError(f"{what} has {len(values)} entries for a .beton of {n} samples")
    return values.to(device)


class FFCVLoader:
    """An FFCV ``Loader`` that yields the batch contract; built by :func:`ffcv_train_loader` and
    :func:`ffcv_eval_loader`.

    ``set_epoch(e)`` sets FFCV's ``next_epoch``, which each ``iter(loader)`` draws and then
    advances; ``state_dict`` saves it, so a resumed run continues the epoch counter. The loader
    is its own :attr:`sampler`, for :func:`ignoise.data.loaders.torch_loaders.loader_sampler`.

    Args:
        loader: the ``ffcv.loader.Loader``, with pipelines for ``image`` (uint8 ``NHWC``) and
            ``index`` only.
        device: where batches land.
        normalization: per-channel ``(mean, std)`` in [0, 1].
        channels: 1 to keep only the first channel of the decoded RGB images.
        targets, clean_targets: label tables indexed by ``index`` (``clean_targets`` may be
            ``None``).
        train: whether epochs advance and augmentations are drawn.
        augmentation: what the wrapper applies on the device: ``"crop_flip"``, ``"flip"``,
            ``"none"`` (``random_resized_crop`` has cropped in the decoder and flips here).
        padding, padding_mode: of the random crop.
        seed, rank: seed the device generator of the crop and flip draws.
        sampler: the :class:`ShardedRandomSampler` the order draws from (training).
        paired_sampler: the paired batch sampler the order draws from, if any.
        codivide_sampler: the co-divide batch sampler the order draws from, if any.
        views: augmented views per sample (``x``, and ``x2`` when 2).
        decoded_views: the views FFCV decoded separately (each batch listed that many times in
            the order: ``random_resized_crop`` with ``views=2``); the others are drawn here.

    Examples:
        >>> loader = ffcv_eval_loader("test.beton", 256,
        ...                           normalization=((0.5,), (0.5,)))  # doctest: +SKIP
        >>> next(iter(loader))["x"].dtype  # doctest: +SKIP
        torch.float32
    """

    def __init__(
        self,
        loader,
        *,
        device,
        normalization: tuple[Sequence[float], Sequence[float]],
        channels: int,
        targets: torch.Tensor,
        clean_targets: torch.Tensor | None,
        train: bool,
        augmentation: str = "none",
        padding: int = 0,
        padding_mode: str = "zero",
        seed: int = 0,
        rank: int = 0,
        sampler: ShardedRandomSampler | None = None,
        paired_sampler=None,
        codivide_sampler=None,
        views: int = 1,
        decoded_views: int = 1,
    ) -> None:
        self.loader = loader
        self.device = torch.device(device)
        self.channels = channels
        self.train = train
        self.augmentation = augmentation
        self.padding, self.padding_mode = padding, padding_mode
        self.seed, self.rank = int(seed), rank
        grouped, groups, state_key = grouped_sampler(paired_sampler, codivide_sampler)
        self._grouped, self._groups, self._state_key = grouped, groups, state_key
        self.views, self.decoded_views = views, decoded_views
        # FFCV's batches hold every group (both halves of a pair), decoded_views times.
        self.batch_size = loader.batch_size // (len(groups) if groups else 1) // decoded_views
        self.paired_sampler = paired_sampler
        self.codivide_sampler = codivide_sampler
        self._sampler = sampler
        self._targets, self._clean = targets, clean_targets
        self._scale, self._shift = normalization_constants(*normalization, self.device)

    @property
    def sampler(self) -> FFCVLoader:
        """The loader itself: what a trainer calls ``set_epoch`` on and Checkpoint saves."""
        return self

    @property
    def epoch(self) -> int:
        """The epoch the next ``iter(loader)`` draws (FFCV's ``next_epoch``)."""
        return self.loader.next_epoch

    def set_epoch(self, epoch: int) -> None:
        self.loader.next_epoch = int(epoch)

    def state_dict(self) -> dict:
        state = {"seed": self.seed, "epoch": self.loader.next_epoch}
        if self._grouped is not None:
            state[self._state_key] = self._grouped.state_dict()
        return state

    def load_state_dict(self, state: dict) -> None:
        self.seed = int(state["seed"])
        if self._sampler is not None:
            self._sampler.seed = self.seed
        self.loader.next_epoch = int(state["epoch"])
        if self._grouped is not None and self._state_key in state:
            self._grouped.load_state_dict(state[self._state_key])

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[dict]:
        generator = None
        if self.train:
            generator = augmentation_generator(self.seed, self.epoch, self.rank, self.device)
        with _keep_torch_threads():
            batches = iter(self.loader)  # draws the order of `epoch` and advances it
        return self._batches(batches, generator)

    def _batches(self, batches, generator) -> Iterator[dict]:
        for images, index in batches:
            batch = self._make_batch(images, index, generator)
            if self._groups is not None:
                batch = split_groups(batch, self._groups)
            yield batch

    def _make_batch(self, images: torch.Tensor, index: torch.Tensor, generator) -> dict:
        # FFCV overwrites its output buffers a few batches later: keep a copy of the indices.
        index = index.reshape(-1).to(self.device, non_blocking=True).clone()
        x = images.to(self.device, non_blocking=True).permute(0, 3, 1, 2)
        if self.channels == 1:
            x = x[:, :1]
        # Views FFCV decoded separately are consecutive blocks of the batch; the rest are drawn
        # here, from one decoded copy.
        drawn = self.views // self.decoded_views
        if self.augmentation == "crop_flip":
            views = augment_views(pad(x, self.padding, self.padding_mode), "crop_flip", generator,
                                  size=x.shape[-2:], views=drawn)
        elif self.augmentation in ("flip", "random_resized_crop"):
            views = augment_views(x, "flip", generator, views=drawn)
        else:
            views = [x] * drawn
        if self.decoded_views > 1:
            views = list(views[0].chunk(self.decoded_views))
            index = index[:len(views[0])]
        x = normalize(views[0], self._scale, self._shift)
        batch = {"x": x, "y": self._targets[index], "index": index}
        if self.views == 2:
            batch["x2"] = x if views[-1] is views[0] else normalize(views[-1], self._scale,
                                                                    self._shift)
        if self._clean is not None:
            batch["y_clean"] = self._clean[index]
        return batch


def _build(
    path,
    batch_size: int,
    *,
    order,
    indices,
    image_decoder,
    device,
    drop_last: bool,
    num_workers: int,
    os_cache: bool,
    batches_ahead: int,
    fields: list[str],
):
    from ffcv.fields.decoders import IntDecoder
    from ffcv.loader import Loader
    from ffcv.transforms import ToDevice, ToTensor

    device = torch.device(device)
    # On the CPU the tensors are already where they belong; on CUDA FFCV copies on its streams.
    to_device = [ToDevice(device, non_blocking=True)] if device.type == "cuda" else []
    pipelines = {name: None for name in fields}
    pipelines["image"] = [image_decoder, ToTensor(), *to_device]
    pipelines["index"] = [IntDecoder(), ToTensor(), *to_device]
    with _keep_torch_threads():
        return Loader(
            str(path),
            batch_size=batch_size,
            num_workers=num_workers,
            os_cache=os_cache,
            order=order,
            indices=indices,
            pipelines=pipelines,
            drop_last=drop_last,
            batches_ahead=batches_ahead,
            seed=0,  # unused by our orders; set so FFCV does not draw one from numpy's global RNG
        )


def _check_common(path, batch_size, normalization, rank, world_size) -> dict:
    require_ffcv()
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no .beton at {path}: write one with `ignoise convert`")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch size must be a positive integer, got {batch_size!r}")
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is outside [0, {world_size})")
    info = _read_columns(path)
    if len(normalization[0]) != info["channels"]:
        raise ValueError(
            f"normalization has {len(normalization[0])} channel means but {path} holds "
            f"{info['channels']}-channel images"
        )
    return info


def ffcv_train_loader(
    path: str | os.PathLike,
    batch_size: int,
    *,
    normalization: tuple[Sequence[float], Sequence[float]],
    device: torch.device | str = "cpu",
    seed: int = 0,
    rank: int = 0,
    world_size: int = 1,
    augmentation: str = "crop_flip",
    padding: int = 4,
    padding_mode: str = "zero",
    crop_size: int = 224,
    crop_scale: tuple[float, float] = (0.08, 1.0),
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3),
    paired_sampler=None,
    codivide_sampler=None,
    views: int = 1,
    targets=None,
    clean_targets=None,
    drop_last: bool = False,
    num_workers: int = -1,
    os_cache: bool = True,
    batches_ahead: int = 3,
) -> FFCVLoader:
    """A training loader over a ``.beton``: a new random order each epoch, sharded by rank.

    Args:
        path: the ``.beton`` (from :func:`~ignoise.data.loaders.ffcv_writer.write_beton`).
        batch_size: samples per batch (per network with a paired sampler).
        normalization: per-channel ``(mean, std)`` in [0, 1], e.g.
            ``ignoise.data.transforms.NORMALIZATION["cifar10"]``.
        device: where batches land.
        seed, rank, world_size: the order of
            :class:`~ignoise.data.samplers.sharded.ShardedRandomSampler` and the augmentation seed.
        augmentation: ``"crop_flip"`` (padded random crop and flip, on the device),
            ``"random_resized_crop"`` (in FFCV's decoder, to ``crop_size``; then flip),
            ``"flip"`` or ``"none"``.
        padding, padding_mode: of ``"crop_flip"`` (``"zero"`` like torchvision, or
            ``"reflect"``).
        crop_size, crop_scale, crop_ratio: of ``"random_resized_crop"`` (torchvision's
            ``RandomResizedCrop`` defaults).
        paired_sampler: a paired batch sampler (flat lists of ``2 * batch_size`` indices);
            batches are then ``{"a": batch, "b": batch}``.
        codivide_sampler: a co-divide batch sampler (``4 * batch_size`` indices); batches are
            then ``{"a": {"labeled": batch, "unlabeled": batch}, "b": {...}}``.
        views: 1, or 2 for a second augmented view ``x2`` of every sample (decoded twice with
            ``random_resized_crop``, else drawn twice on the device from one decoding).
        targets, clean_targets: labels indexed by ``index``; default: the ``label`` and
            ``clean_label`` fields of the file. Passing the dataset's labels lets one
            images-only ``.beton`` serve every noise setting.
        drop_last: drop the last partial batch.
        num_workers: FFCV's decoding threads (``-1``: one per core).
        os_cache: let the OS page cache hold the file (FFCV's default); ``False`` for FFCV's
            process cache.
        batches_ahead: batches FFCV prepares in advance.

    Raises:
        ImportError: ffcv is missing (the message names the extra).
        ValueError: bad arguments, a file without labels and no ``targets``, images of several
            sizes without ``random_resized_crop``.

    Examples:
        >>> train = ffcv_train_loader("train.beton", 128, seed=0,
        ...                           normalization=((0.5,), (0.5,)))  # doctest: +SKIP
        >>> train.set_epoch(3)  # doctest: +SKIP
    """
    info = _check_common(path, batch_size, normalization, rank, world_size)
    from ffcv.fields.rgb_image import RandomResizedCropRGBImageDecoder, SimpleRGBImageDecoder

    if augmentation not in FFCV_AUGMENTATIONS:
        raise ValueError(
            f"unknown augmentation {augmentation!r}: expected one of {FFCV_AUGMENTATIONS}"
        )
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"unknown padding mode {padding_mode!r}: expected one of {PADDING_MODES}")
    if views not in VIEWS:
        raise ValueError(f"views must be one of {VIEWS}, got {views!r}")
    grouped, groups, _ = grouped_sampler(paired_sampler, codivide_sampler)
    n = info["num_samples"]
    labels = _label_table(targets, info["label"], n, "targets", device)
    if labels is None:
        raise ValueError(f"{path} stores no labels (labels=False): pass targets=")
    clean = _label_table(clean_targets, info["clean_label"], n, "clean_targets", device)
    if augmentation == "random_resized_crop":
        decoder = RandomResizedCropRGBImageDecoder(
            (crop_size, crop_size), scale=crop_scale, ratio=crop_ratio
        )
    else:
        height, width = _constant_size(info, path, f"augmentation={augmentation!r}")
        if padding < 0 or (padding_mode == "reflect" and padding >= min(height, width)):
            raise ValueError(
                f"padding {padding} ({padding_mode}) does not fit {height}x{width} images"
            )
        decoder = SimpleRGBImageDecoder()

    # random_resized_crop happens in the decoder: a second view is a second decoding.
    decoded_views = views if augmentation == "random_resized_crop" else 1
    sampler = None
    if grouped is not None:
        list_size = len(groups) * batch_size
        order = _grouped_order(grouped, len(groups), list_size, decoded_views)
        ffcv_batch = decoded_views * list_size
    else:
        sampler = ShardedRandomSampler(n, seed=seed, rank=rank, world_size=world_size)

        def order(epoch: int) -> np.ndarray:
            sampler.set_epoch(epoch)
            flat = np.asarray(list(sampler), dtype=np.int64)
            if decoded_views == 1:
                return flat
            batches = np.split(flat, np.arange(batch_size, len(flat), batch_size))
            return np.concatenate([np.tile(b, decoded_views) for b in batches])

        ffcv_batch = decoded_views * batch_size
    loader = _build(
        path, ffcv_batch, order=_preset_order(order), indices=None, image_decoder=decoder,
        device=device, drop_last=drop_last, num_workers=num_workers, os_cache=os_cache,
        batches_ahead=batches_ahead, fields=info["fields"],
    )
    return FFCVLoader(
        loader, device=device, normalization=normalization, channels=info["channels"],
        targets=labels, clean_targets=clean, train=True, augmentation=augmentation,
        padding=padding, padding_mode=padding_mode, seed=seed, rank=rank, sampler=sampler,
        paired_sampler=paired_sampler, codivide_sampler=codivide_sampler, views=views,
        decoded_views=decoded_views,
    )


def ffcv_eval_loader(
    path: str | os.PathLike,
    batch_size: int,
    *,
    normalization: tuple[Sequence[float], Sequence[float]],
    device: torch.device | str = "cpu",
    rank: int = 0,
    world_size: int = 1,
    center_crop: int | None = None,
    center_crop_ratio: float = 224 / 256,
    targets=None,
    clean_targets=None,
    num_workers: int = -1,
    os_cache: bool = True,
    batches_ahead: int = 3,
    indices=None,
) -> FFCVLoader:
    """A sequential evaluation loader: rank ``r`` of ``w`` reads samples ``r, r + w, ...``, all
    of them, with no padding and the last partial batch kept. ``indices`` limits it to those
    samples; the loader's ``restricted(indices)`` builds such a loader over the same file.

    Args:
        path: the ``.beton``.
        batch_size: samples per batch.
        normalization: per-channel ``(mean, std)`` in [0, 1].
        device: where batches land.
        rank, world_size: this process's slice.
        center_crop: output side of a center crop of ``center_crop_ratio`` of the shorter
            side, resized (torchvision's ``Resize(256)`` + ``CenterCrop(224)`` with the
            defaults ``224`` and ``224 / 256``); ``None`` keeps the (constant) image size.
        targets, clean_targets: labels indexed by ``index``; default: the file's fields.
        num_workers, os_cache, batches_ahead: as in :func:`ffcv_train_loader`.

    Examples:
        >>> test = ffcv_eval_loader("test.beton", 512, rank=1, world_size=2,
        ...                         normalization=((0.5,), (0.5,)))  # doctest: +SKIP
    """
    info = _check_common(path, batch_size, normalization, rank, world_size)
    from ffcv.fields.rgb_image import CenterCropRGBImageDecoder, SimpleRGBImageDecoder
    from ffcv.loader import OrderOption

    n = info["num_samples"]
    labels = _label_table(targets, info["label"], n, "targets", device)
    if labels is None:
        raise ValueError(f"{path} stores no labels (labels=False): pass targets=")
    clean = _label_table(clean_targets, info["clean_label"], n, "clean_targets", device)
    if center_crop is not None:
        decoder = CenterCropRGBImageDecoder((center_crop, center_crop), ratio=center_crop_ratio)
    else:
        _constant_size(info, path, "evaluation without center_crop")
        decoder = SimpleRGBImageDecoder()
    mine = np.asarray(list(ShardedEvalSampler(n, rank=rank, world_size=world_size,
                                              indices=indices)), dtype=np.int64)
    loader = _build(
        path, batch_size, order=OrderOption.SEQUENTIAL, indices=mine, image_decoder=decoder,
        device=device, drop_last=False, num_workers=num_workers, os_cache=os_cache,
        batches_ahead=batches_ahead, fields=info["fields"],
    )
    out = FFCVLoader(
        loader, device=device, normalization=normalization, channels=info["channels"],
        targets=labels, clean_targets=clean, train=False,
    )
    # FFCV fixes the indices when the loader is built: a subset's pass builds another one.
    out.restricted = lambda subset: ffcv_eval_loader(
        path, batch_size, normalization=normalization, device=device, rank=rank,
        world_size=world_size, center_crop=center_crop, center_crop_ratio=center_crop_ratio,
        targets=targets, clean_targets=clean_targets, num_workers=num_workers,
        os_cache=os_cache, batches_ahead=batches_ahead, indices=subset)
    return out
