"""benchmarks/gpu_suite.py runs on the CPU with --quick, measures everything it promises, and
writes nothing unless asked."""

import json
import math
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "benchmarks.md"


@pytest.fixture()
def gpu_suite(monkeypatch):
    """The suite's module, run in this process (the imports are already paid); the global
    generators and Dynamo's caches are left as they were found."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import gpu_suite

    with torch.random.fork_rng():
        yield gpu_suite
    torch._dynamo.reset()
    sys.modules.pop("gpu_suite", None)


def test_quick_suite_measures_every_variant_and_writes_only_where_told(gpu_suite, tmp_path):
    docs_before = DOCS.read_bytes()
    out, docs = tmp_path / "rows.json", tmp_path / "benchmarks.md"
    gpu_suite.main(["--quick", "--json", str(out), "--write-docs", "--docs", str(docs)])
    assert DOCS.read_bytes() == docs_before  # the repository's docs are untouched
    rows = json.loads(out.read_text())["rows"]
    measured = {(r["measure"], r["variant"]): r for r in rows}
    assert not [r for r in rows if r["value"] is None], [r["note"] for r in rows]
    for variant in ("base", "channels_last", "bf16", "compile", "all"):
        for measure in ("plain loop", "CE epoch", "GAL pair step", "CE epoch / plain loop"):
            value = measured[(measure, variant)]["value"]
            assert math.isfinite(value) and value > 0
    for variant in ("base", "channels_last", "bf16"):
        for measure in ("GAL main epoch", "DivideMix epoch", "GAL CIFAR-10 run (80 + 120 epochs)"):
            assert measured[(measure, variant)]["value"] > 0
    divide = measured[("DivideMix epoch", "base")]
    # per-epoch alternation (DivideMix's loop): A's phase of 256 // (2 * 32) iterations, then B's
    assert divide["pass_s"] > 0 and divide["iterations"] == 2 * (256 // (2 * 32))
    for loader in ("loader torch", "loader gpu, 1 view", "loader gpu, 2 views"):
        assert measured[(loader, "base")]["value"] > 0
    table = docs.read_text()
    assert table.count("| GAL pair step |") == 5 and "--quick" in table
