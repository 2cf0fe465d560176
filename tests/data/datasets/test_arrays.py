"""ArrayDataset: in-memory inputs of any shape and dtype, through noise, loaders and views."""

import numpy as np
import pytest
import torch

from ignoise.data import (
    BATCH_KEYS,
    ArrayDataset,
    NoisyData,
    TwoViewDataset,
    build_loaders,
    make_eval_loader,
    make_train_loader,
)
from ignoise.noise import make_noise

N, K = 400, 5


def signals(n=N, shape=(2, 50), dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((n, *shape), generator=g)
    return x.to(dtype) if dtype.is_floating_point else (x * 1000).to(dtype)


def labels(n=N, seed=0):
    return np.random.default_rng(seed).integers(0, K, n)


def test_load_returns_the_row_as_a_tensor_without_copying():
    inputs = signals()
    ds = ArrayDataset(inputs, labels(), K)
    assert ds.load(7).data_ptr() == inputs[7].data_ptr()
    item = ds[7]
    assert torch.equal(item["x"], inputs[7])
    assert item["y"] == labels()[7] and item["index"] == 7 and "y_clean" not in item


def test_numpy_inputs_are_converted_once_and_share_memory():
    array = np.random.default_rng(0).integers(-2000, 2000, (N, 64)).astype(np.int16)
    ds = ArrayDataset(array, labels(), K, clean_targets=labels())
    assert isinstance(ds.inputs, torch.Tensor) and ds.inputs.dtype == torch.int16
    assert np.shares_memory(ds.inputs.numpy(), array)
    assert ds[3]["x"].dtype == torch.int16 and ds[3]["x"].shape == (64,)
    assert ds[3]["y_clean"] == labels()[3]


def test_with_transform_and_with_targets_keep_the_inputs():
    ds = ArrayDataset(signals(), labels(), K)
    scaled = ds.with_transform(lambda x: 2 * x)
    assert torch.equal(scaled[0]["x"], 2 * signals()[0])
    noisy = ds.with_targets((labels() + 1) % K)
    assert noisy.inputs is ds.inputs
    assert noisy[0]["y"] == (labels()[0] + 1) % K and noisy[0]["y_clean"] == labels()[0]


@pytest.mark.parametrize(
    ("inputs", "targets", "error", "message"),
    [
        (torch.zeros(10, 3), np.zeros(9, dtype=int), ValueError,
         r"inputs has 10 rows \(shape \(10, 3\)\) but targets has 9 labels"),
        (torch.tensor(3.0), np.zeros(1, dtype=int), ValueError, r"got a 0-d tensor \(3\.0\)"),
        ([[0.0], [1.0]], np.zeros(2, dtype=int), TypeError,
         "torch.Tensor or numpy.ndarray of shape \\(N, ...\\), got list"),
        (np.array(["a", "b"]), np.zeros(2, dtype=int), TypeError, "numeric array, got dtype <U1"),
        (torch.zeros(2, 3), np.array([0, 7]), ValueError, r"targets\[1\] = 7 is out of range"),
    ],
)
def test_bad_inputs_name_the_value_and_what_was_expected(inputs, targets, error, message):
    with pytest.raises(error, match=message):
        ArrayDataset(inputs, targets, K)


@pytest.mark.parametrize(
    "inputs",
    [signals(shape=(3, 40)), signals(shape=(40,), dtype=torch.int16).numpy()],
    ids=["float32_NCL", "int16_NL"],
)
def test_symmetric_noise_through_from_datasets(inputs):
    clean = labels()
    train = ArrayDataset(inputs, clean, K)
    test = ArrayDataset(inputs[:50], labels(50, seed=1), K)
    data = NoisyData.from_datasets(train, test, noise="sym", noise_rate=0.4, seed=3)

    expected = make_noise("sym", clean, 0.4, K, seed=3)
    np.testing.assert_array_equal(data.train.targets, expected.noisy)
    np.testing.assert_array_equal(data.train.clean_targets, clean)
    differ = data.train.targets != clean
    np.testing.assert_array_equal(differ, data.noise.corrupted)
    assert data.noise.rate == differ.mean() == expected.rate
    assert data.noise.rate == pytest.approx(0.4, abs=1 / N)
    assert data.noise.kind == "sym" and data.name == "custom" and data.num_classes == K
    assert data.test is test and data.eval_train is data.train


def test_instance_noise_takes_the_flattened_inputs_as_features():
    inputs = signals(shape=(2, 30), dtype=torch.int16)
    train = ArrayDataset(inputs, labels(), K)
    data = NoisyData.from_datasets(train, train, noise="instance", noise_rate=0.3, seed=1)
    features = inputs.reshape(N, -1).numpy().astype(np.float32)
    expected = make_noise("instance", labels(), 0.3, K, features=features, seed=1)
    np.testing.assert_array_equal(data.train.targets, expected.noisy)
    assert data.noise.rate == expected.rate > 0


@pytest.mark.parametrize(
    ("shape", "dtype"), [((3, 40), torch.float32), ((40,), torch.int16)], ids=["NCL", "NL"]
)
def test_torch_loaders_yield_the_batch_contract(shape, dtype):
    train = ArrayDataset(signals(shape=shape, dtype=dtype), labels(), K)
    data = NoisyData.from_datasets(train, train, noise="sym", noise_rate=0.2)
    train_loader, eval_loader = build_loaders("torch", data.train, data.test, batch_size=64)

    batches = list(train_loader)
    assert len(batches) == 7
    first = batches[0]
    assert set(first) == set(BATCH_KEYS)
    assert first["x"].dtype == dtype and first["x"].shape == (64, *shape)
    assert first["y"].dtype == first["index"].dtype == first["y_clean"].dtype == torch.int64
    index = torch.cat([b["index"] for b in batches])
    assert sorted(index.tolist()) == list(range(N))
    y = torch.cat([b["y"] for b in batches])
    assert torch.equal(y, torch.as_tensor(data.train.targets)[index])
    assert torch.equal(torch.cat([b["x"] for b in batches]), data.train.inputs[index])

    evaluated = list(eval_loader)
    assert [len(b["index"]) for b in evaluated] == [128, 128, 128, 16]
    assert torch.equal(torch.cat([b["index"] for b in evaluated]), torch.arange(N))

    same = next(iter(make_train_loader(data.train, 64)))
    assert torch.equal(same["index"], first["index"])
    assert torch.equal(next(iter(make_eval_loader(data.test, 32)))["x"], data.test.inputs[:32])


def test_two_views_of_an_array_dataset_are_two_draws_of_its_transform():
    jitter = lambda x: x + torch.randn_like(x)
    ds = ArrayDataset(signals(), labels(), K, transform=jitter)
    item = TwoViewDataset(ds)[5]
    assert item["x"].shape == item["x2"].shape == (2, 50)
    assert not torch.equal(item["x"], item["x2"])
    assert (item["y"], item["index"]) == (labels()[5], 5)
