"""``python -m ignoise sweep`` and ``table``: specs checked before any run, cells run as
ordinary runs, finished cells skipped, interrupted ones resumed, changed ones refused, and the
table's mean +- std computed from the runs' own results."""

import argparse
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from ignoise.commands import demo, sweep, table
from ignoise.config import ConfigError
from ignoise.experiments.spec import cell_argv, load_spec
from ignoise.experiments.sweep_run import worker_cores

# Two seeds of CE and of GAL (one warm-up epoch) at 40% symmetric noise, 2 epochs each.
SPEC = """
name: tiny
title: "tiny sweep"
metric: last
rows:
  - {name: CE, method: ce}
  - {name: GAL, method: gal, flags: {warmup_epochs: 1, lr_milestones: [1]}}
  - {name: Co-teaching, method: null}
datasets: [digits]
noise: ["sym:0.4"]
seeds: [0, 1]
overrides: {epochs: 2}
published:
  cifar10:
    CE: {"sym:0.4": 80.0}
    Co-teaching: {"sym:0.4": 82.5}
published_from: {digits: cifar10}
scales:
  one: {seeds: [3], overrides: {epochs: 3}}
"""


def _args(spec, out, *extra):
    parser = argparse.ArgumentParser()
    sweep.add_arguments(parser)
    return parser.parse_args([str(spec), "--output-dir", str(out), *extra])


@pytest.fixture()
def spec_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(SPEC)
    return path


def test_spec_cells_and_flags(spec_file):
    spec = load_spec(spec_file)
    cells = spec.cells()
    assert [(c.row.name, c.seed) for c in cells] == [("CE", 0), ("CE", 1), ("GAL", 0),
                                                     ("GAL", 1)]
    assert cells[2].folder == "gal/digits-sym-0.4-seed0"
    argv = cell_argv(cells[2], spec.overrides)
    assert argv[:2] == ["--method", "gal"]
    assert " ".join(argv).endswith("--warmup-epochs 1 --lr-milestones 1 --dataset digits "
                                   "--noise sym --noise-rate 0.4 --seed 0 --epochs 2")
    scaled = load_spec(spec_file, "one")
    assert scaled.seeds == (3,) and scaled.overrides == {"epochs": 3}
    assert spec.published_value("Co-teaching", "digits", "sym:0.4") == 82.5


