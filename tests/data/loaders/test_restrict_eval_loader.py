"""restrict_eval_loader: an evaluation pass over some samples only, each on exactly one rank,
for the torch, GPU-resident and FFCV evaluation loaders."""

import pytest
import torch
from conftest import require_ffcv_extra

from ignoise.data import (
    ArrayDataset,
    load_digits_dataset,
    make_eval_loader,
    make_train_loader,
    restrict_eval_loader,
)
from ignoise.data.loaders.gpu_loader import GPUResidentLoader
from ignoise.data.transforms import NORMALIZATION, eval_transform

WANTED = [5, 1, 9, 30, 17, 2, 44, 0, 23]


def cat(batches, key):
    return torch.cat([b[key] for b in batches])


def test_torch_loader_over_indices_splits_them_between_ranks_once():
    x = torch.arange(50.0).unsqueeze(1) * 10
    ds = ArrayDataset(x, torch.arange(50) % 3, 3)
    seen = []
    for rank in (0, 1):
        full = make_eval_loader(ds, 4, rank=rank, world_size=2)
        restricted = restrict_eval_loader(full, torch.tensor(WANTED))
        assert restricted.batch_size == 4 and restricted.dataset is ds
        batches = list(restricted)
        index = cat(batches, "index")
        assert index.tolist() == WANTED[rank::2]  # rank r takes indices[r], indices[r + 2], ...
        assert torch.equal(cat(batches, "x"), x[index])
        assert torch.equal(cat(batches, "y"), torch.as_tensor(ds.targets)[index])
        seen += index.tolist()
        assert len(list(full)) == 7  # the loader it came from still reads its whole shard
    assert sorted(seen) == sorted(WANTED)


def test_gpu_resident_loader_over_indices_gives_the_full_passs_rows():
    ds = load_digits_dataset(train=False)
    full = GPUResidentLoader(ds, 64, train=False, normalization=NORMALIZATION["digits"],
                             device="cpu")
    batches = list(full)
    everything = cat(batches, "x")
    assert cat(batches, "index").tolist() == list(range(len(ds)))
    wanted = torch.tensor(WANTED + [359, 100])
    restricted = restrict_eval_loader(full, wanted)
    assert isinstance(restricted, GPUResidentLoader) and len(restricted) == 1
    got = list(restricted)
    assert cat(got, "index").tolist() == wanted.tolist()
    assert torch.equal(cat(got, "x"), everything[wanted])
    assert torch.equal(cat(got, "y"), torch.as_tensor(ds.targets)[wanted])
    assert len(list(full)) == 6  # unchanged
    # ... and the same x as the torch loader's rows
    torch_rows = make_eval_loader(ds.with_transform(eval_transform("digits")), 64)
    torch.testing.assert_close(cat(list(restrict_eval_loader(torch_rows, wanted)), "x"),
                               everything[wanted], atol=1e-5, rtol=0)
    shards = [list(restrict_eval_loader(
        GPUResidentLoader(ds, 4, train=False, normalization=NORMALIZATION["digits"],
                          device="cpu", rank=r, world_size=3), wanted)) for r in range(3)]
    assert sorted(sum((cat(s, "index").tolist() for s in shards), [])) == sorted(wanted.tolist())


def test_loaders_that_cannot_be_restricted_give_none():
    ds = ArrayDataset(torch.zeros(10, 2), [0, 1] * 5, 2)
    assert restrict_eval_loader(list(make_eval_loader(ds, 4)), [1, 2]) is None
    assert restrict_eval_loader(make_train_loader(ds, 4), [1, 2]) is None
    training = GPUResidentLoader(load_digits_dataset(train=False), 8, device="cpu",
                                 normalization=NORMALIZATION["digits"])
    assert restrict_eval_loader(training, [1, 2]) is None


@pytest.mark.ffcv
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_ffcv_eval_loader_over_indices_reads_those_samples(tmp_path):
    require_ffcv_extra()  # fails (never skips) when the extra does not import
    from ignoise.data.loaders.ffcv_loader import ffcv_eval_loader
    from ignoise.data.loaders.ffcv_writer import write_beton

    ds = load_digits_dataset(train=False)
    path = write_beton(ds, tmp_path / "d.beton", num_workers=1)
    # (one beton, and no full pass: FFCV's writer and each loader cost seconds here)
    full = ffcv_eval_loader(path, 100, normalization=NORMALIZATION["digits"], num_workers=1,
                            world_size=2, rank=1)
    wanted = torch.tensor(sorted(WANTED + [359, 100]))  # co-divide passes sorted indices
    got = list(restrict_eval_loader(full, wanted))
    assert cat(got, "index").tolist() == wanted[1::2].tolist()  # rank 1 of 2
    transform = eval_transform("digits")  # the full pass's x (test_ffcv.py checks that)
    want = torch.stack([transform(ds.load(i)) for i in wanted[1::2].tolist()])
    torch.testing.assert_close(cat(got, "x"), want, atol=1e-5, rtol=0)
    assert torch.equal(cat(got, "y"), torch.as_tensor(ds.targets)[wanted[1::2]])
    alone = ffcv_eval_loader(path, 4, normalization=NORMALIZATION["digits"], num_workers=1,
                             indices=wanted)
    assert cat(list(alone), "index").tolist() == wanted.tolist()
