"""Resolving a run's config: declared defaults < file defaults < file dataset section < flags,
with errors that name the place, the key, the value and what was expected."""

import subprocess
import sys

import pytest

from ignoise.config import (
    DATASET_NAMES,
    LOADER_NAMES,
    MODEL_NAMES,
    NOISE_NAMES,
    ConfigError,
    TrainingConfig,
    load_config_file,
    resolve_config,
    to_dict,
)
from ignoise.config.flags import NULL
from ignoise.config.resolve import closest
from ignoise.methods import CEConfig, DivideMixConfig, GALConfig, GSSSSLConfig


def config_file(tmp_path, text):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return load_config_file(path)


def resolve_text(tmp_path, text, cls=CEConfig, **kwargs):
    return resolve_config(cls, file=config_file(tmp_path, text), **kwargs)


def error_of(tmp_path, text, cls=CEConfig, **kwargs) -> str:
    with pytest.raises(ConfigError) as err:
        resolve_text(tmp_path, text, cls, **kwargs)
    return str(err.value)


# -- unknown keys ----------------------------------------------------------------------------

def test_unknown_key_names_file_key_and_suggestion(tmp_path):
    text = error_of(tmp_path, "method: ce\ndefaults: {learning_rate: 0.1}\n")
    assert text == (f"{tmp_path / 'c.yaml'}, defaults: unknown key 'learning_rate'; "
                    "did you mean 'lr'?")
    assert "did you mean 'epochs'?" in error_of(tmp_path, "defaults: {epohcs: 3}\n")


def test_unknown_key_in_a_dataset_section(tmp_path):
    text = error_of(tmp_path, "defaults: {epochs: 3}\ndatasets:\n  digits: {epohcs: 3}\n")
    assert text == (f"{tmp_path / 'c.yaml'}, datasets.digits: unknown key 'epohcs'; "
                    "did you mean 'epochs'?")
    # checked even in the section of a dataset this run does not use
    text = error_of(tmp_path, "datasets:\n  cifar10: {epohcs: 3}\n", flags={"dataset": "digits"})
    assert "datasets.cifar10: unknown key 'epohcs'" in text


def test_unknown_key_without_a_close_name(tmp_path):
    assert error_of(tmp_path, "defaults: {zzzzzz: 1}\n").endswith("unknown key 'zzzzzz'")


def test_unknown_dataset_section(tmp_path):
    text = error_of(tmp_path, "datasets:\n  cifar11: {lr: 0.1}\n")
    assert text.startswith(f"{tmp_path / 'c.yaml'}, datasets: unknown dataset 'cifar11'; "
                           "did you mean 'cifar10'?")


def test_closest():
    assert closest("learning_rate", ["lr", "lr_gamma", "epochs"]) == "lr"
    assert closest("epohcs", ["epochs", "seed"]) == "epochs"
    assert closest("batch", TrainingConfig.__dataclass_fields__) == "batch_size"
    assert closest("qqq", ["epochs", "seed"]) is None


# -- wrong types and ranges -------------------------------------------------------------------

@pytest.mark.parametrize("cls, entry, message", [
    (CEConfig, 'epochs: "ten"', "epochs = 'ten': expected an integer"),
    (CEConfig, "epochs: 1.5", "epochs = 1.5: expected an integer"),
    (CEConfig, "noise_rate: 1.5", "noise_rate = 1.5 is outside [0, 1)"),
    (CEConfig, "lr: -1", "lr = -1.0 is outside (0, inf)"),
    (CEConfig, "lr: .nan", "lr = nan: expected a finite number"),
    (CEConfig, "progress: 'no'", "progress = 'no': expected true or false"),
    (CEConfig, "noise: symmetric", "noise = 'symmetric': expected one of 'none', 'sym', "
                                   "'asym', 'pairflip', 'instance'"),
    (GALConfig, "agreement_threshold: 2", "agreement_threshold = 2.0 is outside [-1, 1]"),
    (GALConfig, "variant: bogus", "variant = 'bogus': expected one of 'gal', 'ce', "
                                  "'random_update'"),
    (GSSSSLConfig, "class_balance: sinkhorn", "class_balance = 'sinkhorn': expected one of "
                                              "'none', 'uniform', 'given'"),
    (CEConfig, "dataset: cifar11", "dataset = 'cifar11': expected one of digits, cifar10, "
                                   "cifar100"),
    (CEConfig, "model: resnet18", "model = 'resnet18': expected one of preact_resnet18, "
                                  "resnet34, resnet50, digits_cnn"),
])
def test_wrong_value_names_key_value_and_expectation(tmp_path, cls, entry, message):
    text = error_of(tmp_path, f"defaults:\n  {entry}\n", cls)
    assert text.startswith(f"{tmp_path / 'c.yaml'}, defaults: {message}")


