"""Fabricated ``evidence.npz`` files and run folders, written with ``np.savez`` exactly as the
evidence contract gives them (independent of the library's writer)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def loss_and_margin(given: np.ndarray, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cross-entropy and margin ``log p[given] - max_{k != given} log p[k]`` of ``probs``."""
    log_p = np.log(np.clip(probs.astype(np.float64), 1e-12, None))
    rows = np.arange(len(given))
    own = log_p[rows, given]
    log_p[rows, given] = -np.inf
    return (-own).astype(np.float32), (own - log_p.max(1)).astype(np.float32)


def evidence_arrays(given, probs, *, clean=None, method="ce", epochs=3, **signals) -> dict:
    """The arrays of an evidence file: loss/margin from ``probs`` (mean = last + 0.1, so the
    two differ), ``clean_label`` and the method signals when given."""
    given = np.asarray(given, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float32)
    loss, margin = loss_and_margin(given, probs)
    arrays = {
        "given_label": given, "probs": probs,
        "loss_mean": loss + np.float32(0.1), "loss_last": loss,
        "margin_mean": margin - np.float32(0.1), "margin_last": margin,
        "epochs": np.int64(epochs), "method": np.str_(method),
    }
    if clean is not None:
        arrays["clean_label"] = np.asarray(clean, dtype=np.int64)
    for key, value in signals.items():
        arrays[key] = np.asarray(value)
    return arrays


def write_evidence(folder: Path, given, probs, **kwargs) -> Path:
    """``folder/evidence.npz`` (see :func:`evidence_arrays`); ``overrides`` replace or, with
    None, drop arrays."""
    overrides = kwargs.pop("overrides", {})
    arrays = {**evidence_arrays(given, probs, **kwargs), **overrides}
    arrays = {key: value for key, value in arrays.items() if value is not None}
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / "evidence.npz", **arrays)
    return folder / "evidence.npz"


def noisy_probs(given, clean, num_classes: int, seed: int = 0, confidence: float = 0.8,
                 noise: float = 0.0):
    """Probabilities that favour the clean label (``confidence`` on it, the rest spread), with
    ``noise`` of the samples predicting a random class instead; float32 rows summing to 1."""
    rng = np.random.default_rng(seed)
    n = len(given)
    target = np.asarray(clean).copy()
    flip = rng.random(n) < noise
    target[flip] = rng.integers(0, num_classes, flip.sum())
    probs = rng.dirichlet(np.ones(num_classes), size=n) * (1 - confidence)
    probs[np.arange(n), target] += confidence
    return (probs / probs.sum(1, keepdims=True)).astype(np.float32)


def write_run_json(folder: Path, *, dataset="digits", noise="sym", noise_rate=0.4, seed=0,
                   method="dividemix", **config) -> Path:
    """A ``run.json`` as a run writes it (only the keys label-issues reads, plus a few)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    identity = {"method": method,
                "config": {"dataset": dataset, "data_root": "data", "noise": noise,
                           "noise_rate": noise_rate, "seed": seed, "noise_options": {},
                           "epochs": 3, **config},
                "ignoise_version": "0.1.0", "git_commit": None}
    (folder / "run.json").write_text(json.dumps(identity, indent=2))
    return folder / "run.json"
