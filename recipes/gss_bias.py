"""The GSS poster's gradient-bias table: CE on the given labels (ori), sample screening (sc),
DivideMix (ssl) and GSS (GSS-SSL, and GSS-CE as an extra row), each a full run with the
gradient-bias probe on in ``<output-dir>/<method>``; the table, a plot and ``results.json`` go
to ``<output-dir>``. See :mod:`ignoise.experiments.gradient_bias_table`.

    python recipes/gss_bias.py --dataset digits --output-dir runs/gss_bias
    accelerate launch recipes/gss_bias.py --dataset cifar10 --data-root data --output-dir runs/bias
"""

from pathlib import Path

from ignoise.experiments.gradient_bias_table import main as gradient_bias_table

CONFIG = Path(__file__).parent / "configs" / "gss_bias.yaml"


def main(argv=None) -> dict:
    return gradient_bias_table(argv, config=CONFIG, description=__doc__)


if __name__ == "__main__":
    main()
    from ignoise.engine import end_process_group  # torch only now: --help stays fast

    end_process_group()
