"""The GPU-resident loader and its batched augmentation ops, on the CPU."""

import numpy as np
import pytest
import torch
from conftest import StandInPairedSampler

from ignoise.data import (
    ArrayImageDataset,
    FileImageDataset,
    build_loaders,
    load_digits_dataset,
    loader_sampler,
    make_eval_loader,
    make_train_loader,
)
from ignoise.data.loaders.gpu_augment import (
    augmentation_generator,
    crop,
    draw_crop_offsets,
    draw_flips,
    hflip,
    normalization_constants,
    normalize,
    pad,
)
from ignoise.data.loaders.gpu_loader import GPUResidentLoader
from ignoise.data.transforms import NORMALIZATION, eval_transform

UNIT = ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))  # x = pixels / 255


def make_dataset(n=40, size=6, channels=3, clean=True, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, size, size, channels), dtype=np.uint8)
    labels = rng.integers(0, 4, n)
    noisy = np.where(rng.random(n) < 0.3, (labels + 1) % 4, labels)
    return ArrayImageDataset(images, noisy, 4, clean_targets=labels if clean else None)


def reference_crop_flip(images_nhwc, index, offsets, flips, padding, mode):
    """Per-sample numpy crop and flip: the plain implementation the batched ops must match."""
    out = []
    for i, (r, c), f in zip(index, offsets, flips):
        img = images_nhwc[i]
        padded = np.pad(img, ((padding, padding), (padding, padding), (0, 0)),
                        mode="constant" if mode == "zero" else "reflect")
        window = padded[r:r + img.shape[0], c:c + img.shape[1]]
        out.append(window[:, ::-1] if f else window)
    return torch.from_numpy(np.stack(out).transpose(0, 3, 1, 2).copy())


@pytest.mark.parametrize("mode", ["zero", "reflect"])
def test_crop_and_flip_equal_a_per_sample_reference(mode):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (10, 7, 5, 3), dtype=np.uint8)
    g = augmentation_generator(0, 0)
    index = torch.tensor([3, 0, 9, 3, 5, 1])
    offsets, flips = draw_crop_offsets(6, 3, g), draw_flips(6, g)
    x = torch.from_numpy(images).permute(0, 3, 1, 2)
    want = reference_crop_flip(images, index.tolist(), offsets.tolist(), flips.tolist(), 3, mode)
    assert torch.equal(hflip(crop(pad(x, 3, mode), offsets, (7, 5), index), flips), want)
    assert torch.equal(crop(pad(x, 3, mode), offsets, (7, 5), index, flips), want)  # one gather
    # Without an index, the batch itself is cropped.
    assert torch.equal(crop(pad(x[index], 3, mode), offsets, (7, 5)), crop(pad(x, 3, mode),
                                                                            offsets, (7, 5), index))


def test_draws_cover_every_offset_and_both_flips():
    g = augmentation_generator(5, 2, rank=1)
    offsets, flips = draw_crop_offsets(2000, 4, g), draw_flips(2000, g)
    assert offsets.dtype == torch.int64 and set(offsets.unique().tolist()) == set(range(9))
    assert 0.4 < flips.float().mean() < 0.6
    # The generator is a function of (seed, epoch, rank) alone.
    assert torch.equal(draw_crop_offsets(5, 4, augmentation_generator(5, 2, rank=1)), offsets[:5])
    assert not torch.equal(draw_crop_offsets(50, 4, augmentation_generator(5, 2, rank=0)),
                           offsets[:50])


def test_normalize_matches_torchvision():
    ds = load_digits_dataset(train=False)
    transform = eval_transform("digits")
    want = torch.stack([transform(ds.load(i)) for i in range(20)])
    x = torch.from_numpy(ds.images[:20]).permute(0, 3, 1, 2)
    got = normalize(x, *normalization_constants(*NORMALIZATION["digits"]))
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, want, atol=1e-5, rtol=0)


