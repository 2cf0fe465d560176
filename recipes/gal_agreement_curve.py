"""The contrast experiment of the GAL paper's Figure 1: the agreement ratio of two identically
initialized networks trained with plain cross-entropy, on identical batches for the warm-up,
then on CDAS batches, for several symmetric noise rates (``agreement_ratio.png``). See
:mod:`ignoise.experiments.agreement_curve`.

    python recipes/gal_agreement_curve.py                       # digits, a few CPU minutes
    python recipes/gal_agreement_curve.py --dataset cifar10 --data-root data --epochs 200
"""

from pathlib import Path

from ignoise.experiments.agreement_curve import main as agreement_curve

CONFIG = Path(__file__).parent / "configs" / "gal_cifar.yaml"


def main(argv=None) -> Path:
    return agreement_curve(argv, config=CONFIG, description=__doc__)


if __name__ == "__main__":
    main()
    from ignoise.engine import end_process_group  # torch only now: --help stays fast

    end_process_group()
