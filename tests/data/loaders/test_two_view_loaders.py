"""Two augmented views and co-divide batches from the GPU-resident loader (and the torch
loader it must agree with), on the CPU. The FFCV loader's are in test_two_view_ffcv.py."""

import numpy as np
import pytest
import torch
from conftest import StandInPairedSampler

from ignoise.data import (
    CODIVIDE_GROUPS,
    PHASE_GROUPS,
    ArrayImageDataset,
    CoDivideBatchSampler,
    GPUResidentLoader,
    TwoViewDataset,
    build_loaders,
    load_digits_dataset,
    loader_sampler,
    make_codivide_loader,
)
from ignoise.data.transforms import NORMALIZATION, train_transform

SIZE, PAD = 32, 4  # CIFAR's crop: RandomCrop(32, padding=4) and a flip


def position_images(n):
    """``n`` CIFAR-sized images whose pixels say where they are: channel 0 is the row + 1,
    channel 1 the column + 1, channel 2 the sample's id (zero padding reads 0 everywhere)."""
    rows = np.arange(1, SIZE + 1, dtype=np.uint8)
    images = np.empty((n, SIZE, SIZE, 3), dtype=np.uint8)
    images[..., 0] = rows[:, None]
    images[..., 1] = rows[None, :]
    images[..., 2] = np.arange(n, dtype=np.uint8)[:, None, None]
    labels = np.arange(n) % 10
    return ArrayImageDataset(images, labels, 10, clean_targets=labels)


def small_digits(n):
    """The first ``n`` digits, with noisy labels."""
    digits = load_digits_dataset()
    labels = digits.targets[:n]
    return ArrayImageDataset(digits.images[:n], np.roll(labels, 3), 10, clean_targets=labels)


def crop_flip_of(x):
    """``(row offset, column offset, flipped)`` of each normalized CIFAR crop of
    :func:`position_images`, read at the center, which a 4-pixel crop never moves into the
    padding; offsets in ``[0, 8]`` as torchvision's padded RandomCrop draws them."""
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in NORMALIZATION["cifar10"])
    pixels = ((x * std + mean) * 255).round().long()
    center, right = pixels[:, :, 16, 16], pixels[:, 1, 16, 17]
    flipped = right < center[:, 1]
    rows = center[:, 0] - 1 - 16 + PAD
    cols = center[:, 1] - 1 + PAD - torch.where(flipped, 15, 16)
    return rows, cols, flipped, center[:, 2]


def codivide_views(loader, epochs):
    """Every training batch's (index, x, x2) over ``epochs`` epochs, all four groups."""
    index, x, x2 = [], [], []
    for epoch in range(epochs):
        loader_sampler(loader).set_epoch(epoch)
        for batch in loader:
            for net, part in CODIVIDE_GROUPS:
                group = batch[net][part]
                index.append(group["index"])
                x.append(group["x"])
                x2.append(group["x2"])
    return torch.cat(index), torch.cat(x), torch.cat(x2)


def draws_of(index, x, x2):
    r1, c1, f1, id1 = crop_flip_of(x)
    r2, c2, f2, id2 = crop_flip_of(x2)
    # Both views are crops of the sample the batch says they are.
    assert torch.equal(id1, index) and torch.equal(id2, index)
    return (r1, c1, f1), (r2, c2, f2)


def test_gpu_views_differ_and_follow_the_torch_transforms_statistics():
    ds = position_images(240)
    sampler = CoDivideBatchSampler(len(ds), 20, seed=1)
    gpu, _ = build_loaders("gpu", ds, ds, batch_size=20, device="cpu", dataset_name="cifar10",
                           seed=1, codivide_sampler=sampler, views=2)
    torch.manual_seed(0)  # torchvision's crops and flips draw from the global generator
    torch_loader = make_codivide_loader(
        TwoViewDataset(ds.with_transform(train_transform("cifar10"))),
        CoDivideBatchSampler(len(ds), 20, seed=1))
    stats = {}
    for name, loader in (("gpu", gpu), ("torch", torch_loader)):
        first, second = draws_of(*codivide_views(loader, epochs=2))
        n = len(first[0])
        assert n == 2 * 6 * 80  # 2 epochs x ceil(240 / 40) iterations x 4 groups of 20
        same = (first[0] == second[0]) & (first[1] == second[1]) & (first[2] == second[2])
        # Independent views coincide with probability 1 / (9 * 9 * 2).
        assert same.float().mean() < 0.03
        for (rows, cols, flips) in (first, second):
            assert rows.min() >= 0 and rows.max() <= 2 * PAD and cols.min() >= 0
            assert cols.max() <= 2 * PAD
            assert abs(flips.float().mean() - 0.5) < 0.05
        stats[name] = [torch.bincount(torch.cat([first[k], second[k]]), minlength=9).float()
                       / (2 * n) for k in (0, 1)]
    for gpu_hist, torch_hist in zip(stats["gpu"], stats["torch"]):
        # Both uniform over the 9 offsets: 1/9 each, within sampling error of 1,920 draws.
        assert (gpu_hist - 1 / 9).abs().max() < 0.03
        assert (gpu_hist - torch_hist).abs().sum() / 2 < 0.06  # total variation distance


