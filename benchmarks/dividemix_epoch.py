"""DivideMix epoch time on the digits with each loader (``--loader torch`` against ``gpu`` and
``ffcv``), measured in one run.

    python benchmarks/dividemix_epoch.py                      # CPU: about a minute
    python benchmarks/dividemix_epoch.py --loaders torch,gpu,ffcv --device cuda

DivideMix trains as ``python -m ignoise train --method dividemix --dataset digits`` does (its
digits config: the digits CNN, batch 32), but with one warm-up epoch and ``--epochs`` epochs in
all, without the per-epoch test evaluation. An epoch's time is Ignite's (the epoch-start
handlers, here the co-divide pass over the training set, plus the iterations; not the
end-of-epoch handlers). The loaders run in turn, ``--rounds`` times, so that other work on a
shared machine slows them alike; the mean of the main-phase epochs (two augmented views
through the co-divide sampler) is the figure, and each loader's ratio to the torch loader is
printed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import tempfile

import torch
from accelerate.state import AcceleratorState
from ignite.engine import Events

from ignoise.data import build_noisy_data
from ignoise.engine import Run
from ignoise.methods import DivideMixConfig, get_method

__all__ = ["main"]


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--loaders", default="torch,gpu", help="comma-separated: torch, gpu, ffcv")
    p.add_argument("--epochs", type=int, default=4, help="epochs per run (the first warms up)")
    p.add_argument("--rounds", type=int, default=2, help="runs per loader, in turn")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    args = p.parse_args(argv)
    loaders = [name.strip() for name in args.loaders.split(",")]
    data = build_noisy_data("digits", "data", noise="sym", noise_rate=0.4, seed=0)
    warmup, main_phase = {k: [] for k in loaders}, {k: [] for k in loaders}
    with tempfile.TemporaryDirectory() as cache:
        for _ in range(args.rounds):
            for loader in loaders:
                times = epoch_times(data, loader, args.epochs, args.device, cache)
                warmup[loader].append(times[0])
                main_phase[loader].extend(times[1:])
    means = {k: statistics.mean(v) for k, v in main_phase.items()}
    print(f"DivideMix on the digits (1,437 images, batch 32, two views), {args.device}, "
          f"{torch.get_num_threads()} threads; {args.rounds} runs per loader of {args.epochs} "
          "epochs (1 warm-up)")
    print(f"{'loader':<7} {'warm-up epoch s':>15} {'main epoch s':>13} {'vs torch':>9}")
    for loader in loaders:
        ratio = means[loader] / means["torch"] if "torch" in means else float("nan")
        print(f"{loader:<7} {statistics.mean(warmup[loader]):>15.3f} {means[loader]:>13.3f} "
              f"{ratio:>8.2f}x")
    if "gpu" in means and "torch" in means:
        print(f"DivideMix epoch time, --loader gpu / --loader torch: "
              f"{means['gpu'] / means['torch']:.2f}")
    return means


def epoch_times(data, loader: str, epochs: int, device: str, cache: str) -> list[float]:
    """Seconds of each epoch of one DivideMix run on ``data`` with ``loader``."""
    AcceleratorState._reset_state(reset_partial_state=True)  # a fresh run in this process
    cfg = DivideMixConfig(dataset="digits", model="digits_cnn", epochs=epochs, batch_size=32,
                          lr=0.01, lr_milestones=[epochs], warmup_epochs=1, rampup_epochs=4,
                          lambda_u=25.0, loader=loader, cache_dir=cache, output_dir=None,
                          progress=False, cpu=device == "cpu", log_every=10 ** 9)
    run = Run(seed=0, cpu=cfg.cpu, progress=False)
    parts = get_method("dividemix").build(run, data, cfg)
    run.attach(parts.trainer, evaluators={}, to_save=parts.to_save,
               scalar_keys=parts.scalar_keys)
    times = []
    parts.trainer.add_event_handler(
        Events.EPOCH_COMPLETED, lambda e: times.append(e.state.times["EPOCH_COMPLETED"]))
    with contextlib.redirect_stdout(io.StringIO()):  # the run's per-epoch lines
        parts.trainer.run(parts.train_loader, max_epochs=epochs)
    return times


if __name__ == "__main__":
    main()
