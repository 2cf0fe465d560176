"""``make_noise``: the entry point recipes use to corrupt labels by the name of a noise model."""

from __future__ import annotations

import numpy as np

from ignoise.noise.instance import instance_dependent_noise
from ignoise.noise.report import (
    NoisyLabels,
    check_labels,
    check_num_classes,
    check_rate,
    realized_noise,
)
from ignoise.noise.synthetic import (
    ASYMMETRIC_DATASETS,
    asymmetric_noise,
    pairflip_noise,
    symmetric_noise,
)

__all__ = ["NOISE_KINDS", "make_noise"]

# The options each kind accepts besides ``labels``, ``rate``, ``num_classes`` and ``seed``.
NOISE_KINDS = {
    "none": (),
    "sym": ("include_true_class", "exact"),
    "asym": ("dataset", "cifar100_mapping", "exact"),
    "pairflip": ("exact",),
    "instance": ("std", "normalize"),
}


def make_noise(
    kind: str,
    labels: np.ndarray,
    rate: float,
    num_classes: int,
    *,
    features: np.ndarray | None = None,
    seed: int = 0,
    **options,
) -> NoisyLabels:
    """Corrupt ``labels`` with the noise model named ``kind``.

    Args:
        kind: ``"none"`` (labels unchanged, realized rate 0), ``"sym"``
            (:func:`~ignoise.noise.synthetic.symmetric_noise`), ``"asym"``
            (:func:`~ignoise.noise.synthetic.asymmetric_noise`), ``"pairflip"``
            (:func:`~ignoise.noise.synthetic.pairflip_noise`) or ``"instance"``
            (:func:`~ignoise.noise.instance.instance_dependent_noise`, needs ``features``).
        labels: clean labels, integers in ``[0, num_classes)``.
        rate: noise rate in ``[0, 1)`` (ignored by ``"none"``).
        num_classes: number of classes ``K`` (at least 2).
        features: one row per sample, for ``"instance"`` only.
        seed: seed of the generator.
        **options: passed to the generator, see :data:`NOISE_KINDS` (``include_true_class``,
            ``exact``, ``dataset``, ``cifar100_mapping``, ``std``, ``normalize``). For
            ``"asym"``, ``dataset`` picks the map; without it, ``num_classes`` 10 means CIFAR-10
            and 100 means CIFAR-100.

    Returns:
        The noisy labels and their report.

    Raises:
        ValueError: if ``kind`` or an option is unknown, ``"asym"`` is asked for a dataset
            without an asymmetric map or with the wrong ``num_classes``, ``"instance"`` has no
            ``features``, or the generator rejects its arguments.

    Examples:
        >>> import numpy as np
        >>> labels = np.repeat(np.arange(10), 50)
        >>> make_noise("sym", labels, 0.2, 10, seed=3).rate
        0.2
        >>> float(make_noise("asym", labels, 0.4, 10, dataset="cifar10").transition[3, 5])
        0.4
    """
    if kind not in NOISE_KINDS:
        raise ValueError(f"unknown noise kind {kind!r}: expected one of {list(NOISE_KINDS)}")
    unknown = sorted(set(options) - set(NOISE_KINDS[kind]))
    if unknown:
        raise ValueError(
            f"noise kind {kind!r} takes no option {unknown[0]!r}: expected options among "
            f"{list(NOISE_KINDS[kind])}"
        )
    if kind == "none":
        num_classes = check_num_classes(num_classes)
        labels = check_labels(labels, num_classes)
        return realized_noise(labels, labels, num_classes, kind="none", nominal_rate=0.0)
    if kind == "sym":
        return symmetric_noise(labels, rate, num_classes, seed=seed, **options)
    if kind == "pairflip":
        return pairflip_noise(labels, rate, num_classes, seed=seed, **options)
    if kind == "instance":
        if features is None:
            raise ValueError("noise kind 'instance' needs features: got features=None")
        return instance_dependent_noise(labels, features, rate, num_classes, seed=seed, **options)
    return _asymmetric(labels, rate, num_classes, seed, options)


def _asymmetric(
    labels: np.ndarray, rate: float, num_classes: int, seed: int, options: dict
) -> NoisyLabels:
    """Pick the asymmetric map for ``options["dataset"]`` (or ``num_classes``) and apply it."""
    check_rate(rate)
    options = dict(options)
    by_classes = {k: name for name, k in ASYMMETRIC_DATASETS.items()}
    dataset = options.pop("dataset", None)
    if dataset is None:
        dataset = by_classes.get(num_classes)
    if dataset not in ASYMMETRIC_DATASETS:
        raise ValueError(
            f"noise kind 'asym' has no map for dataset {dataset!r} with {num_classes} classes: "
            f"asymmetric maps exist for {sorted(ASYMMETRIC_DATASETS)}"
        )
    if ASYMMETRIC_DATASETS[dataset] != num_classes:
        raise ValueError(
            f"noise kind 'asym' for dataset {dataset!r} expects num_classes = "
            f"{ASYMMETRIC_DATASETS[dataset]}, got {num_classes}"
        )
    return asymmetric_noise(labels, rate, dataset=dataset, seed=seed, **options)
