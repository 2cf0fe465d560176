import pytest

from ignoise.engine import recipe_parser, resolve_config


@pytest.fixture()
def config(tmp_path):
    path = tmp_path / "m.yaml"
    path.write_text(
        "method: m\n"
        "defaults: {model: preact_resnet18, epochs: 200, batch_size: 128, lr: 0.02}\n"
        "datasets:\n  digits: {model: digits_cnn, epochs: 30}\n"
    )
    return path


def test_defaults_then_dataset_then_flags(config):
    cfg = resolve_config(recipe_parser("t").parse_args(["--lr", "0.5"]), config)
    assert (cfg.model, cfg.epochs, cfg.batch_size, cfg.lr) == ("digits_cnn", 30, 128, 0.5)
    assert cfg.noise == "none" and cfg.resume is False and cfg.progress is True
    cfg = resolve_config(recipe_parser("t").parse_args(["--dataset", "cifar10"]), config)
    assert (cfg.model, cfg.epochs) == ("preact_resnet18", 200)


def test_bad_values_are_named(config, tmp_path):
    parse = recipe_parser("t").parse_args
    with pytest.raises(ValueError, match="noise rate 1.5 is outside"):
        resolve_config(parse(["--noise-rate", "1.5"]), config)
    with pytest.raises(ValueError, match="epochs must be a positive integer, got 0"):
        resolve_config(parse(["--epochs", "0"]), config)
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        resolve_config(parse(["--config", str(tmp_path / "nope.yaml")]), config)
    bad = tmp_path / "bad.yaml"
    bad.write_text("epochs: 3\n")
    with pytest.raises(ValueError, match="keys among method, defaults, datasets"):
        resolve_config(parse(["--config", str(bad)]), config)
