"""Typed hyper-parameters: declared once per method, read from YAML files and flags, validated
before any heavy import (this package imports neither torch nor the rest of ignoise)."""

from .declare import ConfigError, param, spec_of
from .files import ConfigFile, load_config_file
from .flags import add_config_flags
from .resolve import resolve_config, to_dict
from .run_folder import auto_output_dir, check_run_folder, run_identity
from .training import DATASET_NAMES, LOADER_NAMES, MODEL_NAMES, NOISE_NAMES, TrainingConfig

__all__ = [
    "ConfigError", "param", "spec_of", "ConfigFile", "load_config_file", "add_config_flags",
    "resolve_config", "to_dict", "TrainingConfig", "DATASET_NAMES", "LOADER_NAMES",
    "MODEL_NAMES", "NOISE_NAMES", "auto_output_dir", "check_run_folder", "run_identity",
]
