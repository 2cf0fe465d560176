"""The "build your own engine from GAL's parts" tutorial runs as written."""

import re
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.integration

DOC = Path(__file__).resolve().parents[2] / "docs" / "gal_custom_engine.rst"


def tutorial_code() -> str:
    """The tutorial's Python block, dedented: the code the reader sees is the code tested."""
    block = re.search(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", DOC.read_text()).group(1)
    return "\n".join(line[4:] for line in block.splitlines())


def test_custom_engine_tutorial_trains_gal(capsys):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        scope: dict = {}
        exec(compile(tutorial_code(), str(DOC), "exec"), scope)
    finally:
        torch.set_num_threads(threads)
    assert scope["accuracy_c"] > 0.6 and scope["accuracy_ab"] > 0.6
    assert "C: " in capsys.readouterr().out
    ratio, pseudo = scope["ratio"], scope["pseudo_labels"]
    assert len(ratio.iterations) == 2 * len(scope["train_loader"])  # the main-phase iterations
    assert all(0.0 <= r <= 1.0 for r in ratio.curve["agreement_ratio"])
    assert pseudo.refreshed_epoch == 4
    assert 0.5 < pseudo.summary()["pseudo_label_accuracy"] <= 1.0
