"""``python -m ignoise convert``: write one split of a dataset to an FFCV ``.beton``.

    python -m ignoise convert --dataset cifar10 --data-root data --split train \\
        --output data/cifar10_train.beton

The file holds the images, the indices, the given labels and, where the dataset knows them, the
clean labels (see :mod:`ignoise.data.loaders.ffcv_writer`); ``--images-only`` leaves the labels out,
for loaders that take them from the dataset. ``--loader ffcv`` in recipes converts by itself into a
cache folder; this command is for converting ahead of time, or on another machine.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``convert`` flags to ``parser``.

    Examples:
        >>> parser = argparse.ArgumentParser()
        >>> add_arguments(parser)
        >>> parser.parse_args(["--dataset", "digits", "--output", "d.beton"]).split
        'train'
    """
    # The names without importing torch, so that --help answers at once.
    from ..config import DATASET_NAMES

    parser.add_argument("--dataset", required=True, choices=DATASET_NAMES)
    parser.add_argument("--data-root", default="data", type=Path,
                        help="folder holding the dataset (unused for digits)")
    parser.add_argument("--split", default="train", choices=("train", "test"))
    parser.add_argument("--output", required=True, type=Path, help="the .beton to write")
    parser.add_argument("--format", default="raw", choices=("raw", "jpeg"), dest="image_format",
                        help="raw pixels (exact; right for 32x32 images) or JPEG")
    parser.add_argument("--jpeg-quality", default=90, type=int)
    parser.add_argument("--max-resolution", default=None, type=int,
                        help="shrink images whose longer side exceeds this many pixels")
    parser.add_argument("--images-only", action="store_true",
                        help="leave the labels out (the loader then takes them from the dataset)")
    parser.add_argument("--num-workers", default=-1, type=int,
                        help="writer processes (-1: one per CPU core)")
    parser.add_argument("--download", action="store_true",
                        help="download the dataset into --data-root if it is missing")


def run(args: argparse.Namespace) -> Path:
    """Convert the split described by ``args`` and print what was written.

    Examples:
        >>> parser = argparse.ArgumentParser()
        >>> add_arguments(parser)
        >>> run(parser.parse_args(["--dataset", "digits", "--output",
        ...                        "/tmp/digits.beton"]))  # doctest: +SKIP
        wrote 1437 digits train images (raw) to /tmp/digits.beton (0.1 MB) in 1.2 s
        PosixPath('/tmp/digits.beton')
    """
    from ignoise.data.datasets.catalog import load_dataset
    from ignoise.data.loaders.ffcv_writer import write_beton

    if args.output.suffix != ".beton":
        raise SystemExit(f"--output must end in .beton, got {args.output}")
    dataset = load_dataset(
        args.dataset, args.data_root, train=args.split == "train", download=args.download
    )
    start = time.perf_counter()
    path = write_beton(
        dataset, args.output, image_format=args.image_format, jpeg_quality=args.jpeg_quality,
        max_resolution=args.max_resolution, labels=not args.images_only,
        num_workers=args.num_workers,
    )
    size_mb = path.stat().st_size / 2**20
    print(
        f"wrote {len(dataset)} {args.dataset} {args.split} images ({args.image_format}) to "
        f"{path} ({size_mb:.1f} MB) in {time.perf_counter() - start:.1f} s"
    )
    return path
