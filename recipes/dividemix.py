"""DivideMix baseline: two networks, co-divide by a per-epoch GMM on their losses, MixMatch with
label co-refinement and co-guessing (the framework GSS-SSL plugs into; see ``gss_cifar.py``).

    python recipes/dividemix.py --dataset digits --noise sym --noise-rate 0.5
    accelerate launch recipes/dividemix.py --dataset cifar10 --data-root data \
        --noise sym --noise-rate 0.5
"""

from pathlib import Path

from ignoise.commands.train import cli
from ignoise.commands.train import main as train

CONFIG = Path(__file__).parent / "configs" / "dividemix.yaml"


def main(argv=None) -> dict:
    return train(argv, config=CONFIG, description=__doc__)


if __name__ == "__main__":
    cli(config=CONFIG, description=__doc__)
