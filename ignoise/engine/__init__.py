"""Engine factories, evaluators, common handlers, Accelerate glue and run outputs."""

from .accelerator import create_accelerator, end_process_group, seed_everything
from .checkpointing import (
    CheckpointWriteError,
    attach_checkpoint,
    find_resume_checkpoint,
    latest_checkpoint,
    load_checkpoint,
    read_checkpoint,
)
from .common import CommonHandlers, attach_common_handlers
from .divergence import DivergenceGuard, RunDiverged
from .evaluator import create_evaluator
from .rng_state import RNGState
from .run import RESULT_KEYS, Run, plain_json
from .run_clock import RunClock
from .speed import compile_network, compile_networks, to_channels_last
from .trainer import create_trainer

__all__ = [
    "create_accelerator", "end_process_group", "seed_everything", "attach_checkpoint",
    "latest_checkpoint", "load_checkpoint", "find_resume_checkpoint", "read_checkpoint",
    "CheckpointWriteError", "CommonHandlers", "attach_common_handlers",
    "create_evaluator", "DivergenceGuard", "RunDiverged", "RNGState", "RESULT_KEYS", "Run",
    "plain_json", "RunClock", "to_channels_last", "compile_network", "compile_networks",
    "create_trainer",
]
