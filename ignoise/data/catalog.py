"""Datasets by name, with synthetic label noise applied: what a recipe's ``--dataset``,
``--noise`` and ``--noise-rate`` flags build."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..noise import NoisyLabels, make_noise, realized_noise
from .base import NoisyLabelDataset
from .digits import load_digits_dataset
from .transforms import eval_transform, train_transform

__all__ = ["NoisyData", "DATASETS", "load_dataset", "load_extra_eval_sets", "build_noisy_data"]

#: Datasets whose given labels are already noisy: no synthetic noise. Each maps to the source
#: of its labels, recorded as the noise report's ``kind``.
_REAL_NOISE = {
    "cifar10n": "human", "cifar100n": "human", "animal10n": "human", "clothing1m": "web",
    "webvision": "web",
}
DATASETS = ("digits", "cifar10", "cifar100", "cifar10n", "cifar100n", "animal10n", "clothing1m",
            "webvision")


@dataclass
class NoisyData:
    """The training set with its given (noisy) labels, the clean test set, and the noise report."""

    train: NoisyLabelDataset
    test: NoisyLabelDataset
    noise: NoisyLabels
    name: str

    @property
    def num_classes(self) -> int:
        return self.train.num_classes

    @property
    def in_channels(self) -> int:
        images = getattr(self.train, "images", None)
        return int(images.shape[-1]) if images is not None else 3


def load_dataset(name: str, root: str | Path, *, train: bool, transform=None, download=False,
                 label_set: str | None = None) -> NoisyLabelDataset:
    """One split of a dataset by name (see :data:`DATASETS`)."""
    if name == "digits":
        return load_digits_dataset(train=train, transform=transform)
    if name in ("cifar10", "cifar100"):
        from .cifar import load_cifar

        return load_cifar(root, name, train=train, transform=transform, download=download)
    if name in ("cifar10n", "cifar100n"):
        from .cifar_n import load_cifar_n

        default = "worse" if name == "cifar10n" else "noisy100"
        return load_cifar_n(root, name, label_set=label_set or default, train=train,
                            transform=transform)
    # The real-noise datasets: train=False gives the test set of the papers (Animal-10N's
    # testing/, Clothing1M's clean test set, mini-WebVision's validation set).
    if name == "animal10n":
        from .animal10n import load_animal10n

        return load_animal10n(root, train=train, transform=transform)
    if name == "clothing1m":
        from .clothing1m import load_clothing1m

        return load_clothing1m(root, "train" if train else "test", transform=transform)
    if name == "webvision":
        from .webvision import load_mini_webvision

        return load_mini_webvision(root, "train" if train else "val", transform=transform)
    raise ValueError(f"unknown dataset {name!r}: expected one of {', '.join(DATASETS)}")


def load_extra_eval_sets(name: str, root: str | Path) -> dict[str, NoisyLabelDataset]:
    """The evaluation sets of ``name`` besides its test set, by name, with its eval transform.

    Mini-WebVision models are also tested on the ILSVRC12 validation images of the same 50
    classes (``{"imagenet": ...}``, see :func:`ignoise.data.webvision.load_imagenet_val`);
    other datasets have none.

    Args:
        name: a dataset of :data:`DATASETS`.
        root: the dataset's root.

    Raises:
        ValueError: for an unknown ``name``.
        FileNotFoundError: when an extra set's files are missing.

    Examples:
        >>> load_extra_eval_sets("digits", "data")
        {}
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}: expected one of {', '.join(DATASETS)}")
    if name == "webvision":
        from .webvision import load_imagenet_val

        return {"imagenet": load_imagenet_val(root, transform=eval_transform(name))}
    return {}


class _UnknownCleanNoise(NoisyLabels):
    """The report of real noisy labels whose clean labels are unknown (Animal-10N, WebVision).

    ``clean`` repeats the given labels only so the arrays keep their length; the rate and the
    transition matrix are NaN and the summary gives ``None`` for them, so a results file never
    shows a noise rate that was not measured.
    """

    def per_class_rate(self) -> list[float | None]:
        return [None] * self.num_classes

    def summary(self) -> dict:
        return {**super().summary(), "rate": None}


def _unknown_clean_noise(targets: np.ndarray, num_classes: int, kind: str) -> NoisyLabels:
    targets = np.asarray(targets, dtype=np.int64)
    return _UnknownCleanNoise(
        noisy=targets.copy(),
        clean=targets.copy(),
        corrupted=np.zeros(len(targets), dtype=bool),
        rate=float("nan"),
        transition=np.full((num_classes, num_classes), np.nan),
        num_classes=num_classes,
        kind=kind,
        nominal_rate=float("nan"),
    )


def build_noisy_data(
    name: str,
    root: str | Path = "data",
    *,
    noise: str = "none",
    noise_rate: float = 0.0,
    seed: int = 0,
    download: bool = False,
    label_set: str | None = None,
    noise_options: dict | None = None,
) -> NoisyData:
    """Load ``name`` with its train and eval transforms and corrupt its training labels.

    Synthetic noise is drawn from ``seed`` with :func:`ignoise.noise.make_noise`; datasets with
    real noisy labels (CIFAR-N, Animal-10N, Clothing1M, WebVision) take ``noise="none"`` and
    report their realized noise against the clean labels, or a NaN rate where those are unknown.

    Raises:
        ValueError: unknown dataset or noise, a rate outside [0, 1), synthetic noise asked of a
            dataset whose labels are already noisy.
    """
    train = load_dataset(name, root, train=True, transform=train_transform(name),
                         download=download, label_set=label_set)
    test = load_dataset(name, root, train=False, transform=eval_transform(name),
                        download=download, label_set=label_set)
    if train.num_classes != test.num_classes:
        raise ValueError(
            f"{name}: the training set has {train.num_classes} classes but the test set has "
            f"{test.num_classes}"
        )
    if name in _REAL_NOISE:
        kind = _REAL_NOISE[name]
        if noise != "none":
            raise ValueError(
                f"{name} has {kind} noisy labels: expected --noise none, got {noise!r}"
            )
        if train.clean_targets is None:
            report = _unknown_clean_noise(train.targets, train.num_classes, kind)
        else:
            report = realized_noise(train.clean_targets, train.targets, train.num_classes,
                                    kind=kind)
        return NoisyData(train, test, report, name)
    features = None
    if noise == "instance":
        features = np.asarray(train.images, dtype=np.float32).reshape(len(train), -1)
    options = dict(noise_options or {})
    if noise == "asym":
        options.setdefault("dataset", name)
    report = make_noise(noise, train.targets, noise_rate, train.num_classes, features=features,
                        seed=seed, **options)
    return NoisyData(train.with_targets(report.noisy), test, report, name)
