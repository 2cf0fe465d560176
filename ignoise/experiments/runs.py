"""Running one cell of an experiment's grid: an ordinary ``train`` run in its own folder,
skipped when that folder already holds the same run's ``results.json``."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["run_once"]


def run_once(out: Path, argv: list[str], config: Path, description: str | None = None) -> dict:
    """The results of ``python -m ignoise train ARGV --config CONFIG --output-dir OUT``; a
    finished run with the same settings (its ``run.json``) is read instead of trained again,
    and an interrupted one resumes from its last checkpoint, so an experiment continues where
    it stopped.

    Raises:
        ConfigError: ``OUT`` holds a run with other settings (listed, saved -> now).
    """
    from ..commands.train import main as train
    from ..commands.train import parse
    from ..config import ConfigError
    from ..config.run_folder import done_epochs, identity_diff, run_identity

    out = Path(out)
    method, cfg, _ = parse([*argv, "--output-dir", str(out)], config=config)
    saved = out / "run.json"
    if saved.is_file():
        diff = identity_diff(json.loads(saved.read_text()), run_identity(method, cfg))
        if diff:
            raise ConfigError(f"{out} holds a run with other settings (saved -> now): "
                              f"{'; '.join(diff)}; remove it or use another output folder")
    results = out / "results.json"
    if results.is_file() and json.loads(results.read_text()).get("epochs", 0) >= cfg.epochs:
        return json.loads(results.read_text())
    if done_epochs(out) > 0:
        again = ["--resume"]
    else:  # started but stopped before its first checkpoint: nothing to keep
        again = ["--overwrite"] if saved.exists() else []
    return train([*argv, "--output-dir", str(out), *again], config=config,
                 description=description)
