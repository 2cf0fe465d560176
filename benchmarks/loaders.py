"""Images per second of the three loaders on the same generated datasets, measured in one run.

    python benchmarks/loaders.py                     # small sizes: a few minutes on 2 CPU cores
    python benchmarks/loaders.py --device cuda --scale 10 --workers 8

Datasets (generated, smooth random images so that JPEG sizes are realistic):

- ``raw32``: 32x32 RGB in memory (CIFAR-like); augmentation: 4-pixel padded crop and flip;
- ``jpeg64``: 64x64 JPEG files (Animal-10N-like); padded crop and flip;
- ``jpeg256``: 256x256 JPEG files (Clothing1M-like); random-resized 224 crop and flip.

Loaders: ``torch`` (DataLoader over the ignoise dataset: PIL decode and torchvision transforms
in ``--workers`` processes, batches then moved to the device), ``ffcv`` (a ``.beton``: raw
pixels for raw32, JPEG for the others; ``--workers`` decoding threads) and ``gpu`` (the
decoded images held on the device; not for jpeg256, whose random-resized crop it does not do
and whose real counterparts do not fit on a device). Every loader runs with the dataset's
augmentation from :data:`ignoise.data.loaders.factory.DEVICE_AUGMENTATION` and
``ignoise.data.transforms.train_transform``.

Reported: the first epoch apart (worker start-up; FFCV's numba compilation), then images per
second of the fastest of ``--epochs`` further full epochs, each loader's ratio to the torch
DataLoader, and the one-off ``.beton`` conversion time. The timed epochs of a dataset's loaders
run in turn (torch, ffcv, gpu, torch, ...), so that other work on a shared machine slows them
alike.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ignoise.data import ArrayImageDataset, FileImageDataset, make_train_loader, move_batch
from ignoise.data.loaders.factory import DEVICE_AUGMENTATION
from ignoise.data.loaders.gpu_loader import GPUResidentLoader
from ignoise.data.transforms import NORMALIZATION, train_transform

__all__ = ["main"]

# name: (side, stored as JPEG files, default count, dataset whose augmentation it uses)
DATASETS = {
    "raw32": (32, False, 10_000, "cifar10"),
    "jpeg64": (64, True, 4_000, "animal10n"),
    "jpeg256": (256, True, 600, "clothing1m"),
}
LOADERS = ("torch", "ffcv", "gpu")


def smooth_images(n: int, side: int, seed: int = 0) -> np.ndarray:
    """``n`` uint8 ``(side, side, 3)`` images: upsampled 4x4 colour fields plus mild noise."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, side, side, 3), dtype=np.uint8)
    for i in range(n):
        field = Image.fromarray(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8))
        base = np.asarray(field.resize((side, side), Image.BILINEAR), dtype=np.int16)
        out[i] = np.clip(base + rng.integers(-12, 13, base.shape), 0, 255)
    return out


def make_dataset(name: str, n: int, folder: Path):
    side, as_files, _, _ = DATASETS[name]
    images = smooth_images(n, side)
    labels = np.arange(n) % 10
    if not as_files:
        return ArrayImageDataset(images, labels, 10), images
    paths = []
    for i, image in enumerate(images):
        paths.append(folder / f"{name}_{i:06d}.jpg")
        Image.fromarray(image).save(paths[-1], quality=90)
    # The GPU-resident loader holds decoded pixels: read the JPEGs back once.
    decoded = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in paths])
    return FileImageDataset(paths, labels, 10), decoded


def run_epoch(loader, epoch: int, device: torch.device, to_device: bool) -> tuple[int, float]:
    """Images and seconds of one full epoch (batches moved to ``device`` if ``to_device``)."""
    start = time.perf_counter()
    if hasattr(loader, "set_epoch"):
        loader.set_epoch(epoch)
    else:
        loader.sampler.set_epoch(epoch)
    count = 0
    for batch in loader:
        if to_device:
            batch = move_batch(batch, device)
        count += batch["x"].shape[0]
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return count, time.perf_counter() - start