@pytest.mark.parametrize("text, message", [
    ("name: x\nrows: [{name: A, method: ce}]\ndatasets: [digits]\nnoise: [sym:0.4]\n"
     "seedz: [0]\n", "unknown key 'seedz' (did you mean 'seeds'?)"),
    ("rows: [{name: A, method: ce}]\ndatasets: [digits]\nnoise: [sym:1.5]\n",
     "noise setting 'sym:1.5'"),
    ("rows: [{name: A, method: ce}]\ndatasets: [digitz]\nnoise: [sym:0.4]\n",
     "dataset 'digitz'"),
    ("rows: [{name: A, method: ce}, {name: A, method: gal}]\ndatasets: [digits]\n"
     "noise: [none]\n", "A appear more than once"),
    ("rows: [{name: A}]\ndatasets: [digits]\nnoise: [none]\n", "needs a name and a method"),
    ("rows: [{name: A, method: ce}]\ndatasets: [digits]\nnoise: [none]\nmetric: top\n",
     "metric 'top'"),
])
def test_bad_specs_name_the_value(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_spec(path)


def test_plan_errors_before_any_run(spec_file, tmp_path):
    with pytest.raises(ConfigError, match="no scale 'paper'; expected one of one"):
        sweep.main(_args(spec_file, tmp_path / "o", "--scale", "paper"))
    with pytest.raises(ConfigError, match="no row named 'Nope'; the rows are: 'CE', 'GAL'"):
        sweep.main(_args(spec_file, tmp_path / "o", "--only", "Nope"))
    with pytest.raises(ConfigError, match=r"row 'CE' .*unknown key 'lrr'.*'lr'"):
        sweep.main(_args(spec_file, tmp_path / "o", "--set", "lrr=0.1"))
    with pytest.raises(ConfigError, match=r"row 'GAL' \(gal\): epochs = 1 ends inside its "
                                          r"warm-up of 1 epochs"):
        sweep.main(_args(spec_file, tmp_path / "o", "--epochs", "1"))
    assert not (tmp_path / "o").exists()  # nothing written, nothing trained


def test_demo_rejects_short_epochs_and_unknown_rows(tmp_path):
    args = argparse.Namespace(output_dir=tmp_path / "d", epochs=3, seed=0, only=None,
                              workers=1, rerun_changed=False)
    with pytest.raises(ConfigError, match=r"row 'GAL \(C\)' \(gal\): epochs = 3 ends inside "
                                          r"its warm-up of 8 epochs"):
        demo.main(args)
    args.epochs, args.only = None, ["GAL"]
    with pytest.raises(ConfigError, match=r"no row named 'GAL'; the rows are: 'CE, clean "
                                          r"labels', 'CE', 'GAL \(C\)'"):
        demo.main(args)
    assert not (tmp_path / "d").exists()


def test_worker_cores_split_without_overlap():
    assert worker_cores(2, [0, 1]) == [[0], [1]]
    assert worker_cores(1, [0, 1]) == [[0, 1]]
    assert worker_cores(4, list(range(8))) == [[0, 1], [2, 3], [4, 5], [6, 7]]


@pytest.mark.integration
def test_sweep_runs_skips_resumes_and_tabulates(spec_file, tmp_path, capsys):
    out = tmp_path / "sweep"
    first = sweep.main(_args(spec_file, out, "--workers", "2", "--only", "CE"))
    results = {o.plan.cell.seed: o.results for o in first["outcomes"] if o.ok}
    assert sorted(results) == [0, 1]
    for plan in first["plans"]:  # every cell is an ordinary run folder
        assert json.loads((plan.folder / "run.json").read_text())["config"]["seed"] == \
            plan.cell.seed
        assert results[plan.cell.seed]["epochs"] == 2

    again = sweep.main(_args(spec_file, out, "--workers", "2", "--only", "CE"))
    assert [p.status for p in again["plans"]] == ["done"] * 2 and again["outcomes"] == []

    # An interrupted cell (no results yet, checkpoints kept) resumes; more epochs extend.
    (out / "ce" / "digits-sym-0.4-seed1" / "results.json").unlink()
    plans = sweep.main(_args(spec_file, out, "--dry-run", "--only", "CE"))["plans"]
    assert [(p.status, p.reason) for p in plans] == [("done", ""), ("resume", "from epoch 2")]
    [resumed] = sweep.main(_args(spec_file, out, "--only", "CE"))["outcomes"]
    assert resumed.results["history"] == results[1]["history"]
    plans = sweep.main(_args(spec_file, out, "--dry-run", "--epochs", "3"))["plans"]
    assert [p.status for p in plans] == ["extend", "extend", "new", "new"]

    # Changed settings: refused with the difference, replaced only when asked.
    with pytest.raises(ConfigError, match=r"2 cell\(s\) of tiny hold runs with other settings"
                                          r"(.|\n)*lr: 0.05 -> 0.07"):
        sweep.main(_args(spec_file, out, "--set", "lr=0.07"))
    plans = sweep.main(_args(spec_file, out, "--set", "lr=0.07", "--rerun-changed",
                             "--dry-run", "--only", "CE"))["plans"]
    assert {p.status for p in plans} == {"restart"} and "--overwrite" in plans[0].argv

    capsys.readouterr()
    made = table.main(argparse.Namespace(run_dirs=[out], output_dir=None,
                                         formats=["md", "csv", "tex", "png"]))
    printed = capsys.readouterr().out
    summary = made["summary"].set_index("row")
    ce = [100 * results[s]["test_acc_last"] for s in (0, 1)]
    assert summary.loc["CE", "last_mean"] == pytest.approx(statistics.mean(ce))
    assert summary.loc["CE", "last_std"] == pytest.approx(statistics.stdev(ce))
    assert summary.loc["CE", "difference"] == pytest.approx(statistics.mean(ce) - 80.0)
    assert summary.loc["CE", "seeds"] == 2
    cell = f"{statistics.mean(ce):.2f} ± {statistics.stdev(ce):.2f} (paper 80.00, " \
           f"{statistics.mean(ce) - 80:+.2f})"
    assert f"| CE          | {cell}" in printed
    assert "| Co-teaching | — (paper 82.50)" in printed
    assert "2 cell(s) have no results yet" in printed  # GAL's, not run
    assert (out / "curves.png").stat().st_size > 10_000
    assert (out / "table.csv").read_text().startswith("row,dataset,setting,seeds,")
    assert r"\begin{tabular}" in (out / "table.tex").read_text()


@pytest.mark.integration
def test_submitit_local_launcher(spec_file, tmp_path):
    import submitit  # noqa: F401  (the test extra installs it: a missing one fails)

    out = tmp_path / "sub"
    done = sweep.main(_args(spec_file, out, "--launcher", "submitit-local", "--only", "CE",
                            "--seeds", "0", "--epochs", "1"))
    [outcome] = done["outcomes"]
    assert outcome.ok and outcome.results["epochs"] == 1
    assert any((out / "submitit").iterdir())


def test_cli_help_and_error_exit(tmp_path, spec_file):
    cmd = [sys.executable, "-m", "ignoise", "sweep", str(spec_file), "--output-dir",
           str(tmp_path / "o"), "--only", "Nope"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 2 and "error: tiny: no row named 'Nope'" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "ignoise", "table", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "no finished run" in proc.stderr
    assert Path(tmp_path).is_dir()


@pytest.mark.distributed
def test_a_cell_can_be_a_two_process_launch(spec_file, tmp_path):
    out = tmp_path / "two"
    done = sweep.main(_args(spec_file, out, "--only", "CE", "--seeds", "0", "--epochs", "1",
                            "--processes", "2"))
    [outcome] = done["outcomes"]
    assert outcome.ok, (outcome.plan.folder / "sweep.log").read_text()[-3000:]
    assert outcome.results["num_processes"] == 2
    assert "--num_processes 2" in (outcome.plan.folder / "sweep.log").read_text()


@pytest.mark.integration
def test_a_paper_spec_runs_at_the_digits_scale(tmp_path, capsys):
    """GAL's Table 2 (Animal-10N) at the digits scale, its GAL row with a tiny budget: the
    real spec's cell trains, and the table sets it beside the paper's Animal-10N numbers."""
    out = tmp_path / "t2"
    done = sweep.main(_args("gal_table2", out, "--scale", "digits", "--only", "GAL",
                            "--seeds", "0", "--epochs", "9", "--workers", "2"))
    [outcome] = done["outcomes"]
    assert outcome.ok and outcome.results["noise"] == "instance"
    assert outcome.results["config"]["warmup_epochs"] == 8
    capsys.readouterr()
    made = table.main(argparse.Namespace(run_dirs=[out], output_dir=None, formats=["md"]))
    gal = made["summary"].set_index("row").loc["GAL"]
    assert gal["published"] == 82.91 and gal["published_best"] == 83.33
    assert gal["difference"] == pytest.approx(gal["last_mean"] - 82.91)
    assert "| Decoupling   | — (paper 78.24)" in capsys.readouterr().out
