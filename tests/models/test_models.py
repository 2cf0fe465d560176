"""Architectures: output shapes, parameter layout, local ImageNet weights, the digits CNN."""

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torchvision import models as tvm

from ignoise.data.datasets.digits import load_digits_dataset
from ignoise.data.transforms import NORMALIZATION
from ignoise.models import (
    MODEL_NAMES,
    DigitsCNN,
    PreActResNet,
    build_model,
    imagenet_weights_file,
    preact_resnet18,
    resnet,
)


def test_preact_resnet18_shape_and_dividemix_layout():
    net = preact_resnet18(num_classes=10).eval()
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert sum(p.numel() for p in net.parameters()) == 11_171_274
    keys = net.state_dict().keys()
    for key in (
        "conv1.weight",
        "bn1.running_mean",
        "layer1.1.conv2.weight",
        "layer2.0.shortcut.0.weight",
        "layer4.1.bn2.weight",
        "linear.bias",
    ):
        assert key in keys
    assert "layer1.0.shortcut.0.weight" not in keys  # identity shortcut in the first stage
    assert net.features(torch.randn(2, 3, 32, 32)).shape == (2, 512)


def test_preact_resnet_options():
    gray = preact_resnet18(num_classes=3, in_channels=1, final_norm=True).eval()
    assert gray(torch.randn(2, 1, 32, 32)).shape == (2, 3)
    assert isinstance(gray.final_norm[0], torch.nn.BatchNorm2d)
    assert isinstance(build_model("preact_resnet18", 100), PreActResNet)


@pytest.mark.parametrize("depth, features", [(34, 512), (50, 2048)])
def test_torchvision_resnets(depth, features):
    net = build_model(f"resnet{depth}", num_classes=7).eval()
    assert isinstance(net, tvm.ResNet) and net.fc.in_features == features
    with torch.no_grad():
        assert net(torch.randn(2, 3, 64, 64)).shape == (2, 7)


@pytest.fixture(scope="module")
def resnet34_weights(tmp_path_factory):
    """A randomly initialized ResNet-34 saved under torchvision's file name."""
    torch.manual_seed(0)
    state = tvm.resnet34(weights=None).state_dict()
    path = tmp_path_factory.mktemp("weights") / "resnet34-b627a593.pth"
    torch.save(state, path)
    return path, state


def _assert_loaded(net, state, num_classes):
    loaded = net.state_dict()
    assert loaded.keys() == state.keys()
    for key, value in state.items():
        if not key.startswith("fc."):
            torch.testing.assert_close(loaded[key], value, rtol=0, atol=0)
    assert net.fc.weight.shape == (num_classes, 512)
    assert not torch.equal(net.fc.weight[:num_classes], state["fc.weight"][:num_classes])


def test_pretrained_weights_from_a_file_and_from_the_hub_cache(
    resnet34_weights, monkeypatch, tmp_path
):
    path, state = resnet34_weights
    assert imagenet_weights_file(34) == path.name
    _assert_loaded(resnet(34, num_classes=5, pretrained=True, weights_path=path), state, 5)
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / path.name).symlink_to(path)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    _assert_loaded(build_model("resnet34", 14, pretrained=True), state, 14)


def test_missing_weights_name_every_path_tried(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    cached = tmp_path / "hub" / "checkpoints" / "resnet50-0676ba61.pth"
    with pytest.raises(
        FileNotFoundError, match=re.escape(str(cached)) + ".*Expected resnet50-0676ba61.pth"
    ):
        resnet(50, num_classes=10, pretrained=True)
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "resnet34-b627a593.pth"))):
        resnet(34, num_classes=10, pretrained=True, weights_path=tmp_path)


def test_weights_that_do_not_fit_raise_value_error_naming_the_file(tmp_path):
    path = tmp_path / "partial.pth"
    torch.save({"conv1.weight": torch.zeros(64, 3, 3, 3)}, path)
    with pytest.raises(
        ValueError,
        match=re.escape(str(path)) + " does not hold ResNet-34 weights: "
        r"217 keys missing \(first \['bn1.weight'.*1 keys of another shape",
    ):
        resnet(34, num_classes=10, pretrained=True, weights_path=path)
    for name, content in [
        ("list.pth", [1, 2]),
        ("nested.pth", {"state_dict": {"a": torch.zeros(1)}}),
    ]:
        torch.save(content, tmp_path / name)
        with pytest.raises(
            ValueError, match=re.escape(str(tmp_path / name)) + " is not a state dict"
        ):
            resnet(34, num_classes=10, pretrained=True, weights_path=tmp_path / name)
    (tmp_path / "junk.pth").write_bytes(b"junk")
    with pytest.raises(ValueError, match="junk.pth is not a state dict"):
        resnet(34, num_classes=10, pretrained=True, weights_path=tmp_path / "junk.pth")


def test_bad_resnet_arguments(tmp_path):
    with pytest.raises(ValueError, match=r"depth 18.*\[34, 50\]"):
        resnet(18, num_classes=10)
    with pytest.raises(ValueError, match="pretrained is False"):
        resnet(34, num_classes=10, weights_path=tmp_path)
    with pytest.raises(ValueError, match="resnet50 takes 3-channel images, got in_channels=1"):
        build_model("resnet50", 10, in_channels=1)


def test_unknown_model_lists_the_known_names():
    assert MODEL_NAMES == ("preact_resnet18", "resnet34", "resnet50", "digits_cnn")
    with pytest.raises(ValueError, match=r"unknown model 'vgg16'.*'preact_resnet18', 'resnet34'"):
        build_model("vgg16", 10)


def test_digits_cnn_shape_and_dropout():
    net = build_model("digits_cnn", 10, in_channels=1)
    assert isinstance(net, DigitsCNN) and isinstance(net.dropout, torch.nn.Identity)
    assert net.eval()(torch.randn(2, 1, 8, 8)).shape == (2, 10)
    assert DigitsCNN(dropout=0.5).dropout.p == 0.5


def _digits_tensors(train):
    ds = load_digits_dataset(train=train)
    (mean,), (std,) = NORMALIZATION["digits"]
    x = (torch.from_numpy(ds.images).permute(0, 3, 1, 2).float() / 255 - mean) / std
    return x, torch.from_numpy(ds.targets)


def test_digits_cnn_learns_clean_digits_in_three_epochs():
    torch.manual_seed(0)
    (x, y), (x_test, y_test) = _digits_tensors(True), _digits_tensors(False)
    net = DigitsCNN()
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    for _ in range(3):
        net.train()
        for idx in torch.randperm(len(x)).split(64):
            opt.zero_grad()
            F.cross_entropy(net(x[idx]), y[idx]).backward()
            opt.step()
    with torch.no_grad():
        accuracy = (net.eval()(x_test).argmax(1) == y_test).float().mean().item()
    assert accuracy > 0.9
    assert np.isclose(x.mean().item(), 0, atol=1e-3) and np.isclose(x.std().item(), 1, atol=1e-3)
