"""GSS-SSL on Clothing1M (real web noise; top-1 on the clean test set). ``--method dividemix``
gives the DivideMix baseline with the same settings.

    python recipes/gss_clothing1m.py --dataset digits --noise sym --noise-rate 0.4
    accelerate launch recipes/gss_clothing1m.py --data-root data/clothing1m
"""

from pathlib import Path

from ignoise.commands.train import cli
from ignoise.commands.train import main as train

CONFIG = Path(__file__).parent / "configs" / "gss_clothing1m.yaml"


def main(argv=None) -> dict:
    return train(argv, config=CONFIG, description=__doc__)


if __name__ == "__main__":
    cli(config=CONFIG, description=__doc__)
