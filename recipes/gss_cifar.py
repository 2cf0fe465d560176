"""GSS-SSL on CIFAR-10/100 with synthetic noise (the poster's main table): DivideMix whose
targets are drawn from per-sample direction pools.

    python recipes/gss_cifar.py --dataset digits --noise sym --noise-rate 0.5
    accelerate launch recipes/gss_cifar.py --dataset cifar10 --data-root data \
        --noise sym --noise-rate 0.4
    accelerate launch recipes/gss_cifar.py --dataset cifar100 --data-root data \
        --noise asym --noise-rate 0.3
"""

from pathlib import Path

from ignoise.commands.train import cli
from ignoise.commands.train import main as train

CONFIG = Path(__file__).parent / "configs" / "gss_cifar.yaml"


def main(argv=None) -> dict:
    return train(argv, config=CONFIG, description=__doc__)


if __name__ == "__main__":
    cli(config=CONFIG, description=__doc__)
