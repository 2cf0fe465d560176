"""The config layer keeps its own copies of the library's name lists (so that flags are
checked without importing torch); they must stay the library's."""

from ignoise.config import DATASET_NAMES, LOADER_NAMES, MODEL_NAMES, NOISE_NAMES, TrainingConfig
from ignoise.config.declare import spec_of
from ignoise.config.training import TRANSFORM_PRESET_DATASETS
from ignoise.data import DATASETS, LOADER_KINDS, SAMPLING_MODES, TRANSFORM_PRESETS
from ignoise.data.transforms import _PRESET_DATASETS
from ignoise.handlers import PREDICTED_CONFIDENCE, REDRAW
from ignoise.methods import GALConfig, GSSCEConfig, GSSSSLConfig
from ignoise.models import MODEL_NAMES as LIBRARY_MODELS
from ignoise.noise import NOISE_KINDS
from ignoise.steps import (
    AGREEMENT_GRANULARITIES,
    AGREEMENT_READINGS,
    MASKED_UPDATES,
    SWITCHABLE_TARGETS,
)


def choices(config, name):
    return set(spec_of(config)[name].type.__args__)


def test_shared_name_lists_are_the_librarys():
    assert set(DATASET_NAMES) == set(DATASETS)
    assert set(LOADER_NAMES) == set(LOADER_KINDS)
    assert set(MODEL_NAMES) == set(LIBRARY_MODELS)
    assert set(NOISE_NAMES) == set(NOISE_KINDS)
    assert choices(TrainingConfig, "transforms") == set(TRANSFORM_PRESETS)
    assert TRANSFORM_PRESET_DATASETS == _PRESET_DATASETS


def test_method_choices_are_the_steps_and_handlers_options():
    assert choices(GALConfig, "sampling") == set(SAMPLING_MODES)
    assert choices(GALConfig, "agreement_reading") == set(AGREEMENT_READINGS)
    assert choices(GALConfig, "agreement_granularity") == set(AGREEMENT_GRANULARITIES)
    assert choices(GALConfig, "masked_update") == set(MASKED_UPDATES)
    for config in (GSSCEConfig, GSSSSLConfig):
        assert choices(config, "redraw") == set(REDRAW)
        assert choices(config, "predicted_confidence") == set(PREDICTED_CONFIDENCE)
    inner = spec_of(GSSSSLConfig)["gss_switched"].type.__args__[0]
    assert set(inner.__args__) == set(SWITCHABLE_TARGETS)
