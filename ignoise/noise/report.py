"""The result of a label corruption, :class:`NoisyLabels`, and the statistics it realized.

Every noise generator of :mod:`ignoise.noise` returns a :class:`NoisyLabels`, built by
:func:`realized_noise` from the clean and the noisy label arrays. The statistics are those
actually realized by the draw (not the nominal ones), so recipes can log what they trained on.
The argument checks shared by the generators live here too, so every generator reports bad
input with the same messages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["NoisyLabels", "realized_noise"]


@dataclass(frozen=True, eq=False)
class NoisyLabels:
    """Corrupted labels together with the clean ones and the noise they realize.

    Attributes:
        noisy: int64 array ``(N,)``, the corrupted labels.
        clean: int64 array ``(N,)``, the input labels.
        corrupted: bool array ``(N,)``, ``noisy != clean``.
        rate: realized noise rate, ``corrupted.mean()`` (0 for an empty array).
        transition: float64 array ``(K, K)``, the realized transition matrix: row ``i`` is the
            distribution of the noisy labels among the samples whose clean label is ``i``;
            the row of a class absent from ``clean`` is the identity row.
        num_classes: number of classes ``K``.
        kind: the noise model, e.g. ``"sym"``, ``"asym"``, ``"pairflip"``, ``"instance"``,
            ``"matrix"``, ``"none"`` or ``"given"`` (labels from elsewhere, e.g. CIFAR-N).
        nominal_rate: the rate that was asked for (NaN when there is none).

    Examples:
        >>> import numpy as np
        >>> report = realized_noise(np.array([0, 1, 1, 0]), np.array([0, 0, 1, 0]), 2)
        >>> report.rate
        0.25
        >>> report.transition.tolist()
        [[1.0, 0.0], [0.5, 0.5]]
    """

    noisy: np.ndarray
    clean: np.ndarray
    corrupted: np.ndarray
    rate: float
    transition: np.ndarray
    num_classes: int
    kind: str
    nominal_rate: float

    def per_class_rate(self) -> list[float | None]:
        """Return the realized noise rate of each clean class (``None`` for an absent class).

        Examples:
            >>> import numpy as np
            >>> realized_noise(np.array([0, 1, 1]), np.array([0, 0, 1]), 3).per_class_rate()
            [0.0, 0.5, None]
        """
        counts = np.bincount(self.clean, minlength=self.num_classes)
        flipped = np.bincount(self.clean[self.corrupted], minlength=self.num_classes)
        return [float(f / c) if c else None for f, c in zip(flipped, counts)]

    def summary(self) -> dict:
        """Return the report's figures as a JSON-serializable dict (NaN becomes ``None``).

        Returns:
            A dict with ``kind``, ``nominal_rate``, ``rate`` (realized), ``num_classes``, ``n``
            and ``per_class_rate`` (one entry per class, ``None`` for an absent class).

        Examples:
            >>> import json
            >>> import numpy as np
            >>> report = realized_noise(np.array([0, 1]), np.array([1, 1]), 2, kind="given")
            >>> summary = json.loads(json.dumps(report.summary()))
            >>> summary["nominal_rate"], summary["rate"], summary["per_class_rate"]
            (None, 0.5, [1.0, 0.0])
        """
        nominal = None if math.isnan(self.nominal_rate) else float(self.nominal_rate)
        return {
            "kind": self.kind,
            "nominal_rate": nominal,
            "rate": float(self.rate),
            "num_classes": int(self.num_classes),
            "n": int(self.clean.shape[0]),
            "per_class_rate": self.per_class_rate(),
        }


def realized_noise(
    clean: np.ndarray,
    noisy: np.ndarray,
    num_classes: int,
    kind: str = "given",
    nominal_rate: float = float("nan"),
) -> NoisyLabels:
    """Build the :class:`NoisyLabels` report of two label arrays.

    Used by every generator of this package, and directly for labels corrupted elsewhere
    (e.g. the human labels of CIFAR-N against the CIFAR clean labels).

    Args:
        clean: the clean labels, integers in ``[0, num_classes)``.
        noisy: the noisy labels, same shape and range.
        num_classes: number of classes ``K`` (at least 2).
        kind: name of the noise model recorded in the report.
        nominal_rate: the rate that was asked for, NaN when there is none.

    Returns:
        The report, with int64 copies of both arrays.

    Raises:
        ValueError: if ``num_classes < 2``, an array is not 1-D integers in range, or the two
            arrays differ in length.

    Examples:
        >>> import numpy as np
        >>> report = realized_noise(np.array([0, 1, 2, 2]), np.array([0, 2, 2, 1]), 3)
        >>> report.corrupted.tolist(), report.rate
        ([False, True, False, True], 0.5)
    """
    num_classes = check_num_classes(num_classes)
    clean = check_labels(clean, num_classes, "clean labels").copy()
    noisy = check_labels(noisy, num_classes, "noisy labels").copy()
    if clean.shape != noisy.shape:
        raise ValueError(
            f"clean and noisy labels differ in length: {clean.shape[0]} != {noisy.shape[0]}"
        )
    corrupted = noisy != clean
    rate = float(corrupted.mean()) if corrupted.size else 0.0
    pairs = np.bincount(clean * num_classes + noisy, minlength=num_classes * num_classes)
    pairs = pairs.reshape(num_classes, num_classes).astype(np.float64)
    counts = pairs.sum(axis=1)
    transition = np.eye(num_classes)
    present = counts > 0
    transition[present] = pairs[present] / counts[present, None]
    return NoisyLabels(
        noisy=noisy,
        clean=clean,
        corrupted=corrupted,
        rate=rate,
        transition=transition,
        num_classes=num_classes,
        kind=kind,
        nominal_rate=float(nominal_rate),
    )


def check_num_classes(num_classes: int) -> int:
    """Return ``num_classes`` as an int after checking it is at least 2.

    Raises:
        TypeError: if ``num_classes`` is not an integer.
        ValueError: if it is less than 2, naming the value.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(f"num_classes must be an integer, got {num_classes!r}")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    return int(num_classes)


def check_rate(rate: float) -> float:
    """Return ``rate`` as a float after checking it lies in ``[0, 1)``.

    Raises:
        ValueError: naming the value.
    """
    rate = float(rate)
    if not 0.0 <= rate < 1.0:  # also rejects NaN
        raise ValueError(f"noise rate {rate:g} is outside [0, 1)")
    return rate


def check_labels(labels: np.ndarray, num_classes: int, what: str = "labels") -> np.ndarray:
    """Return ``labels`` as int64 after checking they are 1-D integers in ``[0, num_classes)``.

    Raises:
        ValueError: naming the first offending index and value, and the expected range.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"{what} must be a 1-D array, got shape {labels.shape}")
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{what} must be integers, got dtype {labels.dtype}")
    bad = (labels < 0) | (labels >= num_classes)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{what}[{i}] = {int(labels[i])} is out of range: expected a class in "
            f"[0, {num_classes})"
        )
    return labels.astype(np.int64)
