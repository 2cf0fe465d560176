"""Reading the ``<image path> <label>`` text files of web-scale noisy datasets."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["read_path_labels"]


def read_path_labels(path: str | Path, num_classes: int) -> tuple[list[str], np.ndarray]:
    """Read one ``<relative image path> <label>`` pair per line (blank lines skipped).

    The format of Clothing1M's ``*_label_kv.txt`` and WebVision's ``info/*_filelist*.txt``.

    Args:
        path: the text file.
        num_classes: labels must lie in ``[0, num_classes)``.

    Returns:
        The paths, in file order, and their labels as int64.

    Raises:
        ValueError: for a line that is not a path and an integer label in range, naming the
            file and the line number.

    Examples:
        >>> import tempfile, os
        >>> with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        ...     _ = f.write("a/1.jpg 3\\n\\nb/2.jpg 0\\n")
        >>> read_path_labels(f.name, 4)
        (['a/1.jpg', 'b/2.jpg'], array([3, 0]))
        >>> os.unlink(f.name)
    """
    path = Path(path)
    paths, labels = [], []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            fields = line.split()
            if not fields:
                continue
            label = fields[-1]
            if (
                len(fields) != 2
                or not (label.isascii() and label.isdigit())
                or int(label) >= num_classes
            ):
                raise ValueError(
                    f"{path}:{number}: expected '<image path> <label>' with a label in "
                    f"[0, {num_classes}), got {line.strip()!r}"
                )
            paths.append(fields[0])
            labels.append(int(label))
    return paths, np.asarray(labels, dtype=np.int64)
