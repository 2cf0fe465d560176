"""``python -m ignoise train`` and the recipes as a user sees them: errors, ``--help`` and
``--list`` answer before torch is imported; flags and files resolve in order."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ignoise.commands.train import cli, main, parse
from ignoise.config import ConfigError, load_config_file
from ignoise.methods import METHODS, DivideMixConfig, GALConfig, ScreeningConfig

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "recipes" / "configs"

# Runs a module or script as ``__main__`` with torch made unimportable (an attempt is recorded
# and fails at once, so nothing can train), and reports its exit status and whether it tried
# to import torch (the last line of stdout).
WRAPPER = """
import json, runpy, sys
attempts = []
class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "torch":
            attempts.append(name)
            raise ImportError("torch imported")
sys.meta_path.insert(0, NoTorch())
target, sys.argv = sys.argv[1], sys.argv[1:]
code = 0
try:
    if target.endswith(".py"):
        runpy.run_path(target, run_name="__main__")
    else:
        runpy.run_module(target, run_name="__main__", alter_sys=True)
except SystemExit as exit:
    code = exit.code or 0
except ImportError:
    code = "ImportError"
sys.stdout.flush()
torch = bool(attempts) or "torch" in sys.modules
print("\\n" + json.dumps({"code": code, "torch": torch}))
"""


def run_wrapped(target: str, *args: str):
    """``(exit status, torch imported, stdout without the report, stderr)``."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", WRAPPER, target, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    *out, report = proc.stdout.rstrip("\n").split("\n")
    report = json.loads(report)
    return report["code"], report["torch"], "\n".join(out), proc.stderr


