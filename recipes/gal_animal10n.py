"""GAL on Animal-10N, whose labels are human ones (paper Table 2).

    python recipes/gal_animal10n.py --data-root data/animal10n --output-dir runs/gal_animal10n
    accelerate launch --multi_gpu --mixed_precision fp16 recipes/gal_animal10n.py \\
        --data-root data/animal10n --num-workers 8 --output-dir runs/gal_animal10n
    python recipes/gal_animal10n.py --dataset digits --noise sym --noise-rate 0.5   # a CPU minute
"""

from pathlib import Path

from ignoise.commands.train import cli
from ignoise.commands.train import main as train

CONFIG = Path(__file__).parent / "configs" / "gal_animal10n.yaml"


def main(argv=None) -> dict:
    return train(argv, config=CONFIG, description=__doc__)


if __name__ == "__main__":
    cli(config=CONFIG, description=__doc__)
