"""GAL on CIFAR-10 and CIFAR-100 with synthetic label noise (paper Table 1).

    python recipes/gal_cifar.py --dataset cifar10 --data-root data --noise sym --noise-rate 0.5
    accelerate launch --multi_gpu --mixed_precision fp16 recipes/gal_cifar.py \\
        --dataset cifar100 --data-root data --noise sym --noise-rate 0.8 --output-dir runs/gal
    python recipes/gal_cifar.py --dataset digits --noise sym --noise-rate 0.5   # a CPU minute
"""

from pathlib import Path

from ignoise.commands.train import cli
from ignoise.commands.train import main as train

CONFIG = Path(__file__).parent / "configs" / "gal_cifar.yaml"


def main(argv=None) -> dict:
    return train(argv, config=CONFIG, description=__doc__)


if __name__ == "__main__":
    cli(config=CONFIG, description=__doc__)
