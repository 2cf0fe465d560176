"""Label corruption as pure functions on label arrays, and reports of the noise they realize.

Every generator takes clean labels (and, for instance-dependent noise, features) and returns a
:class:`NoisyLabels` with the noisy labels and the realized statistics. Pure numpy and scipy:
nothing here imports torch.

Examples:
    >>> import numpy as np
    >>> from ignoise.noise import make_noise
    >>> report = make_noise("sym", np.repeat(np.arange(10), 100), 0.5, 10, seed=0)
    >>> report.rate, report.summary()["kind"]
    (0.5, 'sym')
"""

from ignoise.noise.factory import NOISE_KINDS, make_noise
from ignoise.noise.instance import instance_dependent_noise
from ignoise.noise.report import NoisyLabels, realized_noise
from ignoise.noise.synthetic import (
    ASYMMETRIC_DATASETS,
    CIFAR100_COARSE_LABELS,
    asymmetric_noise,
    cifar10_asymmetric_map,
    cifar100_asymmetric_map,
    pairflip_noise,
    symmetric_noise,
    transition_noise,
)

__all__ = [
    "ASYMMETRIC_DATASETS",
    "CIFAR100_COARSE_LABELS",
    "NOISE_KINDS",
    "NoisyLabels",
    "asymmetric_noise",
    "cifar10_asymmetric_map",
    "cifar100_asymmetric_map",
    "instance_dependent_noise",
    "make_noise",
    "pairflip_noise",
    "realized_noise",
    "symmetric_noise",
    "transition_noise",
]
