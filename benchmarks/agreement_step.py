"""Time of one GAL pair step over two plain supervised steps, on the same model and batch,
measured in one run.

    python benchmarks/agreement_step.py                  # CPU: a few iterations, a few minutes
    python benchmarks/agreement_step.py --device cuda --iters 50

Model: PreAct-ResNet18, 10 classes, 32x32 inputs, batch 128 per network, SGD with momentum and
weight decay. The plain reference is two :class:`ignoise.steps.SupervisedStep` calls (network A
on A's half of the pair, B on B's); the GAL step is one :class:`ignoise.steps.AgreementStep` on
the same pair (forward and backward of both, the agreement coefficients, the masked update that
restores frozen units and their momentum). The two are timed in alternation (each goes first
every other round), so that other work on a shared machine slows them alike; the ratio of the
medians is the figure (target: at most 1.10), that of the fastest iterations (the least
disturbed) is printed beside it. The agreement machinery (coefficients, snapshot, masked
restore) is also timed alone, a figure less sensitive to a busy machine than the ratio.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch
from step_timing import device_line, sync, time_rounds

from ignoise.engine import create_accelerator
from ignoise.models import build_model
from ignoise.steps import (
    AGREEMENT_GRANULARITIES,
    AGREEMENT_READINGS,
    AgreementStep,
    MaskedUpdate,
    SupervisedStep,
    agreement_coefficients,
)

__all__ = ["main"]


def main(argv=None) -> float:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--iters", type=int, default=None, help="timed iterations (cpu 3, cuda 50)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--granularity", default="tensor", choices=AGREEMENT_GRANULARITIES)
    p.add_argument("--reading", default="gradient", choices=AGREEMENT_READINGS)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cpu = args.device == "cpu"
    iters = args.iters or (3 if cpu else 50)
    accelerator = create_accelerator(cpu=cpu)
    device = accelerator.device

    torch.manual_seed(0)
    net_a = build_model("preact_resnet18", 10, 3)
    net_b = copy.deepcopy(net_a)
    sgd = lambda m: torch.optim.SGD(m.parameters(), lr=0.02, momentum=0.9, weight_decay=5e-4)
    opt_a, opt_b = sgd(net_a), sgd(net_b)
    net_a, net_b, opt_a, opt_b = accelerator.prepare(net_a, net_b, opt_a, opt_b)
    plain_a = SupervisedStep(net_a, opt_a, accelerator)
    plain_b = SupervisedStep(net_b, opt_b, accelerator)
    gal = AgreementStep(net_a, net_b, opt_a, opt_b, accelerator,
                        granularity=args.granularity, reading=args.reading)

    g = torch.Generator().manual_seed(0)
    half = lambda: {"x": torch.randn(args.batch_size, 3, 32, 32, generator=g).to(device),
                    "y": torch.randint(0, 10, (args.batch_size,), generator=g).to(device),
                    "index": torch.arange(args.batch_size, device=device)}
    pair = {"a": half(), "b": half()}

    def two_plain_steps():
        plain_a(None, pair["a"])
        return plain_b(None, pair["b"])["loss"]

    def gal_step():
        return gal(None, pair)["loss"]

    # the two take turns going first, so that neither always follows the other
    times = time_rounds({"plain": two_plain_steps, "gal": gal_step}, iters, device)
    plain, agreement = times["plain"], times["gal"]
    t_plain, t_gal = statistics.median(plain), statistics.median(agreement)
    ratio = t_gal / t_plain
    t_masks = agreement_machinery(gal, opt_a, opt_b, device)
    print(device_line(device))
    print(f"PreAct-ResNet18, 32x32, batch {args.batch_size} per network, {iters} timed "
          f"iterations, granularity {args.granularity}, reading {args.reading}")
    print(f"two plain supervised steps: {t_plain * 1000:.1f} ms (median)")
    print(f"one GAL pair step:          {t_gal * 1000:.1f} ms (median)")
    print(f"ratio GAL / two plain:      {ratio:.3f} (target <= 1.10); of the fastest "
          f"iterations: {min(agreement) / min(plain):.3f}")
    print(f"agreement machinery alone:  {t_masks * 1000:.1f} ms = {t_masks / t_plain:.3f} of two "
          f"plain steps (coefficients, snapshot and masked restore of both networks)")
    return ratio


def agreement_machinery(gal: AgreementStep, opt_a, opt_b, device, reps: int = 10) -> float:
    """What the GAL step adds to two forward-backward passes and two optimizer steps, timed
    alone on the gradients left by the last step (less noisy than the difference of the two
    step times on a shared machine)."""
    masked = [MaskedUpdate(opt_a, gal.params_a), MaskedUpdate(opt_b, gal.params_b)]
    grads_a = [p.grad for p in gal.params_a]
    grads_b = [p.grad for p in gal.params_b]

    def once():
        for m in masked:
            m.snapshot()
        keep = agreement_coefficients(grads_a, grads_b, gal.units) >= gal.agreement_threshold
        frozen = gal.units.split((~keep).float())
        for m in masked:
            m.restore(frozen)

    once()
    sync(device)
    start = time.perf_counter()
    for _ in range(reps):
        once()
    sync(device)
    return (time.perf_counter() - start) / reps


if __name__ == "__main__":
    main()