@pytest.fixture()
def bad_config(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("method: ce\ndefaults:\n  learning_rate: 0.1\n")
    return path


# -- errors before torch ---------------------------------------------------------------------

@pytest.mark.parametrize("target, args", [
    ("ignoise", ["train", "--config"]),
    ("recipes/ce.py", ["--config"]),
])
def test_unknown_key_fails_before_torch_with_one_line(bad_config, target, args):
    code, torch_imported, _, err = run_wrapped(target, *args, str(bad_config))
    assert code == 2 and not torch_imported
    assert err.splitlines() == [f"error: {bad_config}, defaults: unknown key 'learning_rate'; "
                                "did you mean 'lr'?"]


def test_the_real_command_line_imports_no_torch(bad_config):
    """The same through ``python -X importtime -m ignoise``, the way a user types it."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "ignoise", "train",
                           "--config", str(bad_config)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    imported = [line.rsplit("|", 1)[-1].strip() for line in lines if line.startswith("import time")]
    assert "ignoise.config" in imported and "torch" not in imported
    errors = [line for line in lines if not line.startswith("import time")]
    assert errors == [f"error: {bad_config}, defaults: unknown key 'learning_rate'; "
                      "did you mean 'lr'?"]


@pytest.mark.parametrize("text, expected", [
    ("datasets:\n  digits: {epohcs: 3}\n", "datasets.digits: unknown key 'epohcs'; did you "
                                           "mean 'epochs'?"),
    ("defaults: {epochs: ten}\n", "defaults: epochs = 'ten': expected an integer"),
    ("defaults: {dataset: cifar11}\n", "(did you mean 'cifar10'?)"),
])
def test_other_config_errors_exit_2_before_torch(tmp_path, text, expected):
    path = tmp_path / "c.yaml"
    path.write_text("method: ce\n" + text)
    code, torch_imported, _, err = run_wrapped("ignoise", "train", "--config", str(path))
    assert code == 2 and not torch_imported
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and expected in err


def test_missing_config_file_exits_2(tmp_path):
    code, torch_imported, _, err = run_wrapped("recipes/gal_cifar.py", "--config",
                                               str(tmp_path / "nope.yaml"))
    assert code == 2 and not torch_imported
    assert err.strip() == f"error: config file {tmp_path / 'nope.yaml'} does not exist"


# -- help and list -----------------------------------------------------------------------------

@pytest.mark.parametrize("target, args", [
    ("ignoise", ["train", "--method", "gal", "--help"]),
    ("recipes/gal_cifar.py", ["--help"]),
])
def test_help_lists_the_methods_own_flags_without_torch(target, args):
    code, torch_imported, out, _ = run_wrapped(target, *args)
    assert code == 0 and not torch_imported
    for flag in ("--agreement-threshold", "--warmup-epochs", "--variant", "--lr", "--dataset",
                 "--output-dir"):
        assert flag in out
    assert "tau of eq. 5; in [-1, 1] (default: 0.4)" in " ".join(out.split())
    assert "gal_cifar.yaml" in out  # the config file it reads by default


def test_top_level_help_without_torch():
    code, torch_imported, out, _ = run_wrapped("ignoise", "--help")
    assert code == 0 and not torch_imported
    assert "{train,sweep,table,demo,convert,label-issues}" in out
    assert "train a registered method" in out
    code, torch_imported, out, _ = run_wrapped("ignoise", "convert", "--help")
    assert code == 0 and not torch_imported and "--dataset" in out
    for command, flag in (("sweep", "--rerun-changed"), ("table", "--formats")):
        code, torch_imported, out, _ = run_wrapped("ignoise", command, "--help")
        assert code == 0 and not torch_imported and flag in out


def test_list_prints_every_method_with_its_description():
    code, torch_imported, out, _ = run_wrapped("ignoise", "train", "--list")
    assert code == 0 and not torch_imported
    lines = dict(line.split(None, 1) for line in out.strip().splitlines())
    assert set(lines) == {"ce", "gal", "dividemix", "gss_ssl", "gss_ce", "screening", "gce", "sce",
                          "label_smoothing", "coteaching", "coteaching_plus", "jocor",
                          "decoupling", "elr", "elr_plus", "mentornet",
                          "colearning", "fdiv", "fine"}
    assert set(lines) == set(METHODS)
    for name, text in lines.items():
        assert text == METHODS[name].description


def test_list_in_process_returns_none(capsys):
    assert main(["--list"]) is None
    assert "gss_ssl" in capsys.readouterr().out


# -- parse: which method, which file, which values -------------------------------------------------

def test_method_reads_its_default_config_file():
    name, cfg, path = parse(["--method", "gal", "--dataset", "digits"])
    assert name == "gal" and isinstance(cfg, GALConfig) and path == CONFIGS / "gal_cifar.yaml"
    assert (cfg.model, cfg.epochs, cfg.warmup_epochs, cfg.loader) == ("digits_cnn", 30, 8, "gpu")
    name, cfg, _ = parse(["--method", "gal"])  # the file's default dataset
    assert (cfg.dataset, cfg.model, cfg.epochs, cfg.lr) == ("cifar10", "preact_resnet18", 200, 0.06)


def test_flags_override_file_values():
    _, cfg, _ = parse(["--method", "gal", "--dataset", "digits", "--lr", "0.5",
                       "--agreement-threshold", "0.1", "--lr-milestones", "3", "9",
                       "--no-progress", "--output-dir", "2024"])
    assert (cfg.lr, cfg.agreement_threshold, cfg.lr_milestones) == (0.5, 0.1, [3, 9])
    assert cfg.progress is False and cfg.output_dir == "2024"  # a folder name, not a number
    _, cfg, _ = parse(["--method", "ce", "--output-dir", "null", "--topk", "5"])
    assert cfg.output_dir is None and cfg.topk == 5


def test_recipe_config_and_a_given_config(tmp_path):
    name, cfg, path = parse(["--dataset", "digits"], config=CONFIGS / "ce.yaml")
    assert (name, cfg.lr, cfg.epochs, cfg.batch_size) == ("ce", 0.05, 30, 64)
    own = tmp_path / "mine.yaml"
    own.write_text("method: ce\ndefaults: {lr: 0.3}\n")
    name, cfg, path = parse(["--config", str(own)], config=CONFIGS / "ce.yaml")
    assert (name, cfg.lr, cfg.epochs, path) == ("ce", 0.3, 200, own)  # only the given file


def test_shared_file_picks_the_method_and_its_keys():
    args = ["--config", str(CONFIGS / "gss_ce.yaml"), "--dataset", "digits"]
    name, cfg, _ = parse(args)
    assert name == "gss_ce" and not hasattr(cfg, "warmup_epochs")  # the file's first method
    name, cfg, _ = parse([*args, "--method", "screening"])
    assert name == "screening" and isinstance(cfg, ScreeningConfig)
    file = load_config_file(CONFIGS / "gss_ce.yaml")
    digits = {**file.defaults, **file.datasets["digits"]}
    assert (cfg.warmup_epochs, cfg.p_threshold, cfg.epochs, cfg.lr) == (
        digits["warmup_epochs"], digits["p_threshold"], digits["epochs"], digits["lr"])


def test_method_and_config_for_another_method():
    with pytest.raises(ConfigError, match=r"gal_cifar.yaml is for gal, not 'ce'"):
        parse(["--method", "ce", "--config", str(CONFIGS / "gal_cifar.yaml")])
    with pytest.raises(ConfigError, match=r"ce.yaml is for ce, not 'gal'"):
        parse(["--method", "gal"], config=CONFIGS / "ce.yaml")


def test_a_flag_given_as_null_overrides_the_file():
    args = ["--method", "dividemix", "--dataset", "digits", "--noise", "sym",
            "--noise-rate", "0.4"]
    _, cfg, _ = parse([*args, "--lambda-u", "7"])
    assert cfg.lambda_u == 7.0 and cfg.effective_lambda_u() == 7.0
    _, cfg, _ = parse([*args, "--lambda-u", "null"])
    assert isinstance(cfg, DivideMixConfig) and cfg.lambda_u is None
    assert cfg.effective_lambda_u() == 25.0  # the digits section's table


@pytest.mark.parametrize("argv, message", [
    ([], "no method: pass --method NAME"),
    (["--method", "gall"], "unknown method 'gall' (did you mean 'gal'?)"),
    (["--method", "ce", "--dataset", "cifar11"], "flag --dataset: dataset = 'cifar11'"),
    (["--method", "ce", "--lr", "-1"], "flag --lr: lr = -1.0 is outside (0, inf)"),
    (["--method", "gal", "--variant", "ce", "--agreement-threshold", "2"],
     "agreement_threshold = 2.0 is outside [-1, 1]"),
    (["--method", "dividemix", "--dataset", "digits", "--noise", "sym", "--noise-rate", "0.3"],
     "lambda_u_by_noise has no entry for sym noise at rate 0.3"),
])
def test_parse_errors(argv, message):
    with pytest.raises(ConfigError) as err:
        parse(argv)
    assert message in str(err.value)


def test_argparse_rejects_malformed_flags(capsys):
    with pytest.raises(SystemExit) as exit:
        parse(["--method", "gal", "--variant", "bogus"])
    assert exit.value.code == 2
    assert "invalid choice: 'bogus'" in capsys.readouterr().err


def test_cli_prints_one_line_and_exits_2(capsys, bad_config):
    with pytest.raises(SystemExit) as exit:
        cli(["--config", str(bad_config)])
    assert exit.value.code == 2
    assert capsys.readouterr().err == (f"error: {bad_config}, defaults: unknown key "
                                       "'learning_rate'; did you mean 'lr'?\n")


def test_a_shared_file_takes_every_methods_flags_and_says_which_are_unused(capsys):
    """One command line for a grid of methods (the gradient-bias table): a flag of a sibling
    method is accepted, named on stderr and not used."""
    config = ROOT / "recipes" / "configs" / "gss_bias.yaml"
    name, cfg, _ = parse(["--method", "gss_ce", "--warmup-epochs", "1", "--lambda1", "0.5"],
                         config=config)
    assert name == "gss_ce" and cfg.lambda1 == 0.5 and not hasattr(cfg, "warmup_epochs")
    assert "note: gss_ce has no warmup_epochs: not used" in capsys.readouterr().err
    _, screening, _ = parse(["--method", "screening", "--warmup-epochs", "1"], config=config)
    assert screening.warmup_epochs == 1
    with pytest.raises(SystemExit):  # a flag of no method of the file is still an error
        parse(["--method", "gss_ce", "--agreement-threshold", "0.3"], config=config)
