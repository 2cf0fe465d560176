"""One process of the 2-process test of the methods with per-sample or per-run state
(``tests/handlers/test_elr_targets.py``), started with

    accelerate launch --multi_gpu --num_processes 2 ... elr_worker.py OUT_DIR

For ``elr``, ``elr_plus`` (their target tables) and ``mentornet`` with its moving-percentile
threshold, on 251 digits (8 iterations of 2 x 16 per epoch, the last of 2 x 14, so the gathered
rows are padded), it trains 2 epochs ("full"), then resumes a second run from the full run's
epoch-1 checkpoint to epoch 2 ("resumed"), and saves its own copy of the state and the networks
of both runs to ``<method>_rank<r>.pt``.
"""

import shutil
import sys
from pathlib import Path

import torch

from ignoise.config import to_dict
from ignoise.data import (
    ArrayImageDataset,
    NoisyData,
    eval_transform,
    load_digits_dataset,
    train_transform,
)
from ignoise.engine import Run, end_process_group
from ignoise.methods import get_method

OPTIONS = {"elr": {}, "elr_plus": {"ema_rampup_steps": 10, "lambda_rampup_steps": 10},
           "mentornet": {"curriculum": "moving_percentile"}}
#: method -> {checkpoint key: the entry of its state_dict compared}
STATES = {"elr": {"elr_targets": "table"},
          "elr_plus": {"elr_targets_a": "table", "elr_targets_b": "table"},
          "mentornet": {"curriculum_threshold": "value"}}
MODELS = {"elr": ("model",), "elr_plus": ("model_a", "model_b", "ema_a", "ema_b"),
          "mentornet": ("model",)}
METHODS = tuple(OPTIONS)


def digits() -> NoisyData:
    train, test = load_digits_dataset(), load_digits_dataset(train=False)
    subset = lambda ds, n, transform: ArrayImageDataset(ds.images[:n], ds.targets[:n], 10,
                                                        transform=transform("digits"))
    return NoisyData.from_datasets(subset(train, 251, train_transform),
                                   subset(test, 100, eval_transform), noise="sym",
                                   noise_rate=0.4, seed=0, name="digits")


def run_method(method: str, data: NoisyData, out: Path, resume: bool) -> tuple[dict, object]:
    """Train as ``ignoise.methods.train`` does, keeping the parts to read their state."""
    spec = get_method(method)
    cfg = spec.config(dataset="digits", model="digits_cnn", epochs=2, batch_size=32, lr=0.05,
                      lr_milestones=[1], noise="sym", noise_rate=0.4, cpu=True, progress=False,
                      output_dir=str(out), resume=resume, **OPTIONS[method])
    run = Run.from_config(cfg, method=method, config=to_dict(cfg))
    parts = spec.build(run, data, cfg)
    run.attach(parts.trainer, evaluators=parts.evaluators, to_save=parts.to_save,
               scalar_keys=parts.scalar_keys)
    results = run.execute(parts.trainer, parts.train_loader, max_epochs=cfg.epochs)
    state = {name: parts.to_save[name].state_dict()[entry]
             for name, entry in STATES[method].items()}
    for name in MODELS[method]:
        module = run.accelerator.unwrap_model(parts.to_save[name])
        state[name] = {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}
    state["history_accuracy"] = torch.tensor([row["test_accuracy"]
                                              for row in results["history"]])
    state["world_size"] = run.accelerator.num_processes
    return state, run.accelerator


def main(out: Path) -> None:
    data = digits()
    for method in METHODS:
        full, acc = run_method(method, data, out / method / "full", resume=False)
        resumed_dir = out / method / "resumed" / "checkpoints"
        if acc.is_main_process:
            resumed_dir.mkdir(parents=True)
            shutil.copy(out / method / "full" / "checkpoints" / "checkpoint_1.pt", resumed_dir)
        acc.wait_for_everyone()
        resumed, acc = run_method(method, data, out / method / "resumed", resume=True)
        torch.save({"full": full, "resumed": resumed},
                   out / f"{method}_rank{acc.process_index}.pt")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
    end_process_group()
