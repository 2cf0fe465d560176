"""``python -m ignoise label-issues RUN_DIR`` on fabricated run folders of the digits."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.metrics import average_precision_score, roc_auc_score

from ignoise.__main__ import main
from ignoise.commands import label_issues as command

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "evidence_files", ROOT / "tests" / "label_quality" / "evidence_files.py")
evidence_files = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(evidence_files)


@pytest.fixture(scope="module")
def digits():
    """The run's labels: the digits at 40% symmetric noise, seed 0."""
    from ignoise.data import build_noisy_data

    train = build_noisy_data("digits", noise="sym", noise_rate=0.4, seed=0).train
    return train.targets, train.clean_targets


def fabricate_run(folder: Path, digits, *, method="dividemix", clean_prob=True, **run_json):
    """A finished DivideMix-like run: evidence whose probabilities mostly favour the clean label
    (10% favour a random class), a noisy clean_prob, and run.json."""
    given, clean = digits
    probs = evidence_files.noisy_probs(given, clean, 10, seed=1, noise=0.1)
    signals = {}
    if clean_prob:
        rng = np.random.default_rng(2)
        value = np.where(given == clean, 0.75, 0.25) + rng.normal(0, 0.2, len(given))
        signals["clean_prob"] = np.clip(value, 0, 1).astype(np.float32)
    evidence_files.write_evidence(folder, given, probs, clean=clean, method=method, **signals)
    evidence_files.write_run_json(folder, method=method, **run_json)
    return probs, signals


def figures(stdout: str) -> dict:
    out = {}
    for line in stdout.splitlines():
        parts = line.split()
        if line.startswith("  ") and len(parts) >= 2:
            out[" ".join(parts[:-1])] = float(parts[-1])
    return out


def test_end_to_end_on_the_digits(tmp_path, digits, capsys):
    _, signals = fabricate_run(tmp_path, digits)
    given, clean = digits
    main(["label-issues", str(tmp_path), "--top", "5"])
    out = capsys.readouterr().out
    assert "method dividemix, 1437 training samples, 10 classes, 3 epochs recorded" in out
    assert "score: clean_prob = 1 - clean_prob (the method's own signal)" in out
    corrupted = given != clean
    assert corrupted.sum() == 575 and "corrupted samples: 575 of 1437 (40.0%)" in out
    score = 1 - signals["clean_prob"].astype(np.float64)
    margin = np.load(tmp_path / "evidence.npz")["margin_mean"].astype(np.float64)
    top = np.lexsort((np.arange(1437), margin, -score))[:575]  # ties: lowest margin first
    printed = figures(out)
    assert printed["AUROC"] == pytest.approx(roc_auc_score(corrupted, score), abs=1e-4)
    assert printed["average precision"] == pytest.approx(
        average_precision_score(corrupted, score), abs=1e-4)
    assert printed["precision@575"] == pytest.approx(corrupted[top].mean(), abs=1e-4)
    assert 0.85 < printed["AUROC"] < 1  # the fabricated signal is informative, not perfect

    table = pd.read_csv(tmp_path / "label_issues.csv")
    assert len(table) == 1437 and sorted(table["index"]) == list(range(1437))
    assert table["index"].tolist()[:575] == top.tolist()
    assert list(table.columns[:4]) == ["index", "given_label", "suggested_label", "score"]
    by_index = table.sort_values("index")
    assert (by_index["given_label"] == given).all() and (by_index["clean_label"] == clean).all()
    assert (by_index["corrupted"] == corrupted).all()
    assert "top 5 suspects:" in out
    assert out.split("top 5 suspects:\n")[1].splitlines()[1].split()[0] == str(top[0])

    png = tmp_path / "label_issues.png"
    assert f"wrote {png} (32 images)" in out
    assert png.stat().st_size > 1000
    with Image.open(png) as image:
        assert image.format == "PNG"
    parquet = tmp_path / "label_issues.parquet"
    assert parquet.exists() == command._has_pyarrow()


def test_score_flag_and_output_file(tmp_path, digits, capsys):
    fabricate_run(tmp_path / "run", digits)
    out_file = tmp_path / "elsewhere" / "issues.csv"
    main(["label-issues", str(tmp_path / "run"), "--score", "margin", "--output", str(out_file),
          "--top", "0", "--grid", "4"])
    out = capsys.readouterr().out
    assert "score: margin = -margin_mean; higher" in out and "suspects" not in out
    table = pd.read_csv(out_file)
    assert table["score"].is_monotonic_decreasing
    assert (tmp_path / "elsewhere" / "issues.png").stat().st_size > 1000
    assert not (tmp_path / "run" / "label_issues.csv").exists()


def test_parquet_output(tmp_path, digits, capsys):
    pytest.importorskip("pyarrow")
    fabricate_run(tmp_path, digits)
    main(["label-issues", str(tmp_path), "--output", str(tmp_path / "t.parquet"), "--no-grid"])
    assert "no grid (--no-grid)" in capsys.readouterr().out
    table = pd.read_parquet(tmp_path / "t.parquet")
    assert len(table) == 1437 and table["corrupted"].dtype == bool
    assert not (tmp_path / "t.csv").exists() and not (tmp_path / "t.png").exists()


def test_parquet_without_pyarrow(tmp_path, digits, capsys, monkeypatch):
    fabricate_run(tmp_path, digits)
    monkeypatch.setattr(command, "_has_pyarrow", lambda: False)
    with pytest.raises(SystemExit) as exit_:
        main(["label-issues", str(tmp_path), "--output", str(tmp_path / "t.parquet")])
    assert exit_.value.code == 2
    assert "Parquet needs pyarrow (pip install pyarrow)" in capsys.readouterr().err
    main(["label-issues", str(tmp_path), "--no-grid"])  # a CSV needs nothing
    assert (tmp_path / "label_issues.csv").exists()
    assert not (tmp_path / "label_issues.parquet").exists()


