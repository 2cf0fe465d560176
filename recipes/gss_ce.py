"""GSS with plain cross-entropy: one network trained on targets drawn from per-sample direction
pools rebuilt after every epoch from its own predictions (``--method screening`` gives the
screening reference of the gradient-bias table).

    python recipes/gss_ce.py --dataset digits --noise sym --noise-rate 0.5
    accelerate launch recipes/gss_ce.py --dataset cifar10 --data-root data \
        --noise sym --noise-rate 0.5
"""

from pathlib import Path

from ignoise.commands.train import cli
from ignoise.commands.train import main as train

CONFIG = Path(__file__).parent / "configs" / "gss_ce.yaml"


def main(argv=None) -> dict:
    return train(argv, config=CONFIG, description=__doc__)


if __name__ == "__main__":
    cli(config=CONFIG, description=__doc__)
