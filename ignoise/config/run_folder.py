"""A run's folder and identity: the default folder of a run, the settings that identify it
(``run.json``), and the checks that keep one folder to one run, all before torch is imported.

- A folder that already holds a run (``run.json``, ``results.json`` or checkpoints) is refused
  unless the run resumes it (``resume``) or replaces it (``overwrite``).
- ``resume`` continues only the same run: every setting that changes training must match the
  saved one (:data:`UNCOMPARED` lists those that may differ); more ``epochs`` extend the run,
  fewer than it has done are refused.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
from pathlib import Path

from .declare import ConfigError, spec_of

__all__ = ["IDENTITY_FILE", "UNCOMPARED", "auto_output_dir", "run_identity", "identity_diff",
           "check_run_folder", "write_identity", "clear_run_folder", "done_epochs"]

IDENTITY_FILE = "run.json"
#: Settings that do not change what is trained, so a resume may change them.
UNCOMPARED = frozenset({"output_dir", "resume", "overwrite", "progress", "log_every",
                        "cache_dir", "data_root", "download", "eval_batch_size", "epochs",
                        "collective_timeout_s", "channels_last", "compile"})
#: What a run writes into its folder; ``overwrite`` removes exactly these.
RUN_ENTRIES = (IDENTITY_FILE, "results.json", "checkpoints", "tb")
_CHECKPOINT = re.compile(r"^checkpoint_(\d+)\.pt$")


def auto_output_dir(method: str, cfg) -> str:
    """``runs/<method>[-<variant>]/<dataset>-<noise>-<rate>-seed<seed>[-val<fraction>]``: one
    folder per run (a run with a validation hold-out is another run).

    Examples:
        >>> from ignoise.config import TrainingConfig
        >>> auto_output_dir("ce", TrainingConfig(noise="sym", noise_rate=0.4, seed=1))
        'runs/ce/digits-sym-0.4-seed1'
        >>> auto_output_dir("ce", TrainingConfig(val_fraction=0.1))
        'runs/ce/digits-none-0-seed0-val0.1'
    """
    variant = getattr(cfg, "variant", None)
    name = f"{method}-{variant}" if variant and variant != method else method
    val = getattr(cfg, "val_fraction", 0.0)
    return (f"runs/{name}/{cfg.dataset}-{cfg.noise}-{cfg.noise_rate:g}-seed{cfg.seed}"
            + (f"-val{val:g}" if val else ""))


def run_identity(method: str, cfg) -> dict:
    """What identifies a run: the method, every resolved setting, the library's version and,
    in a git checkout, its commit."""
    from .. import __version__

    # "labels": what the training labels were drawn with, once a method's conventions are
    # applied (label-issues rebuilds them from it); it follows from the config.
    labels = {"label_set": cfg.effective_label_set(),
              "noise_options": cfg.effective_noise_options()}
    return {"method": method, "config": _plain(dataclasses.asdict(cfg)), "labels": labels,
            "ignoise_version": __version__, "git_commit": _git_commit()}


def identity_diff(saved: dict, current: dict) -> list[str]:
    """``"key: saved -> given"`` for every setting that changes training and differs.

    A setting the saved run does not have (it was added to the library later) counts as equal
    when the current value is its default: a run from before keeps resuming.

    Examples:
        >>> identity_diff({"method": "ce", "config": {"lr": 0.1, "epochs": 3}},
        ...               {"method": "ce", "config": {"lr": 0.2, "epochs": 9,
        ...                                           "val_fraction": 0.0}})
        ['lr: 0.1 -> 0.2']
    """
    lines = []
    if saved.get("method") != current.get("method"):
        lines.append(f"method: {saved.get('method')} -> {current.get('method')}")
    old, new = _plain(saved.get("config", {})), _plain(current.get("config", {}))
    defaults = _defaults(current.get("method"))
    for key in sorted(set(old) | set(new)):
        if key not in old and key in defaults and new.get(key) == defaults[key]:
            continue
        if key not in UNCOMPARED and old.get(key) != new.get(key):
            lines.append(f"{key}: {json.dumps(old.get(key))} -> {json.dumps(new.get(key))}")
    return lines


def _defaults(method: str | None) -> dict:
    """The declared defaults of ``method``'s config, as JSON-like values (``{}`` if unknown)."""
    from ..methods import METHODS  # the registry is torch-free

    spec = METHODS.get(method)
    return _plain({k: p.default for k, p in spec_of(spec.config).items()}) if spec else {}


def done_epochs(folder: Path) -> int:
    """The epoch of the newest checkpoint in ``folder/checkpoints`` (0 without any)."""
    found = [int(m.group(1)) for p in (Path(folder) / "checkpoints").glob("*.pt")
             if (m := _CHECKPOINT.match(p.name))]
    return max(found, default=0)


def check_run_folder(method: str, cfg) -> None:
    """Refuse a folder that would mix two runs; read-only (``overwrite`` clears it later).

    Raises:
        FileNotFoundError: ``resume`` without a checkpoint to resume from.
        ConfigError: a resume whose settings differ from the saved run's (with the list of
            differences), or with fewer ``epochs`` than done; a folder that holds a run,
            without ``resume`` or ``overwrite``.
    """
    if cfg.output_dir is None:
        return
    folder = Path(cfg.output_dir)
    done = done_epochs(folder)
    identity = folder / IDENTITY_FILE
    if cfg.resume:
        if not done:
            raise FileNotFoundError(f"--resume: no checkpoint_<epoch>.pt in "
                                    f"{folder / 'checkpoints'}")
        if identity.is_file():
            diff = identity_diff(_read(identity), run_identity(method, cfg))
            if diff:
                raise ConfigError(
                    f"--resume: {folder} holds another run; these settings differ (saved -> "
                    f"given): {'; '.join(diff)}. Pass the saved settings to continue it, or "
                    "--overwrite to start a new run there")
        if cfg.epochs < done:
            raise ConfigError(f"--resume: epochs = {cfg.epochs}, but the run in {folder} has "
                              f"done {done} epochs: expected at least {done}")
        return
    if not cfg.overwrite and (done or any((folder / e).exists() for e in RUN_ENTRIES[:2])):
        raise ConfigError(f"{folder} already holds a run: pass --resume to continue it, "
                          "--overwrite to replace it, or another --output-dir")


def write_identity(folder: Path, identity: dict) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / IDENTITY_FILE
    path.write_text(json.dumps(identity, indent=2) + "\n")
    return path


def clear_run_folder(folder: Path) -> None:
    """Remove what a run wrote into ``folder`` (:data:`RUN_ENTRIES`); other files stay."""
    for entry in RUN_ENTRIES:
        path = Path(folder) / entry
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ConfigError(f"{path} is not a readable run identity ({err}): remove it or pass "
                          "--overwrite") from None


def _plain(value):
    """JSON's view of a value (mapping keys become strings), so saved and given compare."""
    return json.loads(json.dumps(value, default=str))


def _git_commit() -> str | None:
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None
