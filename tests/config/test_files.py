"""Reading a YAML config file: its shape, and errors that name the file."""

from pathlib import Path

import pytest

from ignoise.config import ConfigError, load_config_file

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path, text, name="c.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_methods_defaults_and_sections(tmp_path):
    path = write(tmp_path, "method: gal\n"
                           "defaults: {lr: 0.06, weight_decay: 5e-4}\n"
                           "datasets:\n  digits: {epochs: 30}\n  cifar10: {}\n")
    file = load_config_file(str(path))
    assert file.path == path and file.methods == ("gal",)
    assert file.defaults == {"lr": 0.06, "weight_decay": "5e-4"}  # PyYAML: a string
    assert file.datasets == {"digits": {"epochs": 30}, "cifar10": {}}
    assert list(file.sections()) == [(f"{path}, defaults", file.defaults),
                                     (f"{path}, datasets.digits", {"epochs": 30}),
                                     (f"{path}, datasets.cifar10", {})]


def test_shared_file_and_empty_parts(tmp_path):
    file = load_config_file(write(tmp_path, "method: [gss_ssl, dividemix]\n"
                                            "defaults:\ndatasets:\n  digits:\n"))
    assert file.methods == ("gss_ssl", "dividemix")
    assert file.defaults == {} and file.datasets == {"digits": {}}
    empty = load_config_file(write(tmp_path, "", "empty.yaml"))
    assert (empty.methods, empty.defaults, empty.datasets) == ((), {}, {})


def test_every_recipe_config_loads():
    paths = sorted((ROOT / "recipes" / "configs").glob("*.yaml"))
    assert len(paths) >= 10
    for path in paths:
        file = load_config_file(path)
        assert file.methods, path
        assert "digits" in file.datasets, path  # every recipe runs on the embedded digits


def test_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.yaml does not exist"):
        load_config_file(tmp_path / "nope.yaml")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_config_file(tmp_path)  # a folder is not a config file


def test_yaml_syntax_error_names_the_file_and_line(tmp_path):
    path = write(tmp_path, "method: ce\ndefaults: {lr: 0.1\n")
    with pytest.raises(ConfigError) as err:
        load_config_file(path)
    text = str(err.value)
    assert text.startswith(f"config file {path} is not valid YAML")
    assert "line" in text


@pytest.mark.parametrize("text, got", [
    ("epochs: 3\n", "got ['epochs']"),
    ("method: ce\nlearning_rate: 0.1\n", "got ['learning_rate', 'method']"),
    ("- ce\n- gal\n", "got list"),
    ("just words\n", "got str"),
])
def test_top_level_other_than_method_defaults_datasets(tmp_path, text, got):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config_file(path)
    assert str(err.value) == (f"config file {path} must be a mapping with keys among method, "
                              f"defaults, datasets; {got}")


@pytest.mark.parametrize("text, message", [
    ("defaults: [1, 2]\n", "{path}, defaults must be a mapping, got [1, 2]"),
    ("datasets: [digits]\n", "{path}, datasets must be a mapping, got ['digits']"),
    ("datasets: {digits: 3}\n", "{path}, datasets.digits must be a mapping, got 3"),
    ("method: 3\n", "config file {path}: method must be a name or a list of names, got 3"),
    ("method: [ce, 3]\n",
     "config file {path}: method must be a name or a list of names, got ['ce', 3]"),
    ("method: {ce: 1}\n",
     "config file {path}: method must be a name or a list of names, got {'ce': 1}"),
])
def test_sections_of_the_wrong_shape(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config_file(path)
    assert str(err.value) == message.replace("{path}", str(path))
