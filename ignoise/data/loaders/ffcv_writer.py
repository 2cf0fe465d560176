"""Write an ignoise dataset to FFCV's ``.beton`` format, the file the FFCV loaders read.

A ``.beton`` written here has these fields, in this order:

- ``image`` (``RGBImageField``): raw uint8 pixels (``image_format="raw"``, right for 32x32
  images: nothing to decode) or JPEG (``"jpeg"``, for larger images, optionally shrunk to
  ``max_resolution`` on their longer side). FFCV stores only RGB, so a one-channel dataset
  (digits) is stored with its channel repeated three times;
- ``index`` (``IntField``): the sample's index in the dataset;
- ``channels`` (``IntField``): 1 or 3, the dataset's channel count; the loader reads it once and
  keeps only the first channel of one-channel images, which gives back the exact pixels;
- ``label`` (``IntField``): the given (possibly noisy) label, with ``labels=True``;
- ``clean_label`` (``IntField``): the clean label, only when ``labels=True`` and the dataset
  knows it, so a batch has ``y_clean`` exactly when the torch loader's would (no ``-1``
  placeholder that a metric could mistake for a class).

With ``labels=False`` the file holds the images alone and the loader takes the labels from the
dataset (``targets=``): the noisy labels change with the noise seed and rate, the images do not,
so one file then serves every noise setting. :func:`ignoise.data.build_loaders` does that.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = [
    "FFCV_EXTRA_MESSAGE",
    "IMAGE_FORMATS",
    "cached_beton",
    "require_ffcv",
    "write_beton",
]

#: The ImportError message when ffcv is missing.
FFCV_EXTRA_MESSAGE = (
    "FFCV loaders need the 'ffcv' extra: pip install 'ignoise[ffcv]' (and the system packages "
    "pkg-config libopencv-dev libturbojpeg0-dev)"
)

#: How :func:`write_beton` stores the pixels.
IMAGE_FORMATS = ("raw", "jpeg")


def require_ffcv():
    """Import and return ``ffcv``, or raise an ImportError that names the extra to install.

    ffcv is imported only here, inside functions, so that ``import ignoise.data`` never needs it.
    """
    try:
        import ffcv
        import ffcv.fields  # noqa: F401  # the compiled extension loads here
    except ImportError as err:
        raise ImportError(f"{FFCV_EXTRA_MESSAGE} ({err})") from err
    return ffcv


class _BetonRows:
    """The dataset as the tuples FFCV's writer asks for, one per sample, in field order."""

    def __init__(self, dataset, labels: bool) -> None:
        self.dataset = dataset
        self.images = getattr(dataset, "images", None)
        if self.images is not None:
            self.channels = int(self.images.shape[-1])
        else:
            first = dataset.load(0) if hasattr(dataset, "load") else None
            if not isinstance(first, Image.Image):
                raise TypeError(
                    f"a .beton stores images: expected an in-memory image dataset (images) or "
                    f"one whose load(i) returns a PIL image, got {type(dataset).__name__} "
                    f"loading {type(first).__name__}; use the torch loader for other inputs"
                )
            self.channels = 1 if first.mode in ("L", "1", "I;16") else 3
        self.targets = dataset.targets if labels else None
        self.clean = getattr(dataset, "clean_targets", None) if labels else None

    def field_names(self) -> list[str]:
        names = ["image", "index", "channels"]
        if self.targets is not None:
            names.append("label")
        if self.clean is not None:
            names.append("clean_label")
        return names

    def __len__(self) -> int:
        return len(self.dataset)

    def _rgb(self, i: int) -> np.ndarray:
        if self.images is not None:
            image = self.images[i]
        else:
            image = np.asarray(self.dataset.load(i).convert("RGB" if self.channels == 3 else "L"))
            image = image.reshape(image.shape[0], image.shape[1], -1)
        if image.shape[-1] == 1:
            image = np.repeat(image, 3, axis=-1)
        return np.ascontiguousarray(image, dtype=np.uint8)

    def __getitem__(self, i: int) -> tuple:
        row = [self._rgb(i), int(i), self.channels]
        if self.targets is not None:
            row.append(int(self.targets[i]))
        if self.clean is not None:
            row.append(int(self.clean[i]))
        return tuple(row)


