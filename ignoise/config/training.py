"""The hyper-parameters every method shares: data, noise, optimization, run and loader."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from .declare import ConfigError, coerce, param, spec_of

__all__ = ["TrainingConfig", "DATASET_NAMES", "NOISE_NAMES", "MODEL_NAMES", "LOADER_NAMES",
           "LABEL_SET_NAMES", "TRANSFORM_PRESET_DATASETS"]

#: Named datasets (``ignoise.data.DATASETS``; kept here so flags are checked without torch).
DATASET_NAMES = ("digits", "cifar10", "cifar100", "cifar10n", "cifar100n", "animal10n",
                 "clothing1m", "webvision")
#: Synthetic noise kinds (``ignoise.noise.NOISE_KINDS``).
NOISE_NAMES = ("none", "sym", "asym", "pairflip", "instance")
#: Named networks (``ignoise.models.MODEL_NAMES``).
MODEL_NAMES = ("preact_resnet18", "resnet34", "resnet50", "digits_cnn")
#: Loaders (``ignoise.data.LOADER_KINDS``).
LOADER_NAMES = ("torch", "gpu", "ffcv")
#: CIFAR-N's label sets per dataset (``ignoise.data.datasets.cifar_n.CIFAR_N_LABEL_SETS``), the
#: first of each the one the CIFAR-N benchmark reports first.
LABEL_SET_NAMES = {"cifar10n": ("aggre", "random1", "random2", "random3", "worse"),
                   "cifar100n": ("noisy100",)}
#: The datasets each image pipeline other than ``standard`` is defined for
#: (``ignoise.data.TRANSFORM_PRESETS``).
TRANSFORM_PRESET_DATASETS = {"dividemix": ("clothing1m",)}


@dataclass
class TrainingConfig:
    """The shared flags: every method has them and they mean the same for every method.

    ``batch_size`` is the batch of one network in one iteration summed over all processes, as
    the papers give it; each of ``w`` processes takes ``batch_size / w`` (it must divide).
    ``results.json`` records both.
    """

    dataset: str = param("digits", "digits, cifar10, cifar100, cifar10n, cifar100n, animal10n, "
                         "clothing1m or webvision")
    data_root: str = param("data", "folder that holds the dataset's files")
    transforms: Literal["standard", "dividemix"] = param(
        "standard", "image pipeline: standard (ignoise's per-dataset one) or dividemix "
        "(DivideMix's Clothing1M one: Resize 256 + RandomCrop 224, Clothing1M statistics)")
    noise: Literal["none", "sym", "asym", "pairflip", "instance"] = param(
        "none", "synthetic label noise applied to the training labels")
    noise_rate: float = param(0.0, "fraction of corrupted training labels", low=0.0, high=1.0,
                              high_open=True)
    noise_options: dict = param({}, "extra options of the noise generator (ignoise.noise)")
    label_set: str | None = param(None, "CIFAR-N annotation trained on: aggre, random1-3 or "
                                  "worse (CIFAR-10N), noisy100 (CIFAR-100N); null: aggre / "
                                  "noisy100, the first the CIFAR-N benchmark reports")
    val_fraction: float = param(0.0, "fraction of the noisy training set held out, stratified "
                                "by its given labels, as a validation set that selects the "
                                "epoch reported as test_acc_at_best_val (0: none)", low=0.0,
                                high=1.0, high_open=True)
    seed: int = param(0, "seeds the noise, the initialization and every sampler", low=0)
    epochs: int = param(200, "training epochs", low=1)
    batch_size: int = param(128, "batch of one network per iteration, over all processes",
                            low=1)
    eval_batch_size: int | None = param(None, "evaluation batch per process (default: twice "
                                        "the training batch per process)", low=1)
    lr: float = param(0.02, "initial learning rate (SGD)", low=0.0, low_open=True)
    momentum: float = param(0.9, "SGD momentum", low=0.0, high=1.0, high_open=True)
    weight_decay: float = param(5e-4, "SGD weight decay", low=0.0)
    lr_milestones: list[int] = param([80, 150], "epochs after which the lr is multiplied by "
                                     "lr_gamma")
    lr_gamma: float = param(0.1, "lr factor at each milestone", low=0.0, high=1.0,
                            low_open=True)
    model: str = param("preact_resnet18", "preact_resnet18, resnet34, resnet50 or digits_cnn")
    model_options: dict = param({}, "keyword arguments of the model (e.g. pretrained: true)")
    output_dir: str | None = param("auto", "where results.json, checkpoints and TensorBoard "
                                   "events go (auto: runs/<method>/<dataset>-<noise>-<rate>-"
                                   "seed<seed>; null: nothing is written)")
    resume: bool = param(False, "continue the run in output_dir from its last checkpoint (the "
                         "same settings; more epochs extend it)")
    overwrite: bool = param(False, "clear an existing run in output_dir and start anew")
    loader: Literal["torch", "gpu", "ffcv"] = param("torch", "torch DataLoader, GPU-resident "
                                                    "or FFCV")
    num_workers: int = param(0, "loader worker processes (FFCV: decoding threads)", low=0)
    cache_dir: str | None = param(None, "folder of the ffcv loader's .beton files")
    mixed_precision: Literal["no", "fp16", "bf16"] = param(
        "no", "autocast precision (accelerate launch may set it)")
    channels_last: bool = param(False, "store the networks' convolution weights, hence their "
                                "activations, channels-last (NHWC)")
    compile: bool = param(False, "torch.compile each network's forward (a network that fails "
                          "to compile warns and runs eagerly)")
    cpu: bool = param(False, "run on the CPU even if a GPU is there")
    download: bool = param(False, "download CIFAR if missing")
    progress: bool = param(True, "show a progress bar")
    log_every: int = param(20, "iterations between TensorBoard points and NaN checks", low=1)
    collective_timeout_s: int = param(300, "seconds a process waits for the others in a "
                                      "collective before the run stops", low=1)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check ranges and relations between fields; subclasses add their own and call this.

        Raises:
            ConfigError: naming the field, the value and what was expected.
        """
        where = type(self).__name__
        for name, spec in spec_of(type(self)).items():
            # types too, for configs made in Python rather than by resolve_config
            setattr(self, name, coerce(spec, getattr(self, name), where))
        milestones = self.lr_milestones
        if any(m < 1 for m in milestones) or any(a >= b for a, b in zip(milestones,
                                                                       milestones[1:])):
            raise ConfigError(f"{where}: lr_milestones = {milestones!r}: expected increasing "
                              "positive epochs")
        if self.resume and self.output_dir is None:
            raise ConfigError(f"{where}: resume = true needs an output_dir to resume from, "
                              "got null")
        if self.resume and self.overwrite:
            raise ConfigError(f"{where}: resume and overwrite both set: continue the run or "
                              "replace it, not both")
        if self.label_set is not None:
            offered = LABEL_SET_NAMES.get(self.dataset)
            if offered is None:
                raise ConfigError(f"{where}: label_set = {self.label_set!r} with dataset = "
                                  f"{self.dataset!r}: only cifar10n and cifar100n have label "
                                  "sets; set label_set to null")
            if self.label_set not in offered:
                raise ConfigError(f"{where}: label_set = {self.label_set!r} is not offered by "
                                  f"{self.dataset}: expected one of {', '.join(offered)}")
        if self.transforms != "standard":
            offered = TRANSFORM_PRESET_DATASETS[self.transforms]
            if self.dataset not in offered:
                raise ConfigError(f"{where}: transforms = {self.transforms!r} with dataset = "
                                  f"{self.dataset!r}: it is defined for {', '.join(offered)} "
                                  "only; expected transforms = 'standard'")
            if self.loader != "torch":
                # the gpu and ffcv loaders decode and normalize on their own, with the
                # dataset's standard statistics
                raise ConfigError(f"{where}: transforms = {self.transforms!r} with loader = "
                                  f"{self.loader!r}: only the torch loader applies it; expected "
                                  "loader = 'torch'")
        if self.noise == "none" and self.noise_rate > 0:
            raise ConfigError(f"{where}: noise_rate = {self.noise_rate} with noise = 'none' "
                              "would train on clean labels: pass --noise (sym, asym, pairflip "
                              "or instance), or --noise-rate 0")

    def effective_label_set(self) -> str | None:
        """The CIFAR-N label set trained on (``label_set`` or the dataset's first), else
        ``None``."""
        offered = LABEL_SET_NAMES.get(self.dataset)
        return None if offered is None else (self.label_set or offered[0])

    def effective_noise_options(self) -> dict:
        """The options the noise generator gets: ``noise_options`` (a method may add its
        paper's convention, e.g. DivideMix's symmetric noise)."""
        return dict(self.noise_options)

    def replace(self, **changes):
        """A copy with ``changes`` applied (and validated)."""
        return dataclasses.replace(self, **changes)
