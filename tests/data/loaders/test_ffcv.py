"""The .beton writer and the FFCV loaders, on the CPU (needs the ``ffcv`` extra: without it these
tests fail, unless ``IGNOISE_WITH_FFCV=0`` leaves them out)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import StandInPairedSampler, accelerate_launch, require_ffcv_extra
from PIL import Image

from ignoise.data import (
    ArrayDataset,
    ArrayImageDataset,
    FileImageDataset,
    ShardedEvalSampler,
    build_loaders,
    load_digits_dataset,
    make_train_loader,
)
from ignoise.data.loaders.ffcv_writer import (
    FFCV_EXTRA_MESSAGE,
    cached_beton,
    require_ffcv,
    write_beton,
)
from ignoise.data.loaders.gpu_augment import augmentation_generator, draw_crop_offsets, draw_flips
from ignoise.data.loaders.gpu_loader import GPUResidentLoader
from ignoise.data.transforms import NORMALIZATION, eval_transform

pytestmark = [
    pytest.mark.ffcv,
    # numba's dispatcher finalizer sometimes trips over a KeyError when a JPEG loader's decoder
    # is garbage-collected (FFCV compiles one per loader): harmless, and only seen because
    # these tests create and drop many loaders.
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

UNIT = ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))  # x = pixels / 255
WORKER = Path(__file__).with_name("ffcv_eval_worker.py")
# Tests share two cores with others: one FFCV thread each.
THREADS = 1


def pixels(x):
    return (x * 255).round().to(torch.uint8)


def make_dataset(n=45, size=8, channels=3, clean=True, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, size, size, channels), dtype=np.uint8)
    labels = rng.integers(0, 5, n)
    noisy = np.where(rng.random(n) < 0.3, (labels + 1) % 5, labels)
    return ArrayImageDataset(images, noisy, 5, clean_targets=labels if clean else None)


@pytest.fixture(scope="module")
def ffcv_lib():
    return require_ffcv_extra()  # fails (never skips) when the extra does not import


@pytest.fixture(scope="module")
def rgb(ffcv_lib, tmp_path_factory):
    ds = make_dataset()
    return ds, write_beton(ds, tmp_path_factory.mktemp("rgb") / "rgb.beton", num_workers=1)


@pytest.fixture(scope="module")
def digits(ffcv_lib, tmp_path_factory):
    ds = load_digits_dataset(train=False)
    return ds, write_beton(ds, tmp_path_factory.mktemp("digits") / "d.beton", num_workers=1)


def train_loader(path, batch_size, **kwargs):
    from ignoise.data.loaders.ffcv_loader import ffcv_train_loader

    kwargs.setdefault("normalization", UNIT)
    return ffcv_train_loader(path, batch_size, num_workers=THREADS, **kwargs)


def eval_loader(path, batch_size, **kwargs):
    from ignoise.data.loaders.ffcv_loader import ffcv_eval_loader

    kwargs.setdefault("normalization", UNIT)
    return ffcv_eval_loader(path, batch_size, num_workers=THREADS, **kwargs)


def cat(batches, key):
    return torch.cat([b[key] for b in batches])


def test_missing_ffcv_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ffcv", None)  # `import ffcv` now raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'ignoise\[ffcv\]'") as err:
        require_ffcv()
    assert FFCV_EXTRA_MESSAGE in str(err.value)


def test_raw_round_trip_gives_exact_pixels_labels_and_indices(rgb):
    ds, path = rgb
    batches = list(eval_loader(path, 16))
    assert [len(b["index"]) for b in batches] == [16, 16, 13]
    index = cat(batches, "index")
    assert index.dtype == torch.int64 and index.tolist() == list(range(len(ds)))
    images = torch.from_numpy(ds.images).permute(0, 3, 1, 2)
    x = cat(batches, "x")
    assert x.dtype == torch.float32 and x.shape == (45, 3, 8, 8)
    assert torch.equal(pixels(x), images)
    assert torch.equal(cat(batches, "y"), torch.as_tensor(ds.targets))
    assert torch.equal(cat(batches, "y_clean"), torch.as_tensor(ds.clean_targets))


def test_one_channel_images_round_trip_and_match_the_torch_loader(digits):
    ds, path = digits
    ours = list(eval_loader(path, 100, normalization=NORMALIZATION["digits"]))
    assert ours[0]["x"].shape == (100, 1, 8, 8)
    transform = eval_transform("digits")
    want = torch.stack([transform(ds.load(i)) for i in range(len(ds))])
    torch.testing.assert_close(cat(ours, "x"), want, atol=1e-5, rtol=0)
    assert torch.equal(cat(ours, "y_clean"), torch.as_tensor(ds.clean_targets))


def test_no_clean_labels_means_no_y_clean_and_images_only_needs_targets(ffcv_lib, tmp_path):
    ds = make_dataset(n=10, clean=False)
    path = write_beton(ds, tmp_path / "noclean.beton", num_workers=1)
    batch = next(iter(eval_loader(path, 10)))
    assert set(batch) == {"x", "y", "index"}
    bare = write_beton(ds, tmp_path / "bare.beton", labels=False, num_workers=1)
    with pytest.raises(ValueError, match="stores no labels"):
        eval_loader(bare, 4)
    relabelled = np.roll(ds.targets, 1)
    batch = next(iter(train_loader(bare, 10, targets=relabelled, clean_targets=ds.targets)))
    assert torch.equal(batch["y"], torch.as_tensor(relabelled)[batch["index"]])
    assert torch.equal(batch["y_clean"], torch.as_tensor(ds.targets)[batch["index"]])


def test_files_round_trip_raw_exactly_and_jpeg_closely(ffcv_lib, tmp_path):
    rng = np.random.default_rng(0)
    sizes = [(20, 30), (20, 20), (34, 20)]  # one shorter side: one center-crop size reads all
    arrays, paths = [], []
    for i, (h, w) in enumerate(sizes):
        # Smooth images: JPEG keeps them within a few levels.
        grid = np.linspace(0, 1, h)[:, None, None] * np.linspace(0, 1, w)[None, :, None]
        arrays.append((grid * rng.integers(50, 255, 3)).astype(np.uint8))
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(arrays[-1]).save(paths[-1])
    ds = FileImageDataset(paths, [0, 1, 0], 2)
    raw = write_beton(ds, tmp_path / "files_raw.beton", num_workers=1)
    jpeg = write_beton(ds, tmp_path / "files.beton", image_format="jpeg", jpeg_quality=95,
                       num_workers=1)
    with pytest.raises(ValueError, match="several sizes"):
        eval_loader(raw, 1)
    for path, (max_diff, mean_diff) in ((raw, (0, 0)), (jpeg, (16, 2))):
        # A center crop of the whole shorter side, at its own size, reads the pixels back.
        batches = list(eval_loader(path, 2, center_crop=20, center_crop_ratio=1.0))
        assert cat(batches, "index").tolist() == [0, 1, 2]
        for x, array in zip(cat(batches, "x"), arrays):
            dh, dw = (array.shape[0] - 20) // 2, (array.shape[1] - 20) // 2
            want = torch.from_numpy(array[dh:dh + 20, dw:dw + 20]).permute(2, 0, 1)
            diff = (pixels(x).int() - want.int()).abs()
            assert diff.max() <= max_diff and diff.float().mean() <= mean_diff
    train = list(train_loader(jpeg, 2, augmentation="random_resized_crop", crop_size=16))
    assert [b["x"].shape for b in train] == [(2, 3, 16, 16), (1, 3, 16, 16)]


def test_inputs_other_than_images_are_refused_with_the_loader_to_use(ffcv_lib, tmp_path):
    signals = ArrayDataset(torch.zeros(6, 2, 30), [0, 1, 2, 0, 1, 2], 3)
    with pytest.raises(TypeError, match="got ArrayDataset loading Tensor; use the torch loader"):
        write_beton(signals, tmp_path / "signals.beton", num_workers=1)
    with pytest.raises(TypeError, match="cannot key a .beton cache on a ArrayDataset"):
        build_loaders("ffcv", signals, signals, batch_size=2, dataset_name="digits",
                      cache_dir=tmp_path, device="cpu")


def test_training_order_is_the_torch_loaders_and_every_index_comes_once(digits):
    ds, path = digits
    ours = train_loader(path, 64, seed=5, augmentation="none",
                        normalization=NORMALIZATION["digits"])
    theirs = make_train_loader(ds.with_transform(eval_transform("digits")), 64, seed=5)
    assert len(ours) == len(theirs) == 6
    for epoch in (0, 1):
        ours.set_epoch(epoch)
        theirs.sampler.set_epoch(epoch)
        a, b = list(ours), list(theirs)
        assert sorted(cat(a, "index").tolist()) == list(range(len(ds)))
        assert torch.equal(cat(a, "index"), cat(b, "index"))
        torch.testing.assert_close(cat(a, "x"), cat(b, "x"), atol=1e-5, rtol=0)
        assert torch.equal(cat(a, "y"), cat(b, "y"))


@pytest.mark.parametrize("world_size", [2, 3])
def test_rank_shards_cover_training_and_split_evaluation_exactly(rgb, world_size):
    ds, path = rgb
    shards = [cat(list(train_loader(path, 4, seed=1, rank=r, world_size=world_size)),
                  "index").tolist() for r in range(world_size)]
    assert len({len(s) for s in shards}) == 1
    assert set().union(*map(set, shards)) == set(range(len(ds)))
    slices = [cat(list(eval_loader(path, 4, rank=r, world_size=world_size)), "index").tolist()
              for r in range(world_size)]
    assert sorted(sum(slices, [])) == list(range(len(ds)))
    for r, piece in enumerate(slices):
        assert piece == list(ShardedEvalSampler(len(ds), rank=r, world_size=world_size))


def test_crop_flip_is_seeded_and_equals_the_gpu_loaders(rgb):
    ds, path = rgb
    kwargs = {"seed": 3, "rank": 1, "world_size": 2, "padding": 2}
    ours = train_loader(path, 8, **kwargs)
    ours.set_epoch(4)
    gpu = GPUResidentLoader(ds, 8, normalization=UNIT, **kwargs)
    gpu.set_epoch(4)
    a, b = list(ours), list(gpu)
    assert torch.equal(cat(a, "index"), cat(b, "index"))
    assert torch.equal(pixels(cat(a, "x")), pixels(cat(b, "x")))
    # The draws are the seeded generator's: recompute the first sample by hand.
    g = augmentation_generator(3, 4, rank=1)
    (r, c), flip = draw_crop_offsets(8, 2, g)[0].tolist(), bool(draw_flips(8, g)[0])
    first = np.pad(ds.images[int(a[0]["index"][0])], ((2, 2), (2, 2), (0, 0)))[r:r + 8, c:c + 8]
    first = first[:, ::-1] if flip else first
    assert torch.equal(pixels(a[0]["x"][0]), torch.from_numpy(first.transpose(2, 0, 1).copy()))


def test_set_epoch_and_state_dict_resume_the_epoch_counter(rgb):
    ds, path = rgb

    def epoch_of(loader):
        batches = list(loader)
        return cat(batches, "index"), cat(batches, "x")

    reference = train_loader(path, 8, seed=2)
    epochs = [epoch_of(reference) for _ in range(3)]  # FFCV advances: 0, 1, 2
    assert not torch.equal(epochs[0][0], epochs[1][0])
    interrupted = train_loader(path, 8, seed=2)
    epoch_of(interrupted), epoch_of(interrupted)
    assert interrupted.state_dict() == {"seed": 2, "epoch": 2}
    resumed = train_loader(path, 8, seed=0)
    resumed.load_state_dict(interrupted.state_dict())
    index, x = epoch_of(resumed)
    assert torch.equal(index, epochs[2][0]) and torch.equal(x, epochs[2][1])
    resumed.set_epoch(1)
    assert torch.equal(epoch_of(resumed)[0], epochs[1][0])


def test_paired_mode_keeps_the_samplers_index_lists(rgb):
    ds, path = rgb
    sampler = StandInPairedSampler(ds.targets, 5, seed=4)
    loader = train_loader(path, 5, seed=4, paired_sampler=sampler)
    loader.set_epoch(1)
    batches = list(loader)
    sampler.set_epoch(1)
    lists = list(sampler)
    assert len(batches) == len(loader) == len(lists) == 9
    for batch, flat in zip(batches, lists):
        assert batch["a"]["index"].tolist() == flat[:5] and batch["b"]["index"].tolist() == flat[5:]
        hist = [torch.bincount(batch[h]["y"], minlength=5) for h in ("a", "b")]
        assert torch.equal(hist[0], hist[1])
        assert batch["a"]["x"].shape == (5, 3, 8, 8) and "y_clean" in batch["b"]
    assert loader.state_dict()["paired_sampler"] == {"seed": 4, "epoch": 1}


def test_cached_beton_is_keyed_by_images_not_labels(ffcv_lib, tmp_path):
    ds = make_dataset(n=12)
    first = cached_beton(ds, tmp_path, name="toy", split="train", num_workers=1)
    written = first.stat().st_mtime_ns
    relabelled = ds.with_targets(np.roll(ds.targets, 3))
    assert cached_beton(relabelled, tmp_path, name="toy", split="train") == first
    assert first.stat().st_mtime_ns == written  # reused, not rewritten
    changed = make_dataset(n=12)
    changed.images[0, 0, 0, 0] ^= 1
    assert cached_beton(changed, tmp_path, name="toy", split="train", num_workers=1) != first
    assert first.name.startswith("toy-train-12-") and len(list(tmp_path.glob("*.beton"))) == 2
    assert not list(tmp_path.glob(".*partial"))


def test_build_loaders_ffcv_equals_gpu_on_digits(ffcv_lib, tmp_path):
    train_set, test_set = load_digits_dataset(), load_digits_dataset(train=False)
    train_set = train_set.with_targets(np.roll(train_set.targets, 1))  # noisy labels
    kwargs = {"batch_size": 128, "device": "cpu", "dataset_name": "digits", "seed": 3}
    ffcv_train, ffcv_test = build_loaders("ffcv", train_set, test_set, cache_dir=tmp_path,
                                          num_workers=1, **kwargs)
    gpu_train, gpu_test = build_loaders("gpu", train_set, test_set, **kwargs)
    for ours, theirs in ((ffcv_train, gpu_train), (ffcv_test, gpu_test)):
        a, b = list(ours), list(theirs)
        for key in ("index", "y", "y_clean"):
            assert torch.equal(cat(a, key), cat(b, key))
        torch.testing.assert_close(cat(a, "x"), cat(b, "x"), atol=1e-6, rtol=0)
    assert len(list(tmp_path.glob("digits-*.beton"))) == 2


@pytest.mark.distributed
def test_two_process_evaluation_counts_each_sample_once(digits, tmp_path):
    ds, path = digits
    launcher = accelerate_launch(2)
    result = tmp_path / "counts.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run([*launcher, str(WORKER), str(path), str(result), str(tmp_path / "cache")],
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    import json

    counts = json.loads(result.read_text())
    assert counts["world_size"] == 2
    assert counts["eval_samples"] == len(ds) == 360
    assert counts["eval_seen_once"] and counts["train_covers_all"]
    assert counts["factory_eval_samples"] == 360
