"""Cross-entropy baseline: one network trained on the given (noisy) labels.

    python recipes/ce.py --dataset digits --noise sym --noise-rate 0.4 --output-dir runs/ce
    accelerate launch recipes/ce.py --dataset cifar10 --data-root data --noise sym --noise-rate 0.5
"""

from pathlib import Path

from ignoise.commands.train import cli
from ignoise.commands.train import main as train

CONFIG = Path(__file__).parent / "configs" / "ce.yaml"


def main(argv=None) -> dict:
    return train(argv, config=CONFIG, description=__doc__)


if __name__ == "__main__":
    cli(config=CONFIG, description=__doc__)
