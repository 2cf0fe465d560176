"""``--loader torch|gpu|ffcv`` train the same way: same batches, same accuracy within noise."""

import pytest

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("loader", ["gpu", pytest.param("ffcv", marks=pytest.mark.ffcv)])
def test_every_loader_trains_ce_like_the_torch_loader(recipe, tmp_path, loader):
    if loader == "ffcv":
        pytest.importorskip("ffcv")
    args = ["--dataset", "digits", "--noise", "sym", "--noise-rate", "0.2", "--epochs", "3"]
    torch_run = recipe("ce", *args, "--output-dir", str(tmp_path / "torch"))
    other = recipe("ce", *args, "--loader", loader, "--cache-dir", str(tmp_path / "cache"),
                   "--output-dir", str(tmp_path / loader))
    # Digits have no augmentation, so both loaders feed the same batches in the same order:
    # the first epoch's accuracy agrees up to float rounding of the normalization.
    first = [r["history"][0]["test_accuracy"] for r in (torch_run, other)]
    assert abs(first[0] - first[1]) <= 2 / 360
    assert abs(torch_run["test_acc_last"] - other["test_acc_last"]) < 0.06
    assert other["test_acc_last"] > 0.8
    assert all(row["test_num_samples"] == 360 for row in other["history"])