def test_labels_changed_since_the_run_stop_before_writing(tmp_path, digits, capsys):
    fabricate_run(tmp_path, digits, seed=1)  # run.json says another noise draw
    with pytest.raises(SystemExit) as exit_:
        main(["label-issues", str(tmp_path)])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and len(err.splitlines()) == 1
    assert err.startswith(f"error: {tmp_path / 'run.json'}: the rebuilt digits training labels "
                          "differ from the evidence's given_label")
    assert not (tmp_path / "label_issues.csv").exists()
    main(["label-issues", str(tmp_path), "--no-grid"])  # the table does not need the data
    assert (tmp_path / "label_issues.csv").exists()


def test_no_grid_with_a_note_when_the_images_cannot_be_rebuilt(tmp_path, digits, capsys):
    fabricate_run(tmp_path, digits, dataset="my_signals")
    main(["label-issues", str(tmp_path)])
    out = capsys.readouterr().out
    assert "no grid: the run trained on dataset 'my_signals'" in out
    (tmp_path / "run.json").unlink()
    main(["label-issues", str(tmp_path)])
    assert "no grid: " in capsys.readouterr().out and not (tmp_path / "label_issues.png").exists()


@pytest.mark.parametrize("setup, message", [
    ("none", "run folder {d}/missing does not exist"),
    ("empty", "{d}/empty/evidence.npz does not exist: it does not look like a run folder"),
    ("old", "must be finished by a version of ignoise that records per-sample evidence"),
    ("bad", "{d}/bad/evidence.npz: missing probs"),
])
def test_missing_or_bad_evidence(tmp_path, digits, capsys, setup, message):
    folder = {"none": tmp_path / "missing", "empty": tmp_path / "empty",
              "old": tmp_path / "old", "bad": tmp_path / "bad"}[setup]
    if setup != "none":
        folder.mkdir()
    if setup == "old":
        (folder / "results.json").write_text("{}")
    if setup == "bad":
        evidence_files.write_evidence(folder, *digits[:1], np.full((1437, 10), 0.1),
                                      overrides={"probs": None})
    with pytest.raises(SystemExit) as exit_:
        main(["label-issues", str(folder)])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.startswith("error: ")
    assert message.format(d=tmp_path) in err


def test_a_score_the_run_did_not_record(tmp_path, digits, capsys):
    fabricate_run(tmp_path, digits, method="ce", clean_prob=False)
    with pytest.raises(SystemExit):
        main(["label-issues", str(tmp_path), "--score", "joint"])
    assert "score 'joint' needs joint_prob_given, which the run of method 'ce' did not " \
           "record (it has no method signal)" in capsys.readouterr().err
    main(["label-issues", str(tmp_path), "--no-grid"])
    assert "score: margin = -margin_mean (the area under the margin" in capsys.readouterr().out


def test_compare_cleanlab(tmp_path, digits, capsys):
    pytest.importorskip("cleanlab")
    fabricate_run(tmp_path, digits)
    main(["label-issues", str(tmp_path), "--compare", "cleanlab", "--no-grid", "--top", "0"])
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("ranking"))
    rows = {line.rsplit(maxsplit=7)[0].strip(): line.split()[-7:]
            for line in lines[header + 1:header + 4]}
    assert list(rows) == ["ignoise (1 - clean_prob)", "cleanlab rank (self_confidence)",
                          "cleanlab find_label_issues (prune_by_noise_rate)"]
    assert float(rows["ignoise (1 - clean_prob)"][0]) == pytest.approx(
        figures(out)["AUROC"], abs=1e-3)
    assert 0.5 < float(rows["cleanlab rank (self_confidence)"][0]) <= 1
    assert rows["cleanlab find_label_issues (prune_by_noise_rate)"][:3] == ["-", "-", "-"]
    flat = " ".join(out.split())
    assert "cleanlab expects out-of-sample (cross-validated) predicted probabilities" in flat
    assert "in-sample" in flat and "likely understate" in flat
    table = pd.read_csv(tmp_path / "label_issues.csv")
    assert table["cleanlab_issue"].dtype == bool
    assert table["cleanlab_issue"].sum() == int(rows["cleanlab find_label_issues "
                                                     "(prune_by_noise_rate)"][3])


def test_compare_cleanlab_not_installed(tmp_path, digits, capsys, monkeypatch):
    for name in ("cleanlab", "cleanlab.filter", "cleanlab.rank"):
        monkeypatch.setitem(sys.modules, name, None)
    fabricate_run(tmp_path, digits)
    with pytest.raises(SystemExit) as exit_:
        main(["label-issues", str(tmp_path), "--compare", "cleanlab"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "pip install ignoise[cleanlab]" in err
    assert not (tmp_path / "label_issues.csv").exists()


def test_help_imports_no_torch():
    """The way a user types it: ``python -X importtime -m ignoise label-issues --help``."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "ignoise", "label-issues",
                           "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0 and "--compare {cleanlab}" in proc.stdout
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0]
                for line in proc.stderr.splitlines() if line.startswith("import time")}
    assert "ignoise" in imported
    assert not imported & {"torch", "pandas", "matplotlib", "sklearn"}


def test_the_package_imports_neither_torch_nor_pandas():
    code = ("import sys, ignoise.label_quality, ignoise.commands.label_issues; "
            "print(sorted(m for m in ('torch', 'pandas', 'matplotlib') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, check=True)
    assert proc.stdout.strip() == "[]"
