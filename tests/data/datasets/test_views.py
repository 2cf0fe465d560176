"""TwoViewDataset over an ignoise dataset and over any dataset of batch-contract dicts."""

import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from ignoise.data import TwoViewDataset, load_digits_dataset, train_transform


class ContractDataset(Dataset):
    """A plain torch dataset of batch-contract dicts with a random transform."""

    def __init__(self, n=12):
        self.x = torch.arange(n * 6, dtype=torch.float32).reshape(n, 6)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        x = self.x[i] + torch.randn(6)
        return {"x": x, "y": i % 3, "index": i, "y_clean": (i + 1) % 3}


def test_a_plain_dataset_gives_two_independent_draws_and_the_same_labels():
    views = TwoViewDataset(ContractDataset())
    item = views[4]
    assert list(item) == ["x", "x2", "y", "index", "y_clean"]
    assert not torch.equal(item["x"], item["x2"])
    assert (item["y"], item["index"], item["y_clean"]) == (1, 4, 2)
    assert (item["x"] - item["x2"]).abs().max() < 12  # both near row 4, not another row
    batch = next(iter(DataLoader(views, batch_size=5)))
    assert batch["x"].shape == batch["x2"].shape == (5, 6)
    assert batch["index"].tolist() == [0, 1, 2, 3, 4]


def test_an_ignoise_dataset_is_loaded_once_and_transformed_twice():
    ds = load_digits_dataset(transform=train_transform("digits"))
    torch.manual_seed(0)
    item = TwoViewDataset(ds)[9]
    raw = ds.load(9)
    torch.manual_seed(0)
    expected = (ds.transform(raw), ds.transform(raw))
    assert torch.equal(item["x"], expected[0]) and torch.equal(item["x2"], expected[1])
    assert list(item) == ["x", "x2", "y", "index", "y_clean"]
    assert (item["y"], item["index"], item["y_clean"]) == (ds.targets[9], 9, ds.clean_targets[9])
    assert TwoViewDataset(ds).num_classes == 10  # attributes of the wrapped dataset


def test_items_that_are_not_batch_contract_dicts_are_refused_at_construction():
    class Pairs(Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return torch.zeros(2), i

    class NoIndex(Pairs):
        def __getitem__(self, i):
            return {"x": torch.zeros(2), "y": 0}

    with pytest.raises(TypeError, match=r"Pairs\[0\] is tuple"):
        TwoViewDataset(Pairs())
    with pytest.raises(TypeError, match=r"NoIndex\[0\] is a dict with keys \['x', 'y'\]"):
        TwoViewDataset(NoIndex())
    with pytest.raises(TypeError, match="needs a map-style dataset .* got int"):
        TwoViewDataset(3)