def write_beton(
    dataset,
    path: str | os.PathLike,
    *,
    image_format: str = "raw",
    jpeg_quality: int = 90,
    max_resolution: int | None = None,
    labels: bool = True,
    num_workers: int = -1,
) -> Path:
    """Write ``dataset`` to ``path`` in the layout of this module's docstring.

    The file appears only once complete (written beside ``path``, then renamed), so an
    interrupted conversion never leaves a truncated ``.beton`` that a cache would trust.

    Args:
        dataset: an :class:`~ignoise.data.ArrayImageDataset` (pixels read from ``images``) or
            any :class:`~ignoise.data.NoisyLabelDataset` whose ``load(i)`` returns a PIL image,
            e.g. :class:`~ignoise.data.FileImageDataset`.
        path: the ``.beton`` file to write.
        image_format: ``"raw"`` (exact pixels) or ``"jpeg"``.
        jpeg_quality: JPEG quality, 1 to 100.
        max_resolution: shrink images whose longer side exceeds this (``None``: keep sizes).
        labels: store ``label`` (and ``clean_label`` when known); ``False`` stores images only.
        num_workers: writer processes; ``-1`` for one per CPU core.

    Returns:
        The path written.

    Raises:
        ImportError: ffcv is not installed (the message names the extra).
        ValueError: an empty dataset or a bad format or quality.
        TypeError: a dataset of other inputs than images (e.g. an
            :class:`~ignoise.data.ArrayDataset` of signals).

    Examples:
        >>> from ignoise.data import load_digits_dataset
        >>> path = write_beton(load_digits_dataset(train=False), "/tmp/digits_test.beton",
        ...                    num_workers=1)  # doctest: +SKIP
    """
    require_ffcv()
    from ffcv.fields import IntField, RGBImageField
    from ffcv.writer import DatasetWriter

    if image_format not in IMAGE_FORMATS:
        raise ValueError(f"unknown image format {image_format!r}: expected one of {IMAGE_FORMATS}")
    if not 1 <= int(jpeg_quality) <= 100:
        raise ValueError(f"jpeg_quality must lie in [1, 100], got {jpeg_quality}")
    if len(dataset) == 0:
        raise ValueError("cannot write an empty dataset")
    rows = _BetonRows(dataset, labels)
    image_field = RGBImageField(
        write_mode="raw" if image_format == "raw" else "jpg",
        max_resolution=max_resolution,
        jpeg_quality=int(jpeg_quality),
    )
    fields = {name: IntField() for name in rows.field_names()}
    fields["image"] = image_field  # dicts keep the first insertion's position: image stays first
    # FFCV's smallest page (2 MiB) instead of its default 8 MiB when every image surely fits:
    # files are page-aligned, so small datasets (digits) would otherwise take 16 MB or more.
    small = rows.images is not None and 3 * np.prod(rows.images.shape[1:3]) <= 2**18
    page_size = {"page_size": 2**21} if small else {}

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        writer = DatasetWriter(str(partial), fields, num_workers=num_workers, **page_size)
        writer.from_indexed_dataset(rows)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


#: Bump when the layout of the files written by :func:`write_beton` changes: old cache files
#: then stop matching.
_CACHE_VERSION = 1


def _image_digest(dataset) -> str:
    digest = hashlib.blake2b(digest_size=16)
    images = getattr(dataset, "images", None)
    paths = getattr(dataset, "paths", None)
    if images is not None:
        images = np.ascontiguousarray(images)
        digest.update(repr((images.shape, images.dtype.str)).encode())
        digest.update(memoryview(images).cast("B"))
    elif paths is not None:
        # A file's path, size and modification time stand for its content: hashing a million
        # JPEGs on every start would cost more than the conversion saves.
        for p in paths:
            stat = os.stat(p)
            digest.update(f"{p}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    else:
        raise TypeError(
            f"cannot key a .beton cache on a {type(dataset).__name__}: expected a dataset with "
            f"`images` (ArrayImageDataset) or `paths` (FileImageDataset)"
        )
    return digest.hexdigest()


def cached_beton(
    dataset,
    cache_dir: str | os.PathLike,
    *,
    name: str,
    split: str,
    image_format: str = "raw",
    jpeg_quality: int = 90,
    max_resolution: int | None = None,
    num_workers: int = -1,
) -> Path:
    """The images-only ``.beton`` of ``dataset`` in ``cache_dir``, written on first use.

    The file name is ``{name}-{split}-{N}-{key}.beton``, where ``key`` hashes the pixels (an
    in-memory dataset) or the paths, sizes and modification times of the image files, the
    write settings and the layout version. It holds no labels (``labels=False``): the loader
    takes them from the dataset, so one file serves every noise type, rate and seed. A changed
    image, file, setting or layout gives another key, hence a new file; stale files are never
    read again and can be deleted with the folder.

    Several processes may call this at once: each writes to a private file and renames it into
    place, and the files are identical, so a reader never sees a partial one.

    Args:
        dataset: an ``ArrayImageDataset`` or ``FileImageDataset``.
        cache_dir: the folder of cached files.
        name, split: the dataset's name and split, for a readable file name.
        image_format, jpeg_quality, max_resolution, num_workers: as in :func:`write_beton`.

    Examples:
        >>> from ignoise.data import load_digits_dataset
        >>> path = cached_beton(load_digits_dataset(), "/tmp/ignoise-cache", name="digits",
        ...                     split="train", num_workers=1)  # doctest: +SKIP
        >>> path.name  # doctest: +SKIP
        'digits-train-1437-....beton'
    """
    settings = repr((_CACHE_VERSION, image_format, int(jpeg_quality), max_resolution))
    key = hashlib.blake2b(
        (_image_digest(dataset) + settings).encode(), digest_size=8
    ).hexdigest()
    path = Path(cache_dir) / f"{name}-{split}-{len(dataset)}-{key}.beton"
    if not path.is_file():
        write_beton(
            dataset, path, image_format=image_format, jpeg_quality=jpeg_quality,
            max_resolution=max_resolution, labels=False, num_workers=num_workers,
        )
    return path
