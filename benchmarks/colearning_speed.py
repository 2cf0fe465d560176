"""Time of one Co-learning iteration over two plain supervised steps, on the same model and
batches, measured in one run.

    python benchmarks/colearning_speed.py                        # CPU, PreAct-ResNet18: minutes
    python benchmarks/colearning_speed.py --model digits_cnn      # CPU, seconds
    python benchmarks/colearning_speed.py --device cuda --iters 50

The plain reference is two :class:`ignoise.steps.SupervisedStep` calls of the bare network,
one per view (``2B`` rows forward and backward, two optimizer steps). Co-learning is one
:class:`ignoise.steps.CoLearningStep` on the two views: with mixup (the code's default) it
forwards ``3B`` rows (both views and the mixed batch), without it ``2B``, plus the projection
head, NT-Xent over ``2B x 2B`` similarities and the ``B x B`` structural loss, one optimizer
step. The variants are timed in alternation (the order rotates every round), so that other work
on a shared machine slows them alike; the ratios of the medians are the figures, those of the
fastest iterations (the least disturbed) are printed beside them.
"""

from __future__ import annotations

import argparse
import statistics

import torch
from step_timing import device_line, time_rounds

from ignoise.engine import create_accelerator
from ignoise.models import build_model
from ignoise.steps import CoLearningNetwork, CoLearningStep, SupervisedStep

__all__ = ["main"]

#: Input shape per model: PreAct-ResNet18 on 32x32 RGB (CIFAR), DigitsCNN on 8x8 grey.
SHAPES = {"preact_resnet18": (3, 32, 32), "digits_cnn": (1, 8, 8)}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--model", default="preact_resnet18", choices=sorted(SHAPES))
    p.add_argument("--iters", type=int, default=None, help="timed iterations (cpu 3, cuda 50)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--projection-dim", type=int, default=512)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cpu = args.device == "cpu"
    iters = args.iters or (3 if cpu else 50)
    accelerator = create_accelerator(cpu=cpu)
    device = accelerator.device
    shape = SHAPES[args.model]

    torch.manual_seed(0)
    sgd = lambda m: torch.optim.SGD(m.parameters(), lr=0.02, momentum=0.9, weight_decay=5e-4)
    plain_net = build_model(args.model, 10, shape[0])
    plain_opt = sgd(plain_net)
    plain_net, plain_opt = accelerator.prepare(plain_net, plain_opt)
    plain = SupervisedStep(plain_net, plain_opt, accelerator)
    steps = {}
    for name, alpha in (("mixup", 5.0), ("no_mixup", 0.0)):
        net = CoLearningNetwork(build_model(args.model, 10, shape[0]), args.projection_dim)
        opt = sgd(net)
        net, opt = accelerator.prepare(net, opt)
        steps[name] = CoLearningStep(net, opt, accelerator, num_classes=10, mixup_alpha=alpha)

    g = torch.Generator().manual_seed(0)
    b = args.batch_size
    batch = {"x": torch.randn(b, *shape, generator=g).to(device),
             "x2": torch.randn(b, *shape, generator=g).to(device),
             "y": torch.randint(0, 10, (b,), generator=g).to(device),
             "index": torch.arange(b, device=device)}
    view_2 = {**batch, "x": batch["x2"]}

    runs = {
        "two_plain": lambda: (plain(None, batch), plain(None, view_2))[1]["loss"],
        "mixup": lambda: steps["mixup"](None, batch)["loss"],
        "no_mixup": lambda: steps["no_mixup"](None, batch)["loss"],
    }

    times = time_rounds(runs, iters, device)
    median = {name: statistics.median(t) for name, t in times.items()}
    ratios = {name: median[name] / median["two_plain"] for name in ("mixup", "no_mixup")}
    print(device_line(device))
    print(f"{args.model}, {'x'.join(map(str, shape[1:]))}, batch {b}, projection "
          f"{args.projection_dim}, {iters} timed iterations")
    print(f"two plain supervised steps:      {median['two_plain'] * 1000:.1f} ms (median)")
    for name, label in (("mixup", "with mixup (3B rows)"), ("no_mixup", "without mixup (2B)")):
        print(f"Co-learning {label:<21}{median[name] * 1000:.1f} ms, ratio {ratios[name]:.3f}; "
              f"of the fastest: {min(times[name]) / min(times['two_plain']):.3f}")
    return ratios


if __name__ == "__main__":
    main()
