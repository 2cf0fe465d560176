"""The batch contract: ``{"x", "y", "index", "y_clean"?}`` or ``{"a": batch, "b": batch}``."""

from __future__ import annotations

import torch

__all__ = ["BATCH_KEYS", "move_batch", "is_paired"]

BATCH_KEYS = ("x", "y", "index", "y_clean")


def is_paired(batch: dict) -> bool:
    """Whether ``batch`` is a paired batch ``{"a": ..., "b": ...}`` from a paired sampler."""
    return "a" in batch and "b" in batch


def move_batch(batch: dict, device: torch.device | str) -> dict:
    """Move every tensor of a (possibly paired) batch to ``device`` without blocking.

    Tensors already there are returned as they are, so GPU-resident loaders pay nothing.
    """
    out = {}
    for key, value in batch.items():
        if isinstance(value, dict):
            out[key] = move_batch(value, device)
        elif isinstance(value, torch.Tensor):
            out[key] = value.to(device, non_blocking=True)
        else:
            out[key] = value
    return out