def test_eval_mode_equals_the_torch_eval_loader():
    ds = load_digits_dataset(train=False)
    gpu = GPUResidentLoader(ds, 64, train=False, normalization=NORMALIZATION["digits"])
    torch_loader = make_eval_loader(ds.with_transform(eval_transform("digits")), 64)
    assert len(gpu) == len(torch_loader) == 6  # 360 = 5 x 64 + 40: the last batch is kept
    for ours, theirs in zip(gpu, torch_loader, strict=True):
        assert set(ours) == {"x", "y", "index", "y_clean"}
        for key in ("y", "index", "y_clean"):
            assert ours[key].dtype == torch.int64 and torch.equal(ours[key], theirs[key])
        torch.testing.assert_close(ours["x"], theirs["x"], atol=1e-5, rtol=0)


def test_training_order_is_the_torch_loaders_and_every_index_comes_once():
    ds = load_digits_dataset(train=True)
    gpu = GPUResidentLoader(ds, 100, seed=7, augmentation="none",
                            normalization=NORMALIZATION["digits"])
    torch_loader = make_train_loader(ds.with_transform(eval_transform("digits")), 100, seed=7)
    for epoch in range(2):
        gpu.set_epoch(epoch)
        torch_loader.sampler.set_epoch(epoch)
        ours, theirs = list(gpu), list(torch_loader)
        index = torch.cat([b["index"] for b in ours])
        assert sorted(index.tolist()) == list(range(len(ds)))
        assert torch.equal(index, torch.cat([b["index"] for b in theirs]))
        for a, b in zip(ours, theirs, strict=True):
            torch.testing.assert_close(a["x"], b["x"], atol=1e-5, rtol=0)
            assert torch.equal(a["y"], b["y"]) and torch.equal(a["y_clean"], b["y_clean"])


@pytest.mark.parametrize("world_size", [2, 3])
def test_rank_shards_cover_training_and_split_evaluation_exactly(world_size):
    ds = make_dataset(n=41)
    norm = NORMALIZATION["cifar10"]
    train = [GPUResidentLoader(ds, 4, seed=2, rank=r, world_size=world_size, normalization=norm)
             for r in range(world_size)]
    shards = [torch.cat([b["index"] for b in loader]).tolist() for loader in train]
    assert len({len(s) for s in shards}) == 1
    assert set().union(*map(set, shards)) == set(range(41))
    evals = [GPUResidentLoader(ds, 4, train=False, rank=r, world_size=world_size,
                               normalization=norm) for r in range(world_size)]
    slices = [torch.cat([b["index"] for b in loader]).tolist() for loader in evals]
    assert sorted(sum(slices, [])) == list(range(41))  # disjoint and complete
    assert slices[1] == list(range(1, 41, world_size))


@pytest.mark.parametrize("mode", ["zero", "reflect"])
def test_training_augmentation_is_the_reference_on_the_seeded_draws(mode):
    ds = make_dataset(n=30)
    loader = GPUResidentLoader(ds, 8, seed=4, rank=1, world_size=2, padding=2,
                               padding_mode=mode, normalization=UNIT)
    loader.set_epoch(3)
    batches = list(loader)
    g = augmentation_generator(4, 3, rank=1)
    for batch in batches:
        n = len(batch["index"])
        offsets, flips = draw_crop_offsets(n, 2, g), draw_flips(n, g)
        want = reference_crop_flip(ds.images, batch["index"].tolist(), offsets.tolist(),
                                   flips.tolist(), 2, mode)
        assert torch.equal((batch["x"] * 255).round().to(torch.uint8), want)
        assert torch.equal(batch["y"], torch.as_tensor(ds.targets)[batch["index"]])


