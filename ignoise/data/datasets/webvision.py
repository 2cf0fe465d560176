"""Mini-WebVision: the first 50 classes of WebVision 1.0's Google images, and the ILSVRC12
validation images of the same classes, the two test sets of the noisy-label literature
(DivideMix, ELR, GSS).

Expected layout of ``root`` (WebVision 1.0's resized release plus ImageNet's validation set)::

    info/train_filelist_google.txt   google/q0001/xxx.jpg 0   (training list and web labels)
    info/val_filelist.txt            val000001.jpg 0          (validation list and labels)
    info/synsets.txt                 n01440764 tench, Tinca tinca   (label order, 1,000 lines)
    google/q0001/...                 training images (paths relative to root)
    val_images_256/...               validation images
    imagenet/val/<synset>/*.JPEG     ILSVRC12 validation images, one folder per synset
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from .base import FileImageDataset
from .label_files import read_path_labels

__all__ = ["load_mini_webvision", "load_imagenet_val", "WEBVISION_FILES", "WEBVISION_NUM_CLASSES"]

#: Classes of the full WebVision 1.0 (those of ILSVRC12, in ``info/synsets.txt`` order).
WEBVISION_NUM_CLASSES = 1000

#: For each split, its file list (under ``root``) and the folder its image paths are relative to.
WEBVISION_FILES = {
    "train": ("info/train_filelist_google.txt", "."),
    "val": ("info/val_filelist.txt", "val_images_256"),
}

_SYNSETS = "info/synsets.txt"
_IMAGENET_VAL = "imagenet/val"
_IMAGE_SUFFIXES = {".jpeg", ".jpg", ".png"}
_LAYOUT = (
    "expected info/train_filelist_google.txt and info/val_filelist.txt (lines '<image path> "
    "<label>'), the training images under google/, the validation images under val_images_256/"
)


def _check_num_classes(num_classes: int) -> int:
    if not 2 <= num_classes <= WEBVISION_NUM_CLASSES:
        raise ValueError(f"num_classes must lie in [2, {WEBVISION_NUM_CLASSES}], got {num_classes}")
    return int(num_classes)


def _read_synsets(path: Path, num_classes: int) -> tuple[list[str], list[str]]:
    """The first ``num_classes`` synset ids of ``info/synsets.txt`` and their first names."""
    ids, names = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            fields = line.split(maxsplit=1)
            if not fields:
                continue
            ids.append(fields[0])
            # "n01440764 tench, Tinca tinca": the first synonym names the class.
            names.append(fields[1].split(",")[0].strip() if len(fields) > 1 else fields[0])
            if len(ids) == num_classes:
                return ids, names
    raise ValueError(f"{path} lists {len(ids)} synsets: expected at least {num_classes}")


def load_mini_webvision(
    root: str | Path,
    split: str = "train",
    num_classes: int = 50,
    transform: Callable | None = None,
) -> FileImageDataset:
    """Mini-WebVision's training or validation images: those of WebVision's first classes.

    ``train`` is the Google images of ``info/train_filelist_google.txt`` (web labels, noisy;
    ``clean_targets`` ``None``); ``val`` is WebVision's human-annotated validation set
    ``info/val_filelist.txt`` (``clean_targets`` its labels). Only images with a label below
    ``num_classes`` are kept, in the order of the list; the labels are unchanged, as the first
    classes keep their ids. The class names come from ``info/synsets.txt`` where it exists.

    Args:
        root: WebVision's root (see the module's docstring for the layout).
        split: ``"train"`` or ``"val"``.
        num_classes: keep the first ``num_classes`` classes (50 for mini-WebVision).
        transform: applied to each PIL image (RGB).

    Returns:
        A :class:`FileImageDataset` with ``num_classes`` classes.

    Raises:
        ValueError: for an unknown ``split``, ``num_classes`` outside ``[2, 1000]``, a malformed
            line of the list (naming the file and line number), or no image of the first
            classes in the list.
        FileNotFoundError: when the root, the split's file list or its image folder is missing,
            naming the path and the files expected.

    Examples:
        >>> train = load_mini_webvision("data/webvision", "train")  # doctest: +SKIP
        >>> val = load_mini_webvision("data/webvision", "val")  # doctest: +SKIP
        >>> len(train), len(val)  # doctest: +SKIP
        (65944, 2500)
    """
    if split not in WEBVISION_FILES:
        raise ValueError(
            f"unknown WebVision split {split!r}: expected one of {list(WEBVISION_FILES)}"
        )
    num_classes = _check_num_classes(num_classes)
    root = Path(root)
    list_name, image_dir = WEBVISION_FILES[split]
    if not root.is_dir():
        raise FileNotFoundError(f"WebVision root {root} does not exist: {_LAYOUT}")
    filelist = root / list_name
    if not filelist.is_file():
        raise FileNotFoundError(f"WebVision file list {filelist} does not exist: {_LAYOUT}")
    paths, labels = read_path_labels(filelist, WEBVISION_NUM_CLASSES)
    keep = np.flatnonzero(labels < num_classes)
    if keep.size == 0:
        raise ValueError(f"{filelist} lists no image with a label below {num_classes}")
    images = root / image_dir
    files = [images / paths[i] for i in keep]
    # One cheap check that the list and the images agree, so a wrong root fails here rather
    # than at the first batch.
    if not files[0].parent.is_dir():
        raise FileNotFoundError(
            f"WebVision image folder {files[0].parent} (of {paths[keep[0]]!r}, the first image "
            f"of {filelist}) does not exist: {_LAYOUT}"
        )
    labels = labels[keep]
    synsets = root / _SYNSETS
    classes = _read_synsets(synsets, num_classes)[1] if synsets.is_file() else None
    return FileImageDataset(
        files,
        labels,
        num_classes,
        clean_targets=labels if split == "val" else None,
        transform=transform,
        classes=classes,
    )


def _class_folders(root: Path, val: Path, num_classes: int) -> tuple[list[Path], list[str] | None]:
    """Each class's ImageNet folder, by WebVision label, and the class names where known."""
    if (val / "0").is_dir():
        # DivideMix's own copy renamed the synset folders to their WebVision labels.
        return [val / str(c) for c in range(num_classes)], None
    synsets = root / _SYNSETS
    if not synsets.is_file():
        raise FileNotFoundError(
            f"WebVision synset list {synsets} does not exist: it maps the folders "
            f"{val}/<synset>/ to WebVision labels (or name the folders {val}/0/, {val}/1/, ...)"
        )
    ids, names = _read_synsets(synsets, num_classes)
    return [val / s for s in ids], names


