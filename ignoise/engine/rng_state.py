"""The state of every random generator, as a checkpointable object."""

from __future__ import annotations

import random

import numpy as np
import torch

__all__ = ["RNGState"]


class RNGState:
    """Saves and restores the Python, NumPy, torch CPU and CUDA generators.

    Put it in Checkpoint's ``to_save`` so that a resumed run draws the same random numbers
    (augmentation, dropout, noise in steps) as an uninterrupted one. The state holds only
    tensors, ints and lists, so it loads with ``torch.load(weights_only=True)``.
    """

    def state_dict(self) -> dict:
        kind, keys, pos, has_gauss, cached = np.random.get_state()
        version, internal, gauss = random.getstate()
        state = {
            "python": [version, list(internal), gauss],
            "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached],
            "torch": torch.get_rng_state(),
        }
        if torch.cuda.is_available():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state: dict) -> None:
        version, internal, gauss = state["python"]
        random.setstate((version, tuple(internal), gauss))
        kind, keys, pos, has_gauss, cached = state["numpy"]
        np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
        torch.set_rng_state(state["torch"])
        if "cuda" in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda"])