def test_close_names_are_suggested_for_dataset_and_model(tmp_path):
    assert error_of(tmp_path, "defaults: {dataset: cifar11}\n").endswith(
        "(did you mean 'cifar10'?)")
    assert "did you mean" in error_of(tmp_path, "defaults: {model: preact_resnet}\n")


def test_wrong_value_in_a_section_and_in_a_flag(tmp_path):
    text = error_of(tmp_path, "datasets:\n  digits: {epochs: 0}\n")
    assert text == f"{tmp_path / 'c.yaml'}, datasets.digits: epochs = 0 is outside [1, inf)"
    with pytest.raises(ConfigError, match=r"^flag --noise-rate: noise_rate = 2.0 is outside"):
        resolve_config(CEConfig, flags={"noise_rate": 2.0})
    with pytest.raises(ConfigError, match="^unknown flag --lambda-u$"):
        resolve_config(CEConfig, flags={"lambda_u": 1.0})


def test_numbers_written_as_strings_are_converted(tmp_path):
    cfg = resolve_text(tmp_path, 'defaults: {lr: "0.1", weight_decay: 5e-4, epochs: "7"}\n')
    assert (cfg.lr, cfg.weight_decay, cfg.epochs) == (0.1, 0.0005, 7)
    assert type(cfg.epochs) is int and type(cfg.weight_decay) is float


# -- precedence -----------------------------------------------------------------------------

LAYERED = """
method: ce
defaults: {dataset: cifar10, lr: 0.1, epochs: 50, batch_size: 256, model: preact_resnet18}
datasets:
  cifar10: {lr: 0.2}
  digits: {lr: 0.3, epochs: 5, model: digits_cnn}
"""


def test_declared_defaults_then_file_defaults_then_section_then_flags(tmp_path):
    cfg = resolve_text(tmp_path, LAYERED)
    assert (cfg.dataset, cfg.lr, cfg.epochs, cfg.batch_size) == ("cifar10", 0.2, 50, 256)
    assert (cfg.momentum, cfg.seed, cfg.noise, cfg.resume, cfg.progress) == (
        0.9, 0, "none", False, True)  # declared defaults
    cfg = resolve_text(tmp_path, LAYERED, flags={"lr": 0.5, "epochs": None})
    assert (cfg.lr, cfg.epochs) == (0.5, 50)  # None: a flag not given


def test_dataset_flag_picks_the_section(tmp_path):
    cfg = resolve_text(tmp_path, LAYERED, flags={"dataset": "digits"})
    assert (cfg.dataset, cfg.lr, cfg.epochs, cfg.model) == ("digits", 0.3, 5, "digits_cnn")
    cfg = resolve_text(tmp_path, LAYERED, flags={"dataset": "cifar100"})  # no section
    assert (cfg.lr, cfg.epochs, cfg.model) == (0.1, 50, "preact_resnet18")


def test_without_a_file_only_defaults_and_flags():
    cfg = resolve_config(GALConfig, flags={"lr": "0.1", "warmup_epochs": "3"})
    assert (cfg.lr, cfg.warmup_epochs, cfg.epochs) == (0.1, 3, 200)
    assert resolve_config(GALConfig) == GALConfig()


def test_a_flag_given_as_null_sets_none(tmp_path):
    text = "defaults: {lambda_u: 5, noise: sym, noise_rate: 0.5, output_dir: out}\n"
    cfg = resolve_text(tmp_path, text, DivideMixConfig)
    assert (cfg.lambda_u, cfg.output_dir) == (5.0, "out")
    cfg = resolve_text(tmp_path, text, DivideMixConfig,
                       flags={"lambda_u": NULL, "output_dir": NULL})
    assert cfg.lambda_u is None and cfg.output_dir is None
    assert cfg.effective_lambda_u() == 25.0  # from lambda_u_by_noise


SHARED = """
method: [gss_ssl, dividemix]
defaults: {lambda1: 2.0, lambda_u: 3, epochs: 40, warmup_epochs: 5}
datasets:
  digits: {lambda2: 0.5, gss_switched: [labeled, unlabeled]}
"""
SHARED_KEYS = set(GSSSSLConfig.__dataclass_fields__) | set(DivideMixConfig.__dataclass_fields__)