def build(kind: str, name: str, dataset, decoded, args, folder: Path):
    """The loader of ``kind`` for ``name`` (and the one-off conversion time for ffcv)."""
    dataset_name = DATASETS[name][3]
    device = torch.device(args.device)
    norm = NORMALIZATION[dataset_name]
    augmentation = DEVICE_AUGMENTATION[dataset_name]
    if kind == "torch":
        train_set = dataset.with_transform(train_transform(dataset_name))
        return make_train_loader(train_set, args.batch_size, num_workers=args.workers,
                                 pin_memory=device.type == "cuda"), None
    if kind == "gpu":
        if augmentation["augmentation"] == "random_resized_crop":
            return None, None
        in_memory = ArrayImageDataset(decoded, dataset.targets, 10)
        return GPUResidentLoader(in_memory, args.batch_size, normalization=norm, device=device,
                                 **augmentation), None
    from ignoise.data.loaders.ffcv_loader import ffcv_train_loader
    from ignoise.data.loaders.ffcv_writer import write_beton

    start = time.perf_counter()
    path = write_beton(dataset, folder / f"{name}.beton",
                       image_format="jpeg" if DATASETS[name][1] else "raw",
                       num_workers=args.workers)
    convert = time.perf_counter() - start
    loader = ffcv_train_loader(path, args.batch_size, normalization=norm, device=device,
                               num_workers=args.workers, **augmentation)
    return loader, convert


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--loaders", nargs="+", default=list(LOADERS), choices=LOADERS)
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply every dataset's size (defaults: 10000, 4000, 600 images)")
    parser.add_argument("--epochs", type=int, default=3,
                        help="timed epochs after the first (the fastest is reported)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--workers", type=int, default=2,
                        help="torch DataLoader worker processes = FFCV decoding threads")
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="where the generated images and .beton files go (default: a temp dir)")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    threads = torch.get_num_threads()

    rows = []
    with tempfile.TemporaryDirectory(dir=args.work_dir) as tmp:
        folder = Path(tmp)
        for name in args.datasets:
            n = max(int(DATASETS[name][2] * args.scale), args.batch_size)
            dataset, decoded = make_dataset(name, n, folder)
            loaders, dataset_rows = {}, []
            for kind in args.loaders:
                try:
                    loaders[kind], convert = build(kind, name, dataset, decoded, args, folder)
                except ImportError as err:
                    print(f"skipping {kind} on {name}: {err}")
                    continue
                row = {"dataset": name, "loader": kind, "n": n, "convert_s": convert, "rates": []}
                if loaders[kind] is not None:
                    row["first_s"] = run_epoch(loaders[kind], 0, device, kind == "torch")[1]
                    torch.set_num_threads(threads)  # FFCV sets torch's thread count to its own
                dataset_rows.append(row)
            # Round robin: a burst of other work on a shared machine hits every loader alike.
            for epoch in range(1, args.epochs + 1):
                for row in dataset_rows:
                    loader = loaders[row["loader"]]
                    if loader is not None:
                        count, seconds = run_epoch(loader, epoch, device, row["loader"] == "torch")
                        row["rates"].append(count / seconds)
                        torch.set_num_threads(threads)
            rows += dataset_rows
            del loaders
    for row in rows:
        if row["rates"]:
            row["rate"] = max(row["rates"])  # other work only ever slows an epoch down
    print_table(rows, args)
    return rows


def print_table(rows: list[dict], args) -> None:
    torch_rate = {r["dataset"]: r["rate"] for r in rows if r["loader"] == "torch" and "rate" in r}
    print(f"\ndevice={args.device} batch={args.batch_size} workers={args.workers} "
          f"timed epochs={args.epochs} (fastest shown)")
    header = (f"{'dataset':<9} {'images':>7} {'loader':<6} {'first epoch s':>13} "
              f"{'images/s':>10} {'vs torch':>9} {'convert s':>9}")
    print(header)
    print("-" * len(header))
    for r in rows:
        if "rate" not in r:
            print(f"{r['dataset']:<9} {r['n']:>7} {r['loader']:<6} {'n/a':>13}")
            continue
        base = torch_rate.get(r["dataset"])
        ratio = f"{r['rate'] / base:.2f}x" if base else "-"
        convert = f"{r['convert_s']:.1f}" if r["convert_s"] is not None else "-"
        print(f"{r['dataset']:<9} {r['n']:>7} {r['loader']:<6} {r['first_s']:>13.2f} "
              f"{r['rate']:>10,.0f} {ratio:>9} {convert:>9}")


if __name__ == "__main__":
    main()
