"""GSS-SSL on mini-WebVision (the first 50 classes): top-1/top-5 on the WebVision validation
set and on the ILSVRC12 validation images of the same classes. ``--method dividemix`` gives
the DivideMix baseline with the same settings.

    python recipes/gss_webvision.py --dataset digits --noise sym --noise-rate 0.4
    accelerate launch recipes/gss_webvision.py --data-root data/webvision
"""

from pathlib import Path

from ignoise.commands.train import cli
from ignoise.commands.train import main as train

CONFIG = Path(__file__).parent / "configs" / "gss_webvision.yaml"


def main(argv=None) -> dict:
    return train(argv, config=CONFIG, description=__doc__)


if __name__ == "__main__":
    cli(config=CONFIG, description=__doc__)
