"""Two augmented views and co-divide batches from the FFCV loader, on the CPU (needs the
``ffcv`` extra): the GPU-resident loader's batches, which test_two_view_loaders.py checks
against the torch loader."""

import numpy as np
import pytest
import torch
from conftest import require_ffcv_extra
from test_two_view_loaders import crop_flip_of, position_images

from ignoise.data import CODIVIDE_GROUPS, CoDivideBatchSampler, build_loaders, write_beton
from ignoise.data.loaders.ffcv_loader import ffcv_train_loader

pytestmark = [
    pytest.mark.ffcv,
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


@pytest.fixture(scope="module")
def ffcv_lib():
    return require_ffcv_extra()


def test_codivide_views_equal_the_gpu_loaders(ffcv_lib, tmp_path):
    """Through build_loaders, rank 1 of 2, a warm-up epoch and a divided one: the GPU-resident
    loader's indices and labels, and both views cropped and flipped by the same draws."""
    ds = position_images(96)
    labeled = torch.arange(len(ds)) % 4 != 0
    shard = {"seed": 5, "rank": 1, "world_size": 2}
    kwargs = {"batch_size": 6, "device": "cpu", "dataset_name": "cifar10", "views": 2, **shard}
    samplers = [CoDivideBatchSampler(len(ds), 6, **shard) for _ in range(2)]
    ours, _ = build_loaders("ffcv", ds, ds, cache_dir=tmp_path, num_workers=1,
                            codivide_sampler=samplers[0], **kwargs)
    gpu, _ = build_loaders("gpu", ds, ds, codivide_sampler=samplers[1], **kwargs)
    assert len(ours) == len(gpu) == len(samplers[0]) == 4
    for epoch in (0, 1):
        if epoch:
            for sampler in samplers:
                sampler.set_division(labeled, ~labeled)
        ours.set_epoch(epoch)
        gpu.set_epoch(epoch)
        for a, b in zip(ours, gpu, strict=True):
            for net, part in CODIVIDE_GROUPS:
                mine, want = a[net][part], b[net][part]
                assert set(mine) == set(want) == {"x", "x2", "y", "index", "y_clean"}
                for key in ("index", "y", "y_clean"):
                    assert torch.equal(mine[key], want[key])
                for key in ("x", "x2"):
                    torch.testing.assert_close(mine[key], want[key], atol=1e-5, rtol=0)
                assert torch.equal(crop_flip_of(mine["x2"])[3], mine["index"])
                assert not torch.equal(mine["x"], mine["x2"])
            if epoch:
                assert (~labeled)[a["b"]["labeled"]["index"]].all()  # B's subset
    assert ours.state_dict()["codivide_sampler"] == {"seed": 5, "epoch": 1}


def test_random_resized_crop_decodes_each_view_separately(ffcv_lib, tmp_path):
    ds = position_images(30)
    path = write_beton(ds, tmp_path / "rrc.beton", num_workers=1)
    sampler = CoDivideBatchSampler(len(ds), 3, seed=1)
    loader = ffcv_train_loader(path, 3, seed=1, codivide_sampler=sampler, views=2,
                               augmentation="random_resized_crop", crop_size=16, num_workers=1,
                               normalization=((0.0,) * 3, (1.0,) * 3))
    assert loader.batch_size == 3 and len(loader) == len(sampler) == 5
    batches = list(loader)
    sampler.set_epoch(0)
    lists = list(sampler)
    differ = 0
    for batch, flat in zip(batches, lists, strict=True):
        index = torch.cat([batch[net][part]["index"] for net, part in CODIVIDE_GROUPS])
        assert index.tolist() == flat
        for net, part in CODIVIDE_GROUPS:
            group = batch[net][part]
            for key in ("x", "x2"):
                assert group[key].shape == (3, 3, 16, 16)
                # Every pixel of a crop of sample i holds i in channel 2.
                ids = (group[key][:, 2] * 255).round().long()
                assert (ids == group["index"][:, None, None]).all()
            differ += int((group["x"] != group["x2"]).flatten(1).any(1).sum())
    assert differ >= 0.9 * 5 * 12  # two random-resized crops of a sample rarely coincide
    np.testing.assert_array_equal(batches[0]["a"]["labeled"]["y"].numpy(),
                                  np.asarray(ds.targets)[lists[0][:3]])