def test_a_shared_file_drops_the_other_methods_keys(tmp_path):
    gss = resolve_text(tmp_path, SHARED, GSSSSLConfig, allowed_keys=SHARED_KEYS)
    assert (gss.lambda1, gss.lambda2, gss.lambda_u) == (2.0, 0.5, 3.0)
    assert gss.gss_switched == ["labeled", "unlabeled"]
    dm = resolve_text(tmp_path, SHARED, DivideMixConfig, allowed_keys=SHARED_KEYS)
    assert (dm.lambda_u, dm.epochs, dm.warmup_epochs) == (3.0, 40, 5)
    assert "lambda1" not in to_dict(dm) and "gss_switched" not in to_dict(dm)
    # without the shared key list, DivideMix does not know GSS's keys
    assert "unknown key 'lambda1'" in error_of(tmp_path, SHARED, DivideMixConfig)


def test_gss_ssl_defaults_to_the_aligned_gated_pool_and_the_flags_undo_it(tmp_path):
    cfg = resolve_config(GSSSSLConfig, flags={"lambda_u": 0})
    assert (cfg.class_balance, cfg.confidence_gate, cfg.lambda2) == ("uniform", 0.5, 0.0)
    poster = resolve_config(GSSSSLConfig, flags={"lambda_u": 0, "class_balance": "none",
                                                 "confidence_gate": 0.0, "lambda2": 0.1})
    assert (poster.class_balance, poster.confidence_gate, poster.lambda2) == ("none", 0.0, 0.1)


def test_to_dict_is_plain_values():
    out = to_dict(CEConfig(lr_milestones=[3]))
    assert out["lr_milestones"] == [3] and out["lr"] == 0.02 and out["output_dir"] == "auto"


# -- cross-field checks after merging --------------------------------------------------------

def test_cross_field_checks_run_on_the_merged_config(tmp_path):
    text = "defaults: {epochs: 10, warmup_epochs: 10, lambda_u: 0}\n"
    assert error_of(tmp_path, text, DivideMixConfig) == (
        "warmup_epochs = 10 must be below epochs = 10")
    cfg = resolve_text(tmp_path, text, DivideMixConfig, flags={"epochs": 11})
    assert (cfg.epochs, cfg.warmup_epochs) == (11, 10)
    assert "lr_milestones = [5, 3]" in error_of(tmp_path, "defaults: {lr_milestones: [5, 3]}\n")


def test_dividemix_transforms_need_clothing1m_and_the_torch_loader(tmp_path):
    text = error_of(tmp_path, "defaults: {transforms: dividemix}\n")
    assert text == ("CEConfig: transforms = 'dividemix' with dataset = 'digits': it is defined "
                    "for clothing1m only; expected transforms = 'standard'")
    with pytest.raises(ConfigError, match=r"transforms = 'dividemix' with loader = 'gpu': only "
                                          r"the torch loader applies it; expected loader = "
                                          r"'torch'"):
        resolve_config(CEConfig, flags={"dataset": "clothing1m", "loader": "gpu",
                                        "transforms": "dividemix"})
    with pytest.raises(ConfigError, match=r"transforms = 'dividemix' with loader = 'ffcv'"):
        TrainingConfig(dataset="clothing1m", loader="ffcv", transforms="dividemix")
    cfg = resolve_config(CEConfig, flags={"dataset": "clothing1m", "transforms": "dividemix"})
    assert (cfg.transforms, to_dict(cfg)["transforms"]) == ("dividemix", "dividemix")
    assert TrainingConfig().transforms == "standard"
    assert "transforms = 'fancy': expected one of 'standard', 'dividemix'" in error_of(
        tmp_path, "defaults: {transforms: fancy}\n")


# -- names kept here without torch match the library's ------------------------------------------

def test_names_match_the_library():
    import ignoise.data
    import ignoise.models
    import ignoise.noise

    assert DATASET_NAMES == tuple(ignoise.data.DATASETS)
    assert MODEL_NAMES == tuple(ignoise.models.MODEL_NAMES)
    assert NOISE_NAMES == tuple(ignoise.noise.NOISE_KINDS)
    assert LOADER_NAMES == tuple(ignoise.data.LOADER_KINDS)


def test_config_and_methods_import_no_torch():
    code = ("import sys, ignoise.config, ignoise.methods, ignoise.commands.train; "
            "print(sorted(m for m in ('torch', 'ignite') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "[]"
