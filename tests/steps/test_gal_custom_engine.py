"""The "build your own engine from GAL's parts" tutorial runs as written."""

import json
import re
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.integration

DOC = Path(__file__).resolve().parents[2] / "docs" / "gal_custom_engine.rst"


def tutorial_code() -> str:
    """The tutorial's Python blocks, dedented and in page order: the code the reader sees is the
    code tested."""
    blocks = re.findall(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", DOC.read_text())
    assert len(blocks) >= 2, "the tutorial's code blocks were not found"
    return "\n".join(line[4:] for block in blocks for line in block.splitlines())


def test_custom_engine_tutorial_trains_gal(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # the tutorial writes to runs/gal_by_hand
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        scope: dict = {}
        exec(compile(tutorial_code(), str(DOC), "exec"), scope)
    finally:
        torch.set_num_threads(threads)
    assert "C: " in capsys.readouterr().out

    results, history = scope["results"], scope["results"]["history"]
    assert results["method"] == "gal_by_hand" and results["epochs"] == 4
    assert [row["epoch"] for row in history] == [1, 2, 3, 4]
    assert results["test_acc_last"] > 0.6 and history[-1]["joint_accuracy"] > 0.6
    assert history[-1]["test_num_samples"] == len(scope["data"].test)

    # The warm-up reports the identical pair; the main phase measures the agreement.
    assert [row["train_agreement_ratio"] for row in history[:2]] == [1.0, 1.0]
    assert all(0.0 <= row["train_agreement_ratio"] < 1.0 for row in history[2:])
    for row in history[:2]:  # one network stands for A, B and C
        assert row["train_loss"] == row["train_loss_a"] == row["train_loss_b"] == \
            row["train_loss_c"]
    for row in history[2:]:  # A's, B's and C's losses added
        assert row["train_loss"] == pytest.approx(
            row["train_loss_a"] + row["train_loss_b"] + row["train_loss_c"], rel=1e-5)

    ratio, pseudo = scope["ratio"], scope["pseudo_labels"]
    assert len(ratio.iterations) == 4 * len(scope["train_loader"])  # every phase reports it
    assert all(0.0 <= r <= 1.0 for r in ratio.curve["agreement_ratio"])
    assert pseudo.refreshed_epoch == 4
    assert 0.5 < pseudo.summary()["pseudo_label_accuracy"] <= 1.0
    assert history[-1]["pseudo_label_accuracy"] == pseudo.summary()["pseudo_label_accuracy"]

    # The switch stepped every scheduler once per epoch: the drop after the warm-up reached
    # all three optimizers, and B's and C's schedulers stayed aligned with A's.
    for opt in (scope["opt_a"], scope["opt_b"], scope["opt_c"]):
        assert opt.param_groups[0]["lr"] == pytest.approx(0.005)
    assert scope["sched_a"].last_epoch == scope["sched_b"].last_epoch == 4

    out = tmp_path / "runs" / "gal_by_hand"
    written = json.loads((out / "results.json").read_text())
    assert written["test_acc_last"] == results["test_acc_last"]
    assert len(written["agreement_ratio_curve"]["agreement_ratio"]) == len(ratio.iterations)
    assert sorted(p.name for p in (out / "checkpoints").glob("checkpoint_*.pt")) == [
        "checkpoint_3.pt", "checkpoint_4.pt"]