def test_same_seed_same_batches_and_resume_continues_the_epochs():
    ds = make_dataset(n=30)

    def run(loader, epochs):
        return [[b["x"] for b in loader] for _ in range(epochs)]

    first = GPUResidentLoader(ds, 8, seed=1, normalization=UNIT)
    epochs = run(first, 3)  # iter advances the epoch: 0, 1, 2
    again = run(GPUResidentLoader(ds, 8, seed=1, normalization=UNIT), 3)
    assert all(torch.equal(a, b) for e, f in zip(epochs, again) for a, b in zip(e, f))
    assert not torch.equal(epochs[0][0], epochs[1][0])

    interrupted = GPUResidentLoader(ds, 8, seed=1, normalization=UNIT)
    run(interrupted, 2)
    resumed = GPUResidentLoader(ds, 8, seed=99, normalization=UNIT)
    resumed.load_state_dict(interrupted.state_dict())
    assert resumed.state_dict() == {"seed": 1, "epoch": 2}
    assert all(torch.equal(a, b) for a, b in zip(run(resumed, 1)[0], epochs[2]))
    resumed.set_epoch(0)  # an explicit epoch wins, as a trainer's set_epoch does
    assert all(torch.equal(a, b) for a, b in zip(run(resumed, 1)[0], epochs[0]))
    assert loader_sampler(resumed) is resumed


def test_paired_mode_keeps_the_samplers_index_lists():
    ds = make_dataset(n=40)
    sampler = StandInPairedSampler(ds.targets, 6, seed=3)
    loader = GPUResidentLoader(ds, 6, seed=3, paired_sampler=sampler, normalization=UNIT)
    loader.set_epoch(2)
    batches = list(loader)
    sampler.set_epoch(2)
    lists = list(sampler)
    assert len(batches) == len(loader) == len(lists) == 6
    targets = torch.as_tensor(ds.targets)
    for batch, flat in zip(batches, lists):
        assert set(batch) == {"a", "b"}
        assert batch["a"]["index"].tolist() == flat[:6] and batch["b"]["index"].tolist() == flat[6:]
        for half in ("a", "b"):
            assert torch.equal(batch[half]["y"], targets[batch[half]["index"]])
            assert batch[half]["x"].shape == (6, 3, 6, 6) and "y_clean" in batch[half]
        hist = [torch.bincount(batch[h]["y"], minlength=4) for h in ("a", "b")]
        assert torch.equal(hist[0], hist[1])
    state = loader.state_dict()
    assert state["epoch"] == 3 and state["paired_sampler"] == {"seed": 3, "epoch": 2}


def test_one_channel_no_clean_labels_and_drop_last():
    ds = make_dataset(n=21, channels=1, clean=False)
    loader = GPUResidentLoader(ds, 5, drop_last=True, augmentation="flip", normalization=((0.5,),
                                                                                            (0.5,)))
    batches = list(loader)
    assert len(batches) == len(loader) == 4
    assert all(set(b) == {"x", "y", "index"} and b["x"].shape == (5, 1, 6, 6) for b in batches)


def test_bad_inputs_are_refused_at_the_boundary(tmp_path):
    files = FileImageDataset([tmp_path / "a.png", tmp_path / "b.png"], [0, 1], 2)
    with pytest.raises(TypeError, match="ArrayImageDataset"):
        GPUResidentLoader(files, 2, normalization=UNIT)
    with pytest.raises(ValueError, match="1 channel means but the images have 3"):
        GPUResidentLoader(make_dataset(), 2, normalization=((0.5,), (0.5,)))
    with pytest.raises(ValueError, match="unknown augmentation"):
        GPUResidentLoader(make_dataset(), 2, augmentation="mixup", normalization=UNIT)


def test_build_loaders_gpu_kind():
    train, test = build_loaders("gpu", load_digits_dataset(), load_digits_dataset(train=False),
                                batch_size=50, device="cpu", dataset_name="digits", seed=1)
    assert isinstance(train, GPUResidentLoader) and not test.train
    assert sum(len(b["index"]) for b in test) == 360
    assert train.augmentation == "none" and len(train) == 29
    with pytest.raises(ValueError, match="dataset_name"):
        build_loaders("gpu", load_digits_dataset(), load_digits_dataset(False), batch_size=8)
