"""Running one cell of an experiment's grid: an ordinary ``train`` run in its own folder,
skipped when that folder already holds its ``results.json``."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["run_once"]


def run_once(out: Path, argv: list[str], config: Path, description: str | None = None) -> dict:
    """The results of ``python -m ignoise train ARGV --config CONFIG --output-dir OUT``; a
    finished run (its ``results.json``) is read instead of trained again, and an interrupted
    one resumes from its last checkpoint, so an experiment continues where it stopped."""
    from ..commands.train import main as train

    out = Path(out)
    if (out / "results.json").is_file():
        return json.loads((out / "results.json").read_text())
    if any((out / "checkpoints").glob("checkpoint_*.pt")):
        again = ["--resume"]
    else:  # started but stopped before its first checkpoint: nothing to keep
        again = ["--overwrite"] if (out / "run.json").exists() else []
    return train([*argv, "--output-dir", str(out), *again], config=config,
                 description=description)
