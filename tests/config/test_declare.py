"""Declaring hyper-parameters: param, spec_of, coerce, and the checks a config runs when made."""

from dataclasses import dataclass
from typing import Literal

import pytest

from ignoise.config import ConfigError, TrainingConfig, param, spec_of
from ignoise.config.declare import coerce


@dataclass
class Example:
    tau: float = param(0.4, "tau of eq. 5", low=-1, high=1)
    rate: float = param(0.0, "a rate", low=0.0, high=1.0, high_open=True)
    lr: float = param(0.1, "lr", low=0.0, low_open=True)
    epochs: int = param(10, "epochs", low=1)
    flag: bool = param(False, "a switch")
    kind: Literal["a", "b"] = param("a", "a kind")
    keep: float | None = param(None, "optional", low=0.0, high=1.0)
    steps: list[int] = param([1, 2], "steps")
    options: dict = param({}, "options")
    name: str = param("x", "a name")


SPECS = spec_of(Example)


def test_spec_reads_back_type_default_help_and_range():
    tau = SPECS["tau"]
    assert (tau.name, tau.type, tau.default, tau.help) == ("tau", float, 0.4, "tau of eq. 5")
    assert tau.range_text() == "[-1, 1]"
    assert SPECS["rate"].range_text() == "[0, 1)"
    assert SPECS["lr"].range_text() == "(0, inf)"
    assert SPECS["flag"].range_text() == ""
    assert spec_of(Example()) == SPECS  # an instance reads the same


def test_list_and_dict_defaults_are_copied_per_instance():
    a, b = Example(), Example()
    a.steps.append(3)
    a.options["k"] = 1
    assert b.steps == [1, 2] and b.options == {}
    assert SPECS["steps"].default == [1, 2]


@pytest.mark.parametrize("key, value, expected", [
    ("lr", "0.1", 0.1),
    ("lr", "5e-4", 0.0005),  # PyYAML reads 5e-4 (no dot) as a string
    ("lr", 1, 1.0),
    ("epochs", "3", 3),
    ("epochs", 3.0, 3),
    ("keep", None, None),
    ("keep", "0.5", 0.5),
    ("steps", [1, "2"], [1, 2]),
    ("kind", "b", "b"),
    ("flag", True, True),
])
def test_coerce_converts_what_parses_exactly(key, value, expected):
    out = coerce(SPECS[key], value, "where")
    assert out == expected and type(out) is type(expected)


@pytest.mark.parametrize("key, value, expected", [
    ("epochs", "ten", "expected an integer"),
    ("epochs", 1.5, "expected an integer"),
    ("epochs", True, "expected an integer"),
    ("epochs", "1e3", "expected an integer"),
    ("lr", True, "expected a number"),
    ("lr", "fast", "expected a number"),
    ("flag", "true", "expected true or false"),  # bools are never read from strings
    ("flag", "yes", "expected true or false"),
    ("flag", 1, "expected true or false"),
    ("kind", "c", "expected one of 'a', 'b'"),
    ("keep", "half", "expected a number or null"),
    ("steps", 5, "expected a list of an integer"),
    ("options", [1], "expected a mapping"),
    ("name", 3, "expected a string"),
])
def test_coerce_rejects_with_where_key_value_and_expectation(key, value, expected):
    with pytest.raises(ConfigError) as err:
        coerce(SPECS[key], value, "file.yaml, defaults")
    assert str(err.value) == f"file.yaml, defaults: {key} = {value!r}: {expected}"


@pytest.mark.parametrize("key, value, text", [
    ("tau", 2, "tau = 2.0 is outside [-1, 1]"),
    ("rate", 1.0, "rate = 1.0 is outside [0, 1)"),
    ("lr", 0, "lr = 0.0 is outside (0, inf)"),
    ("epochs", 0, "epochs = 0 is outside [1, inf)"),
    ("keep", 1.5, "keep = 1.5 is outside [0, 1]"),
    # NaN compares false with every bound: it must not slip through
    ("lr", "nan", "lr = nan: expected a finite number"),
    ("rate", float("nan"), "rate = nan: expected a finite number"),
    ("lr", "inf", "lr = inf: expected a finite number"),
])
def test_coerce_checks_the_range(key, value, text):
    with pytest.raises(ConfigError) as err:
        coerce(SPECS[key], value, "w")
    assert str(err.value) == f"w: {text}"


def test_range_bounds_themselves():
    assert coerce(SPECS["tau"], -1, "w") == -1.0 and coerce(SPECS["tau"], 1, "w") == 1.0
    assert coerce(SPECS["rate"], 0, "w") == 0.0
    assert coerce(SPECS["epochs"], 1, "w") == 1


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


def test_training_config_made_in_python_is_checked_and_converted():
    cfg = TrainingConfig(lr="0.1", weight_decay="5e-4", epochs=3.0)
    assert (cfg.lr, cfg.weight_decay, cfg.epochs) == (0.1, 0.0005, 3)
    assert type(cfg.epochs) is int
    with pytest.raises(ConfigError, match=r"^TrainingConfig: epochs = 'ten': expected an integer$"):
        TrainingConfig(epochs="ten")
    with pytest.raises(ConfigError, match="noise = 'symmetric': expected one of 'none', 'sym'"):
        TrainingConfig(noise="symmetric")
    with pytest.raises(ConfigError, match=r"noise_rate = 1.5 is outside \[0, 1\)"):
        TrainingConfig(noise_rate=1.5)
    with pytest.raises(ConfigError, match="progress = 'false': expected true or false"):
        TrainingConfig(progress="false")
    with pytest.raises(ConfigError, match=r"lr = -1.0 is outside \(0, inf\)"):
        TrainingConfig().replace(lr=-1)


@pytest.mark.parametrize("milestones", [[80, 150], [1], []])
def test_lr_milestones_accepted(milestones):
    assert TrainingConfig(lr_milestones=milestones).lr_milestones == milestones


@pytest.mark.parametrize("milestones, expected", [
    ([150, 80], "expected increasing positive epochs"),
    ([80, 80], "expected increasing positive epochs"),
    ([0, 5], "expected increasing positive epochs"),
    ([-3], "expected increasing positive epochs"),
    ([1.5], "expected an integer"),
    ([True], "expected an integer"),
])
def test_lr_milestones_must_be_increasing_positive_ints(milestones, expected):
    with pytest.raises(ConfigError) as err:
        TrainingConfig(lr_milestones=milestones)
    assert "lr_milestones" in str(err.value) and expected in str(err.value)


def test_resume_needs_an_output_dir():
    assert TrainingConfig(output_dir=None).output_dir is None
    with pytest.raises(ConfigError, match="resume = true needs an output_dir"):
        TrainingConfig(resume=True, output_dir=None)
