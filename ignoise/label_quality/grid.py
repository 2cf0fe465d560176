"""A PNG grid of the top suspected mislabeled images, with their given and suggested labels."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["sample_images", "plot_suspect_grid"]

# File images are shrunk to this many pixels a side: a grid cell is about 160 pixels.
_THUMBNAIL = 160


def sample_images(dataset, indices: Sequence[int]) -> list[np.ndarray] | None:
    """The raw images of ``indices`` as uint8 arrays ``(H, W)`` or ``(H, W, 3)``, or None for a
    dataset that holds no images.

    In-memory image datasets (``images``: uint8 ``(N, H, W, C)``: the digits, CIFAR) give
    their arrays; file datasets (``paths``: Animal-10N, Clothing1M, WebVision) open the files.

    Examples:
        >>> from types import SimpleNamespace
        >>> ds = SimpleNamespace(images=np.zeros((3, 8, 8, 1), np.uint8))
        >>> [img.shape for img in sample_images(ds, [2, 0])]
        [(8, 8), (8, 8)]
        >>> sample_images(SimpleNamespace(), [0]) is None
        True
    """
    images = getattr(dataset, "images", None)
    if images is not None:
        return [_as_image(np.asarray(images[int(i)])) for i in indices]
    paths = getattr(dataset, "paths", None)
    if paths is None:
        return None
    from PIL import Image

    out = []
    for i in indices:
        with Image.open(paths[int(i)]) as img:
            img = img.convert("RGB")
            img.thumbnail((_THUMBNAIL, _THUMBNAIL))
            out.append(np.asarray(img))
    return out


def _as_image(array: np.ndarray) -> np.ndarray:
    return array[..., 0] if array.ndim == 3 and array.shape[-1] == 1 else array


def plot_suspect_grid(rows, images: Sequence[np.ndarray], path: str | Path, *,
                      classes: Sequence[str] | None = None, title: str | None = None,
                      columns: int = 8) -> Path:
    """Write a PNG grid: one cell per image, titled with its index, score, given and suggested
    labels (and the clean label where known, the title in red when the given one is corrupted).

    Args:
        rows: the table rows of the images, in order (a DataFrame with ``index``, ``score``,
            ``given_label``, ``suggested_label``, optionally ``clean_label``/``corrupted``).
        images: uint8 images ``(H, W)`` (gray) or ``(H, W, 3)``, one per row.
        path: the PNG to write.
        classes: class names, shown next to the labels when they are not the labels' digits.
        title: the figure's title.
        columns: images per row of the grid.

    Returns:
        ``path``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if len(images) != len(rows):
        raise ValueError(f"{len(images)} images for {len(rows)} rows: expected one per row")
    path = Path(path)
    columns = max(1, min(columns, len(images)))
    lines = 4 if "clean_label" in rows else 3
    grid_rows = max(1, math.ceil(len(images) / columns))
    fig, axes = plt.subplots(grid_rows, columns, squeeze=False,
                             figsize=(1.7 * columns, (1.5 + 0.22 * lines) * grid_rows + 0.6))
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, (_, row) in zip(axes.flat, images, rows.iterrows()):
        gray = image.ndim == 2
        ax.imshow(image, cmap="gray" if gray else None, vmin=0, vmax=255,
                  interpolation="nearest")
        text = [f"#{int(row['index'])}  score {row['score']:.2f}",
                f"given {_name(int(row['given_label']), classes)}",
                f"suggested {_name(int(row['suggested_label']), classes)}"]
        corrupted = False
        if "clean_label" in row:
            text.append(f"clean {_name(int(row['clean_label']), classes)}")
            corrupted = bool(row["corrupted"])
        ax.set_title("\n".join(text), fontsize=7, color="tab:red" if corrupted else "black")
    if "clean_label" in rows:
        title = f"{title or ''}\n(red: the given label differs from the clean one)".strip()
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _name(label: int, classes: Sequence[str] | None) -> str:
    if not classes or label >= len(classes) or str(classes[label]) == str(label):
        return str(label)
    name = str(classes[label])
    return f"{label} {name if len(name) <= 14 else name[:13] + '…'}"
