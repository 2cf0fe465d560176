"""Datasets by name, with synthetic label noise applied: what a recipe's ``--dataset``,
``--noise`` and ``--noise-rate`` flags build; and :class:`NoisyData`, the same bundle for any
pair of datasets."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ...noise import ASYMMETRIC_DATASETS, NoisyLabels, make_noise, realized_noise
from ..transforms import eval_transform, train_transform
from .arrays import ArrayDataset
from .base import NoisyLabelDataset
from .digits import load_digits_dataset
from .hold_out import stratified_hold_out

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
    """The training set with its given (noisy) labels, the clean test set, and the noise report.

    :func:`build_noisy_data` builds it for a dataset of :data:`DATASETS`;
    :meth:`from_datasets` for any pair of ignoise datasets (e.g. an :class:`ArrayDataset`);
    :meth:`hold_out` takes a validation set out of the training set.

    Attributes:
        train: the training set; its ``targets`` are the given (noisy) labels.
        test: the test set, with clean labels.
        noise: the report of the noise in ``train``'s labels.
        name: the dataset's name (a name of :data:`DATASETS`, or the user's own).
        train_eval: the training set in a fixed order without augmentation, with the same
            labels as ``train``, when the caller has one; else ``None`` and :attr:`eval_train`
            derives it.
        val: a validation set with noisy labels (see :meth:`hold_out`), evaluated each epoch
            as ``val``; ``None`` for none.
        transforms: the image pipeline of :attr:`name` (a preset of
            :data:`~ignoise.data.TRANSFORM_PRESETS`) that :attr:`eval_train` reads ``train``
            with; :func:`build_noisy_data` records the one it built ``train`` and ``test`` with.
    """

    train: NoisyLabelDataset
    test: NoisyLabelDataset
    noise: NoisyLabels
    name: str
    train_eval: NoisyLabelDataset | None = None
    val: NoisyLabelDataset | None = None
    transforms: str = "standard"

    @property
    def num_classes(self) -> int:
        return self.train.num_classes

    @property
    def in_channels(self) -> int | None:
        """The input channels a model takes, or ``None`` for samples that are 1-D vectors.

        ``images.shape[-1]`` for an in-memory image dataset (``(N, H, W, C)`` images);
        otherwise the first dimension of the first training sample's ``x`` when it has two or
        more dimensions (a ``(C, L)`` signal or a ``(C, H, W)`` image), the band count of a
        PIL image (a dataset without a tensor transform), and ``None`` for a 1-D ``x``.
        """
        images = getattr(self.train, "images", None)
        if images is not None:
            return int(images.shape[-1])
        if len(self.train) == 0:
            return None
        x = self.train[0]["x"]
        if isinstance(x, Image.Image):
            return len(x.getbands())
        shape = tuple(getattr(x, "shape", ()))
        return int(shape[0]) if len(shape) >= 2 else None

    @property
    def eval_train(self) -> NoisyLabelDataset:
        """The training set, with its given labels, as a per-epoch pass should read it.

        Handlers that score every training sample once an epoch (pseudo-labels, co-divide,
        gradient bias) read it through :func:`~ignoise.data.make_eval_loader`: ``train_eval``
        when given, else ``train`` with :func:`~ignoise.data.eval_transform` of :attr:`name`
        and the preset :attr:`transforms` (DivideMix's ``eval_train`` reads Clothing1M with its
        test transform) for a dataset of :data:`DATASETS`, else ``train`` as it is.

        Examples:
            >>> data = build_noisy_data("digits", noise="sym", noise_rate=0.2)
            >>> data.eval_train.transform is data.train.transform
            False
            >>> bool((data.eval_train.targets == data.train.targets).all())
            True
        """
        if self.train_eval is not None:
            return self.train_eval
        if self.name in DATASETS and hasattr(self.train, "with_transform"):
            return self.train.with_transform(eval_transform(self.name, self.transforms))
        return self.train

    def hold_out(self, fraction: float, seed: int = 0) -> NoisyData:
        """A copy whose training set gives ``fraction`` of its samples to a validation set.

        The split is stratified by the given (noisy) labels and drawn from ``seed`` (see
        :func:`~ignoise.data.datasets.hold_out.stratified_hold_out`). The validation set keeps
        the noisy labels, the only ones a user of real noisy data has, and reads the samples as
        :attr:`eval_train` does (no augmentation); its accuracy is a biased estimate of the
        clean accuracy but selects an epoch without looking at the test set.

        The noise was drawn over the whole training set before the split, so the samples kept
        have the labels they have without a hold-out. ``train`` (and ``train_eval``) hold the
        kept samples, in their order, re-indexed ``0..n-1`` (per-sample state stays dense);
        :attr:`noise` reports the labels of the kept samples only.

        Args:
            fraction: the share of the training set to hold out, in ``(0, 1)``.
            seed: seed of the split (the run's seed; a stream of its own, not the noise's).

        Raises:
            ValueError: a fraction outside ``(0, 1)`` or one that holds out no sample (every
                class keeps at least one); a :attr:`val` already there.
            TypeError: a dataset that cannot be subset (see
                :meth:`~ignoise.data.NoisyLabelDataset.subset`).

        Examples:
            >>> data = build_noisy_data("digits", noise="sym", noise_rate=0.2, seed=0)
            >>> held = data.hold_out(0.2, seed=0)
            >>> len(held.train), len(held.val), held.noise.summary()["n"]
            (1150, 287, 1150)
            >>> held.train[len(held.train) - 1]["index"]
            1149
        """
        if self.val is not None:
            raise ValueError(f"{self.name} already has a validation set ({len(self.val)} "
                             "samples): hold out from data without one")
        if len(self.noise.noisy) != len(self.train):
            raise ValueError(f"the noise report has {len(self.noise.noisy)} labels but train has "
                             f"{len(self.train)} samples: expected one per training sample")
        kept, held = stratified_hold_out(self.train.targets, fraction, self.num_classes,
                                         seed=seed)
        val = self.eval_train.subset(held)
        return dataclasses.replace(
            self, train=self.train.subset(kept), noise=_noise_of(self.noise, kept),
            train_eval=self.train_eval.subset(kept) if self.train_eval is not None else None,
            val=val)

    @classmethod
    def from_datasets(
        cls,
        train: NoisyLabelDataset,
        test: NoisyLabelDataset,
        *,
        noise: str = "none",
        noise_rate: float = 0.0,
        seed: int = 0,
        name: str = "custom",
        noise_options: dict | None = None,
        train_eval: NoisyLabelDataset | None = None,
    ) -> NoisyData:
        """Corrupt the labels of ``train`` with :func:`ignoise.noise.make_noise` and bundle it.

        The noise is drawn from ``seed`` exactly as :func:`build_noisy_data` draws it, so a
        named dataset gives the same labels either way. With ``noise="none"``, ``train`` keeps
        its labels and the report measures them against its clean labels when it knows them.

        Instance-dependent noise (``noise="instance"``) needs one feature row per sample: the
        ``images`` of an in-memory image dataset, or the ``inputs`` of an
        :class:`ArrayDataset`, flattened to float32.

        Args:
            train: the training set, with clean labels (an ignoise dataset: ``targets``,
                ``num_classes``, ``with_targets``).
            test: the test set; must have as many classes as ``train``.
            noise: a kind of :data:`ignoise.noise.NOISE_KINDS`.
            noise_rate: the noise rate, in ``[0, 1)``.
            seed: seed of the noise draw.
            name: the dataset's name, recorded in runs; for ``"asym"`` noise a name of
                :data:`ignoise.noise.ASYMMETRIC_DATASETS` picks the map, any other name lets
                ``num_classes`` pick it.
            noise_options: options of the noise kind (see :func:`ignoise.noise.make_noise`).
            train_eval: the training set without augmentation (same samples as ``train``);
                it gets the same noisy labels. Default: see :attr:`eval_train`.

        Returns:
            The bundle, ``train`` (and ``train_eval``) giving the noisy labels and knowing the
            clean ones.

        Raises:
            TypeError: ``train`` or ``test`` is not an ignoise dataset.
            ValueError: ``train`` and ``test`` differ in ``num_classes``; ``train_eval`` differs
                from ``train`` in length; synthetic noise asked of labels that are already
                noisy; instance noise without features; or what
                :func:`~ignoise.noise.make_noise` rejects (kind, rate, options).

        Examples:
            >>> import torch
            >>> from ignoise.data import ArrayDataset
            >>> labels = torch.arange(200) % 4
            >>> train = ArrayDataset(torch.randn(200, 1, 32), labels.numpy(), 4)
            >>> test = ArrayDataset(torch.randn(40, 1, 32), (torch.arange(40) % 4).numpy(), 4)
            >>> data = NoisyData.from_datasets(train, test, noise="sym", noise_rate=0.25)
            >>> data.noise.kind, data.in_channels, data.train[0]["x"].shape
            ('sym', 1, torch.Size([1, 32]))
            >>> bool(data.noise.rate == (data.train.targets != labels.numpy()).mean())
            True
        """
        for role, dataset in (("train", train), ("test", test)):
            if not all(hasattr(dataset, a) for a in ("targets", "num_classes", "with_targets")):
                raise TypeError(
                    f"{role} must be an ignoise dataset (targets, num_classes, with_targets: "
                    f"e.g. ArrayDataset), got {type(dataset).__name__}"
                )
        _check_same_classes(train, test, name)
        if train_eval is not None and len(train_eval) != len(train):
            raise ValueError(
                f"train_eval has {len(train_eval)} samples but train has {len(train)}: expected "
                f"the same samples"
            )
        given_noisy = train.clean_targets is not None and not np.array_equal(
            train.clean_targets, train.targets
        )
        if given_noisy:
            if noise != "none":
                flipped = int((train.clean_targets != train.targets).sum())
                raise ValueError(
                    f"{name}: train's labels are already noisy ({flipped} of {len(train)} differ "
                    f"from its clean labels): expected noise='none', got {noise!r}"
                )
            report = realized_noise(train.clean_targets, train.targets, train.num_classes)
            return cls(train, test, report, name, train_eval=train_eval)
        options = dict(noise_options or {})
        if noise == "asym" and name in ASYMMETRIC_DATASETS:
            options.setdefault("dataset", name)
        features = _noise_features(train) if noise == "instance" else None
        report = make_noise(noise, train.targets, noise_rate, train.num_classes,
                            features=features, seed=seed, **options)
        if train_eval is not None:
            if not hasattr(train_eval, "with_targets"):
                raise TypeError(
                    f"train_eval must be an ignoise dataset with with_targets (to give it the "
                    f"noisy labels), got {type(train_eval).__name__}"
                )
            train_eval = train_eval.with_targets(report.noisy)
        return cls(train.with_targets(report.noisy), test, report, name, train_eval=train_eval)


def _noise_of(report: NoisyLabels, kept: np.ndarray) -> NoisyLabels:
    """The report of the samples ``kept`` only: realized again, of the same kind and nominal
    rate (a report of unknown clean labels stays unknown)."""
    if isinstance(report, _UnknownCleanNoise):
        return _unknown_clean_noise(report.noisy[kept], report.num_classes, report.kind)
    return realized_noise(report.clean[kept], report.noisy[kept], report.num_classes,
                          kind=report.kind, nominal_rate=report.nominal_rate)


def _check_same_classes(train, test, name: str) -> None:
    if train.num_classes != test.num_classes:
        raise ValueError(
            f"{name}: the training set has {train.num_classes} classes but the test set has "
            f"{test.num_classes}: expected the same classes"
        )


def _noise_features(train) -> np.ndarray:
    """One float32 row per training sample, the input of instance-dependent noise."""
    images = getattr(train, "images", None)
    if images is not None:
        return np.asarray(images, dtype=np.float32).reshape(len(train), -1)
    if isinstance(train, ArrayDataset):
        return train.inputs.detach().cpu().reshape(len(train), -1).to(torch.float32).numpy()
    raise ValueError(
        f"instance-dependent noise needs one feature row per sample: {type(train).__name__} has "
        f"no images and is not an ArrayDataset; corrupt its labels with "
        f"ignoise.noise.instance_dependent_noise and pass them with noise='none'"
    )


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

        return load_cifar_n(root, name, label_set=label_set, train=train, transform=transform)
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
    classes (``{"imagenet": ...}``, see :func:`ignoise.data.datasets.webvision.load_imagenet_val`);
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
    transforms: str = "standard",
) -> NoisyData:
    """Load ``name`` with its train and eval transforms and corrupt its training labels.

    Synthetic noise is drawn from ``seed`` with :func:`ignoise.noise.make_noise`, through
    :meth:`NoisyData.from_datasets` (which does the same for datasets of your own); datasets with
    real noisy labels (CIFAR-N, Animal-10N, Clothing1M, WebVision) take ``noise="none"`` and
    report their realized noise against the clean labels, or a NaN rate where those are unknown.

    ``transforms`` picks the image pipeline (:func:`~ignoise.data.train_transform` for
    ``train``, :func:`~ignoise.data.eval_transform` for ``test`` and
    :attr:`NoisyData.eval_train`): ``"standard"``, ignoise's per-dataset one, or
    ``"dividemix"``, DivideMix's Clothing1M one (LiJunnan1992/DivideMix,
    ``dataloader_clothing1M.py``: resize to 256, random or central 224x224 crop, Clothing1M
    statistics; ``clothing1m`` only).

    Raises:
        ValueError: unknown dataset, noise or transforms preset, a preset not defined for the
            dataset, a rate outside [0, 1), synthetic noise asked of a dataset whose labels are
            already noisy.
    """
    # the transforms first: a preset the dataset lacks is refused before any file is read
    train_tf, test_tf = train_transform(name, transforms), eval_transform(name, transforms)
    train = load_dataset(name, root, train=True, transform=train_tf, download=download,
                         label_set=label_set)
    test = load_dataset(name, root, train=False, transform=test_tf, download=download,
                        label_set=label_set)
    _check_same_classes(train, test, name)
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
        return NoisyData(train, test, report, name, transforms=transforms)
    options = dict(noise_options or {})
    if noise == "asym":
        # The dataset's own map, or an error naming it when it has none (digits).
        options.setdefault("dataset", name)
    data = NoisyData.from_datasets(train, test, noise=noise, noise_rate=noise_rate, seed=seed,
                                   name=name, noise_options=options)
    return dataclasses.replace(data, transforms=transforms)