@pytest.mark.parametrize("world_size, alternate", [(1, "iteration"), (2, "iteration"),
                                                  (2, "epoch")])
def test_codivide_batches_are_the_torch_loaders_on_every_rank(world_size, alternate):
    """Digits have no augmentation: both views, the labels and the indices are the torch
    loader's, through a warm-up epoch and a divided one; under per-epoch alternation each
    batch is one network's two groups."""
    train, test = small_digits(120), small_digits(10)
    labeled = torch.arange(len(train)) % 3 != 0
    groups = PHASE_GROUPS if alternate == "epoch" else CODIVIDE_GROUPS
    for rank in range(world_size):
        shard = {"seed": 4, "rank": rank, "world_size": world_size}
        samplers = [CoDivideBatchSampler(len(train), 8, alternate=alternate, **shard)
                    for _ in range(2)]
        ours, _ = build_loaders("gpu", train, test, batch_size=8, device="cpu",
                                dataset_name="digits", codivide_sampler=samplers[0], views=2,
                                **shard)
        theirs, _ = build_loaders("torch", train.with_transform(train_transform("digits")),
                                  test, batch_size=8, codivide_sampler=samplers[1], views=2,
                                  **shard)
        assert loader_sampler(ours) is ours and loader_sampler(theirs) is samplers[1]
        assert len(ours) == len(theirs) == len(samplers[0])
        for epoch in (0, 1):
            if epoch == 1:
                for sampler in samplers:
                    sampler.set_division(labeled, ~labeled)
            for loader in (ours, theirs):
                loader_sampler(loader).set_epoch(epoch)
            for a, b in zip(ours, theirs, strict=True):
                for path in groups:
                    mine, want = a, b
                    for key in path:
                        mine, want = mine[key], want[key]
                    assert set(mine) == set(want) == {"x", "x2", "y", "index", "y_clean"}
                    for key in ("index", "y", "y_clean"):
                        assert torch.equal(mine[key], want[key])
                    for key in ("x", "x2"):
                        torch.testing.assert_close(mine[key], want[key], atol=1e-5, rtol=0)
                first = a if alternate == "epoch" else a["a"]
                if epoch == 1 and alternate == "iteration":  # A's batch from A's subsets
                    assert labeled[first["labeled"]["index"]].all()
                    assert not labeled[first["unlabeled"]["index"]].any()
        state = ours.state_dict()
        assert state["epoch"] == 2 and state["codivide_sampler"] == {"seed": 4, "epoch": 1}


def test_two_views_are_one_seeded_draw_and_resume_with_the_epoch():
    ds = position_images(40)
    make = lambda: GPUResidentLoader(ds, 8, seed=2, views=2,
                                     normalization=NORMALIZATION["cifar10"])
    first = [(b["x"], b["x2"]) for b in make()]
    again = [(b["x"], b["x2"]) for b in make()]
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(first, again))
    assert not any(torch.equal(x, x2) for x, x2 in first)
    one = GPUResidentLoader(ds, 8, seed=2, normalization=NORMALIZATION["cifar10"])
    # One view draws what it always drew; the second view's draws come after the first's.
    assert not torch.equal(next(iter(one))["x"], first[0][0])
    resumed = make()
    resumed.load_state_dict({"seed": 2, "epoch": 0})
    assert torch.equal(next(iter(resumed))["x2"], first[0][1])


def test_paired_batches_carry_both_views():
    ds = position_images(40)
    sampler = StandInPairedSampler(ds.targets, 5, seed=3)
    loader = GPUResidentLoader(ds, 5, seed=3, paired_sampler=sampler, views=2,
                               normalization=NORMALIZATION["cifar10"])
    sampler_lists = list(sampler)
    for batch, flat in zip(loader, sampler_lists, strict=True):
        assert batch["a"]["index"].tolist() == flat[:5] and batch["b"]["index"].tolist() == flat[5:]
        for half in ("a", "b"):
            x, x2 = batch[half]["x"], batch[half]["x2"]
            assert x.shape == x2.shape == (5, 3, SIZE, SIZE)
            assert torch.equal(crop_flip_of(x)[3], batch[half]["index"])


def test_bad_view_and_sampler_arguments_are_refused():
    ds = position_images(8)
    norm = NORMALIZATION["cifar10"]
    with pytest.raises(ValueError, match="views must be one of"):
        GPUResidentLoader(ds, 4, views=3, normalization=norm)
    with pytest.raises(ValueError, match="views must be one of"):
        GPUResidentLoader(ds, 4, views=2, train=False, normalization=norm)
    with pytest.raises(ValueError, match="codivide_sampler only makes sense"):
        GPUResidentLoader(ds, 4, train=False, codivide_sampler=CoDivideBatchSampler(8, 1),
                          normalization=norm)
    with pytest.raises(ValueError, match="not both"):
        GPUResidentLoader(ds, 1, paired_sampler=StandInPairedSampler(ds.targets, 1),
                          codivide_sampler=CoDivideBatchSampler(8, 1), normalization=norm)
    with pytest.raises(ValueError, match="views must be 1 or 2"):
        build_loaders("torch", ds, ds, batch_size=4, views=0)
