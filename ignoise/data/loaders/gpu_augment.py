"""Batched image transforms on the device: padded random crop, horizontal flip, normalization.

The device-resident loaders (:mod:`ignoise.data.loaders.gpu_loader`,
:mod:`ignoise.data.loaders.ffcv_loader`) augment a whole batch of uint8 ``NCHW`` images with a few
tensor ops and no per-sample Python, in the manner of airbench. The random draws (crop offsets, flip
flags) are separate from the ops that apply them, so that tests can compare the ops with a plain
per-sample reference given the same draws, and so that the draws come from a generator seeded per
``(seed, epoch, rank)``.

Padding follows torchvision's ``RandomCrop(size, padding)``: ``"zero"`` (the default, what
:func:`ignoise.data.transforms.train_transform` uses) or ``"reflect"`` (mirror without repeating
the edge pixel, torchvision's ``padding_mode="reflect"``; what airbench uses).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

__all__ = [
    "AUGMENTATIONS",
    "PADDING_MODES",
    "augmentation_generator",
    "pad",
    "draw_crop_offsets",
    "draw_flips",
    "crop",
    "hflip",
    "normalize",
    "normalization_constants",
    "augment_views",
]

#: What the device-resident loaders can apply to a training batch: padded random crop and
#: horizontal flip, flip only, or nothing (digits: a flipped 8x8 digit changes meaning).
AUGMENTATIONS = ("crop_flip", "flip", "none")

#: How :func:`pad` fills the border.
PADDING_MODES = ("zero", "reflect")


def augmentation_generator(
    seed: int, epoch: int, rank: int = 0, device: torch.device | str = "cpu"
) -> torch.Generator:
    """A generator on ``device`` for the augmentation draws of one epoch on one rank.

    Seeded from ``(seed, epoch, rank)`` through numpy's ``SeedSequence``, so that ranks draw
    independent offsets for their different samples, and the stream never coincides with the
    sample order's (:func:`ignoise.data.samplers.sharded.epoch_generator`).

    Args:
        seed: the run's seed.
        epoch: the epoch being drawn.
        rank: this process's rank.
        device: where the draws are made (a CUDA generator draws without host synchronization).

    Examples:
        >>> g = augmentation_generator(0, epoch=3)
        >>> draw_flips(4, g).shape
        torch.Size([4])
    """
    state = np.random.SeedSequence([int(seed), int(epoch), int(rank), 0xA06]).generate_state(
        1, np.uint64
    )
    g = torch.Generator(device=device)
    g.manual_seed(int(state[0]))
    return g


def _reflect_index(n: int, padding: int, device: torch.device) -> torch.Tensor:
    i = torch.arange(-padding, n + padding, device=device).abs()
    return torch.where(i >= n, 2 * (n - 1) - i, i)


def pad(images: torch.Tensor, padding: int, mode: str = "zero") -> torch.Tensor:
    """Pad the last two dimensions of ``images`` by ``padding`` pixels on every side.

    Args:
        images: ``(N, C, H, W)`` tensor of any dtype.
        padding: pixels added on each side.
        mode: ``"zero"`` or ``"reflect"`` (see the module docstring).

    Returns:
        ``(N, C, H + 2 * padding, W + 2 * padding)`` tensor of the same dtype.

    Examples:
        >>> pad(torch.ones(1, 1, 2, 2, dtype=torch.uint8), 1)[0, 0]
        tensor([[0, 0, 0, 0],
                [0, 1, 1, 0],
                [0, 1, 1, 0],
                [0, 0, 0, 0]], dtype=torch.uint8)
    """
    if mode not in PADDING_MODES:
        raise ValueError(f"unknown padding mode {mode!r}: expected one of {PADDING_MODES}")
    if padding == 0:
        return images
    h, w = images.shape[-2:]
    if mode == "zero":
        return torch.nn.functional.pad(images, (padding,) * 4)
    if padding >= min(h, w):
        raise ValueError(
            f"reflect padding {padding} needs images larger than {padding}, got {h}x{w}"
        )
    # Gathering rows then columns works for every dtype on every device (reflection_pad2d
    # kernels do not all take uint8).
    rows = _reflect_index(h, padding, images.device)
    cols = _reflect_index(w, padding, images.device)
    return images.index_select(-2, rows).index_select(-1, cols)


def draw_crop_offsets(n: int, padding: int, generator: torch.Generator) -> torch.Tensor:
    """Top-left corners ``(row, col)`` in ``[0, 2 * padding]`` of ``n`` crops, int64 ``(n, 2)``."""
    return torch.randint(
        0, 2 * padding + 1, (n, 2), generator=generator, device=generator.device
    )


def draw_flips(n: int, generator: torch.Generator, p: float = 0.5) -> torch.Tensor:
    """Which of ``n`` images to flip, each with probability ``p``: bool ``(n,)``."""
    return torch.rand(n, generator=generator, device=generator.device) < p


def crop(
    images: torch.Tensor,
    offsets: torch.Tensor,
    size: Sequence[int],
    index: torch.Tensor | None = None,
    flips: torch.Tensor | None = None,
) -> torch.Tensor:
    """Cut one window per sample out of ``images`` in a single gather, optionally mirrored.

    Args:
        images: ``(M, C, H, W)``, usually already padded (:func:`pad`).
        offsets: int64 ``(B, 2)`` top-left corners ``(row, col)`` of the windows.
        size: ``(h, w)`` of the windows.
        index: int64 ``(B,)`` rows of ``images`` to crop (default: ``images`` is the batch,
            ``B == M``). Lets the GPU-resident loader select and crop a batch from the whole
            padded dataset in one op.
        flips: bool ``(B,)``: mirror these windows left to right, by reading their columns
            backwards in the same gather (cheaper than :func:`hflip` after the crop).

    Returns:
        ``(B, C, h, w)`` tensor: sample ``i`` is
        ``images[index[i], :, r:r + h, c:c + w]`` with ``(r, c) = offsets[i]``, reversed along
        the last dimension where ``flips[i]``.

    Examples:
        >>> x = torch.arange(16).view(1, 1, 4, 4)
        >>> crop(x, torch.tensor([[1, 2]]), (2, 2))[0, 0]
        tensor([[ 6,  7],
                [10, 11]])
    """
    h, w = int(size[0]), int(size[1])
    device = images.device
    if index is None:
        index = torch.arange(images.shape[0], device=device)
    rows = offsets[:, 0:1] + torch.arange(h, device=device)  # (B, h)
    step = torch.arange(w, device=device)
    cols = offsets[:, 1:2] + step  # (B, w)
    if flips is not None:
        cols = torch.where(flips[:, None], offsets[:, 1:2] + (w - 1) - step, cols)
    channels = torch.arange(images.shape[1], device=device)
    return images[
        index[:, None, None, None],
        channels[None, :, None, None],
        rows[:, None, :, None],
        cols[:, None, None, :],
    ]


def hflip(images: torch.Tensor, flags: torch.Tensor) -> torch.Tensor:
    """Mirror the images whose flag is set, left to right.

    Args:
        images: ``(B, C, H, W)``.
        flags: bool ``(B,)``.

    Examples:
        >>> hflip(torch.tensor([[[[1, 2]]], [[[3, 4]]]]), torch.tensor([True, False])).flatten()
        tensor([2, 1, 3, 4])
    """
    return torch.where(flags[:, None, None, None], images.flip(-1), images)


def augment_views(
    images: torch.Tensor,
    augmentation: str,
    generator: torch.Generator | None,
    *,
    size: Sequence[int] | None = None,
    index: torch.Tensor | None = None,
    views: int = 1,
) -> list[torch.Tensor]:
    """``views`` independently augmented copies of a batch, drawn and applied in one call.

    The ``views * B`` draws are made at once (crop offsets, then flips, view after view), and
    all views come out of one gather, as airbench does for its two views; ``views=1`` draws
    exactly what a single :func:`draw_crop_offsets` and :func:`draw_flips` of ``B`` draw.

    Args:
        images: ``(M, C, H, W)`` uint8; for ``"crop_flip"`` already padded (:func:`pad`).
        augmentation: ``"crop_flip"``, ``"flip"`` or ``"none"`` (:data:`AUGMENTATIONS`).
        generator: where the draws come from (unused for ``"none"``).
        size: ``(h, w)`` of the crops (``"crop_flip"`` only).
        index: int64 ``(B,)`` rows of ``images`` that form the batch (default: all of them).
        views: how many augmented copies of each sample.

    Returns:
        ``views`` tensors ``(B, C, h, w)``; for ``"none"`` the same tensor ``views`` times
        (a second draw of no augmentation is the first).

    Examples:
        >>> g = augmentation_generator(0, epoch=0)
        >>> x = torch.arange(2 * 16, dtype=torch.uint8).view(2, 1, 4, 4)
        >>> first, second = augment_views(pad(x, 1), "crop_flip", g, size=(4, 4), views=2)
        >>> first.shape, second.shape
        (torch.Size([2, 1, 4, 4]), torch.Size([2, 1, 4, 4]))
    """
    if augmentation not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {augmentation!r}: expected one of {AUGMENTATIONS}")
    if augmentation == "none":
        return [images if index is None else images[index]] * views
    if index is None and (views > 1 or augmentation == "crop_flip"):
        index = torch.arange(images.shape[0], device=images.device)
    rows = index.repeat(views) if views > 1 else index
    n = images.shape[0] if rows is None else rows.shape[0]
    if augmentation == "crop_flip":
        padding = (images.shape[-2] - int(size[0])) // 2
        offsets = draw_crop_offsets(n, padding, generator)
        x = crop(images, offsets, size, rows, draw_flips(n, generator))
    else:
        x = hflip(images if rows is None else images[rows], draw_flips(n, generator))
    return list(x.chunk(views)) if views > 1 else [x]


def normalize(images: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """uint8 images to float32 ``(x / 255 - mean) / std`` as one multiply-add.

    Args:
        images: uint8 ``(B, C, H, W)``.
        scale, shift: float32 ``(1, C, 1, 1)`` from :func:`normalization_constants`:
            ``scale = 1 / (255 * std)``, ``shift = -mean / std``.

    Examples:
        >>> scale, shift = normalization_constants((0.5,), (0.5,))
        >>> x = normalize(torch.tensor([[[[0, 255]]]], dtype=torch.uint8), scale, shift)
        >>> x.round(decimals=4).tolist()
        [[[[-1.0, 1.0]]]]
    """
    # addcmul promotes the uint8 operand itself: no separate float copy of the batch.
    return torch.addcmul(shift, images, scale)


def normalization_constants(
    mean: Sequence[float], std: Sequence[float], device: torch.device | str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(scale, shift)`` for :func:`normalize` from per-channel ``mean`` and ``std`` in [0, 1].

    Examples:
        >>> scale, shift = normalization_constants((0.5,), (0.5,))
        >>> scale.shape, float(shift)
        (torch.Size([1, 1, 1, 1]), -1.0)
    """
    mean_t = torch.as_tensor(mean, dtype=torch.float64).view(1, -1, 1, 1)
    std_t = torch.as_tensor(std, dtype=torch.float64).view(1, -1, 1, 1)
    if mean_t.numel() != std_t.numel() or bool((std_t <= 0).any()):
        raise ValueError(f"expected as many means as positive stds, got mean={mean}, std={std}")
    scale = (1.0 / (255.0 * std_t)).to(torch.float32)
    shift = (-mean_t / std_t).to(torch.float32)
    return scale.to(device), shift.to(device)
