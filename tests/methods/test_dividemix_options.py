"""DivideMix's test prediction: the sum of the two networks' logits (its code), or the mean of
their softmax outputs (``test_ensemble: probabilities``)."""

import pytest
import torch

from ignoise.config import to_dict
from ignoise.data import (
    ArrayImageDataset,
    NoisyData,
    eval_transform,
    load_digits_dataset,
    train_transform,
)
from ignoise.engine import Run
from ignoise.methods import get_method


def _data() -> NoisyData:
    train, test = load_digits_dataset(), load_digits_dataset(train=False)
    subset = lambda ds, n, transform: ArrayImageDataset(ds.images[:n], ds.targets[:n], 10,
                                                        transform=transform("digits"))
    return NoisyData.from_datasets(subset(train, 128, train_transform),
                                   subset(test, 360, eval_transform), noise="sym",
                                   noise_rate=0.4, seed=0, name="digits")


def test_the_test_accuracy_is_of_the_configured_ensemble():
    data, predictions = _data(), {}
    x = torch.stack([data.test[i]["x"] for i in range(len(data.test))])
    y = torch.as_tensor(data.test.targets)
    for ensemble in ("logits", "probabilities"):
        spec = get_method("dividemix")
        cfg = spec.config(dataset="digits", model="digits_cnn", batch_size=32, epochs=2,
                          warmup_epochs=1, noise="sym", noise_rate=0.5, output_dir=None,
                          progress=False, cpu=True, test_ensemble=ensemble, seed=3)
        parts = spec.build(Run.from_config(cfg, method="dividemix", config=to_dict(cfg)), data,
                           cfg)
        nets = [parts.to_save[f"model_{i}"].eval() for i in (0, 1)]
        # Untrained networks whose logits differ in scale: the two ensembles disagree.
        with torch.no_grad():
            nets[0].linear.weight.mul_(8.0)
            logits = [net(x) for net in nets]
        predictions[ensemble] = ((logits[0] + logits[1]).argmax(1) if ensemble == "logits"
                                 else (logits[0].softmax(1) + logits[1].softmax(1)).argmax(1))
        evaluator, loader = parts.evaluators["test"]
        accuracy = evaluator.run(loader).metrics["accuracy"]
        assert accuracy == pytest.approx(float((predictions[ensemble] == y).float().mean()))
    assert bool((predictions["logits"] != predictions["probabilities"]).any())
