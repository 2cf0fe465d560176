"""GSS with plain cross-entropy: one network trained on targets drawn from per-sample direction
pools rebuilt after every epoch from its own predictions (``--variant ce`` / ``screening`` give
the references of the gradient-bias table).

    python recipes/gss_ce.py --dataset digits --noise sym --noise-rate 0.5
    accelerate launch recipes/gss_ce.py --dataset cifar10 --data-root data \
        --noise sym --noise-rate 0.5
"""

from pathlib import Path

import gss

CONFIG = Path(__file__).parent / "configs" / "gss_ce.yaml"


def main(argv=None) -> dict:
    return gss.main(argv, CONFIG, __doc__)


if __name__ == "__main__":
    main()
