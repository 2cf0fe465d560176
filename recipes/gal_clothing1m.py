"""GAL on Clothing1M, whose labels come from the web (paper Table 3), from an ImageNet-pretrained
ResNet-50 (``resnet50-0676ba61.pth`` in torch's hub cache; nothing is downloaded).

    accelerate launch --multi_gpu --num_processes 4 --mixed_precision fp16 \\
        recipes/gal_clothing1m.py --data-root data/clothing1m --loader ffcv --num-workers 8
    python recipes/gal_clothing1m.py --dataset digits --noise sym --noise-rate 0.5   # a CPU minute
"""

from pathlib import Path

from ignoise.commands.train import cli
from ignoise.commands.train import main as train

CONFIG = Path(__file__).parent / "configs" / "gal_clothing1m.yaml"


def main(argv=None) -> dict:
    return train(argv, config=CONFIG, description=__doc__)


if __name__ == "__main__":
    cli(config=CONFIG, description=__doc__)
