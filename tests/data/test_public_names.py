"""ignoise.data keeps every public name of its flat layout, and needs no ffcv to import."""

import os
import subprocess
import sys

import pytest

import ignoise.data

# ignoise.data.__all__ before the split into datasets/, samplers/ and loaders/.
FLAT_LAYOUT_NAMES = [
    "ArrayImageDataset", "FileImageDataset", "NoisyLabelDataset", "check_labels", "is_paired",
    "move_batch", "DATASETS", "NoisyData", "build_noisy_data", "load_dataset",
    "load_digits_dataset", "LOADER_KINDS", "build_loaders", "collate_pair", "loader_sampler",
    "make_eval_loader", "make_paired_loader", "make_train_loader", "ShardedEvalSampler",
    "ShardedRandomSampler", "epoch_generator", "CIFAR_NAMES", "load_cifar", "CIFAR_N_FILES",
    "CIFAR_N_LABEL_SETS", "load_cifar_n", "read_human_labels", "NORMALIZATION", "TRANSFORM_NAMES",
    "eval_transform", "train_transform", "ANIMAL10N_CLASSES", "load_animal10n",
    "ClassBalancedSubsetSampler", "load_extra_eval_sets", "CLOTHING1M_CLASSES", "load_clothing1m",
    "load_imagenet_val", "load_mini_webvision",
    "ClassDistributionAgreementSampler", "SAMPLING_MODES",
    "CoDivideBatchSampler", "collate_codivide", "make_codivide_loader", "TwoViewDataset",
    "FFCVLoader", "ffcv_eval_loader", "ffcv_train_loader", "cached_beton", "write_beton",
    "GPUResidentLoader",
]
ADDED_NAMES = ["ArrayDataset", "BATCH_KEYS", "CODIVIDE_GROUPS", "PHASE_GROUPS",
               "DEVICE_AUGMENTATION", "default_cache_dir", "TRANSFORM_PRESETS",
               "CLOTHING1M_NORMALIZATION"]


@pytest.mark.parametrize("name", FLAT_LAYOUT_NAMES + ADDED_NAMES)
def test_every_public_name_imports_from_ignoise_data(name):
    namespace = {}
    exec(f"from ignoise.data import {name}", namespace)
    assert namespace[name] is getattr(ignoise.data, name)
    assert name in ignoise.data.__all__


def test_all_lists_each_name_once_and_only_existing_names():
    names = ignoise.data.__all__
    assert len(names) == len(set(names))
    assert [n for n in names if not hasattr(ignoise.data, n)] == []


@pytest.mark.parametrize("package", ["datasets", "samplers", "loaders"])
def test_each_subpackage_exports_what_ignoise_data_exports(package):
    module = getattr(ignoise.data, package)
    assert module.__doc__.strip()
    for name in module.__all__:
        assert getattr(module, name) is getattr(ignoise.data, name)


def test_the_old_package_paths_of_samplers_and_loaders_still_import():
    # ignoise.data.samplers and ignoise.data.loaders were modules; they are now packages
    # that export the same names (steps import epoch_generator from there).
    from ignoise.data.loaders import loader_sampler, make_train_loader
    from ignoise.data.samplers import ShardedRandomSampler, epoch_generator

    assert make_train_loader is ignoise.data.make_train_loader
    assert loader_sampler is ignoise.data.loader_sampler
    assert epoch_generator is ignoise.data.epoch_generator
    assert ShardedRandomSampler is ignoise.data.ShardedRandomSampler


def test_importing_ignoise_data_needs_no_ffcv():
    code = (
        "import sys; sys.modules['ffcv'] = None\n"  # any `import ffcv` now fails
        "import ignoise.data\n"
        "try:\n"
        "    ignoise.data.loaders.ffcv_writer.require_ffcv()\n"
        "except ImportError as err:\n"
        "    print('ImportError', err)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("ImportError FFCV loaders need the 'ffcv' extra")