def load_imagenet_val(
    root: str | Path, num_classes: int = 50, transform: Callable | None = None
) -> FileImageDataset:
    """The ILSVRC12 validation images of WebVision's first ``num_classes`` classes.

    Mini-WebVision models are also tested on ImageNet: the 50 validation images of each of the
    same classes. Two layouts under ``root/imagenet/val/`` are read:

    - one folder per synset (``n01440764/ILSVRC2012_val_00000293.JPEG``, the usual ImageFolder
      layout); ``root/info/synsets.txt`` (WebVision's, 1,000 synsets in label order) maps each
      synset to its WebVision label, and the folders of the first ``num_classes`` synsets are
      read;
    - one folder per WebVision label (``0/``, ``1/``, ...), as in DivideMix's code; used when
      ``imagenet/val/0/`` exists.

    Images are the ``.JPEG``/``.jpg``/``.png`` files of each folder, sorted by name.

    Args:
        root: WebVision's root, holding ``imagenet/val/`` and ``info/synsets.txt``.
        num_classes: read the first ``num_classes`` classes (50 for mini-WebVision).
        transform: applied to each PIL image (RGB).

    Returns:
        A :class:`FileImageDataset` whose ``targets`` (and ``clean_targets``) are the WebVision
        labels; ``classes`` are the synsets' names in the synset layout, else ``None``.

    Raises:
        ValueError: ``num_classes`` outside ``[2, 1000]``, or ``synsets.txt`` shorter than that.
        FileNotFoundError: when ``imagenet/val/``, ``info/synsets.txt`` or a class's folder is
            missing, or a folder holds no image, naming the path and what was expected.

    Examples:
        >>> imagenet = load_imagenet_val("data/webvision", num_classes=50)  # doctest: +SKIP
        >>> len(imagenet)  # doctest: +SKIP
        2500
    """
    num_classes = _check_num_classes(num_classes)
    root = Path(root)
    val = root / _IMAGENET_VAL
    if not val.is_dir():
        raise FileNotFoundError(
            f"ImageNet validation folder {val} does not exist: expected {val}/<synset>/*.JPEG "
            f"with {root / _SYNSETS} giving the synsets' order"
        )
    folders, classes = _class_folders(root, val, num_classes)
    files, labels = [], []
    for label, folder in enumerate(folders):
        if not folder.is_dir():
            raise FileNotFoundError(
                f"ImageNet class folder {folder} (WebVision label {label}) does not exist: "
                f"expected one folder of validation images per class"
            )
        images = sorted(
            p for p in folder.iterdir()
            if p.suffix.lower() in _IMAGE_SUFFIXES and not p.name.startswith(".")
        )
        if not images:
            raise FileNotFoundError(f"ImageNet class folder {folder} holds no images")
        files.extend(images)
        labels.append(np.full(len(images), label, dtype=np.int64))
    labels = np.concatenate(labels)
    return FileImageDataset(
        files, labels, num_classes, clean_targets=labels, transform=transform, classes=classes
    )
