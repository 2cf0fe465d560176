"""The GAL paper's ablations as a grid of GAL runs, written to ``--output-dir``: ``table4.md``
(components, with the frozen-pair row), ``table5.md`` (sampling, mean +- std over ``--seeds``)
and ``figure4.png`` / ``figure4.md`` (the agreement threshold tau swept). See
:mod:`ignoise.experiments.gal_ablations`.

On the digits (default) each run takes well under a minute on a CPU; the full default grid is
about a hundred runs. Finished runs are reused, so an interrupted grid continues.

    python recipes/gal_ablations.py --settings sym:0.5 --seeds 0 1 2
    python recipes/gal_ablations.py --dataset cifar10 --data-root data --only table5
"""

from pathlib import Path

from ignoise.experiments.gal_ablations import main as ablations

CONFIG = Path(__file__).parent / "configs" / "gal_cifar.yaml"


def main(argv=None) -> dict:
    return ablations(argv, config=CONFIG, description=__doc__)


if __name__ == "__main__":
    main()
    from ignoise.engine import end_process_group  # torch only now: --help stays fast

    end_process_group()
