"""Time of one iteration of each two-network selection step (Co-teaching, Co-teaching+, JoCoR,
Decoupling) over two plain supervised steps, on the same networks and batch, measured in one
run.

    python benchmarks/pair_selection_speed.py                       # CPU: digits CNN, 8x8
    python benchmarks/pair_selection_speed.py --device cuda --iters 50   # PreAct-ResNet18, 32x32

The plain reference is two :class:`ignoise.steps.SupervisedStep` calls, network A then B, on
the batch (these methods feed both networks the same batch); each selection step does the
same forward, backward and optimizer work for both networks plus its selection (per-sample
losses, argsort or rank masks, disagreement, masked means). SGD with momentum and weight
decay; the forget rate is fixed at 0.5 and Co-teaching+ is past its Co-teaching epochs. The
steps are timed in rounds, each round in a rotated order so that none always follows another;
the ratio of the medians is the figure (goal: at most 1.10), that of the fastest iterations
(the least disturbed on a shared machine) is printed beside it.
"""

from __future__ import annotations

import argparse
import statistics

import torch
from step_timing import device_line, time_rounds

from ignoise.engine import create_accelerator
from ignoise.models import build_model
from ignoise.steps import (
    CoTeachingPlusStep,
    CoTeachingStep,
    DecouplingStep,
    JoCoRStep,
    SupervisedStep,
)

__all__ = ["main"]

INPUT_SHAPES = {"digits_cnn": (1, 8, 8)}


def main(argv=None) -> dict[str, float]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--model", default=None,
                   help="a model name (cpu: digits_cnn, cuda: preact_resnet18)")
    p.add_argument("--iters", type=int, default=None, help="timed rounds (cpu 30, cuda 50)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cpu = args.device == "cpu"
    model_name = args.model or ("digits_cnn" if cpu else "preact_resnet18")
    iters = args.iters or (30 if cpu else 50)
    accelerator = create_accelerator(cpu=cpu)
    device = accelerator.device
    channels, height, width = INPUT_SHAPES.get(model_name, (3, 32, 32))

    torch.manual_seed(0)
    net_a, net_b = build_model(model_name, 10, channels), build_model(model_name, 10, channels)
    sgd = lambda m: torch.optim.SGD(m.parameters(), lr=0.02, momentum=0.9, weight_decay=5e-4)
    opt_a, opt_b = sgd(net_a), sgd(net_b)
    net_a, net_b, opt_a, opt_b = accelerator.prepare(net_a, net_b, opt_a, opt_b)
    pair = (net_a, net_b, opt_a, opt_b, accelerator)
    rate = lambda completed_epochs: 0.5
    plain_a = SupervisedStep(net_a, opt_a, accelerator)
    plain_b = SupervisedStep(net_b, opt_b, accelerator)
    steps = {
        "coteaching": CoTeachingStep(*pair, forget_rate=rate),
        "coteaching_plus": CoTeachingPlusStep(*pair, forget_rate=rate, init_epoch=0),
        "jocor": JoCoRStep(*pair, forget_rate=rate, co_lambda=0.9),
        "decoupling": DecouplingStep(*pair),
    }

    g = torch.Generator().manual_seed(0)
    batch = {"x": torch.randn(args.batch_size, channels, height, width, generator=g).to(device),
             "y": torch.randint(0, 10, (args.batch_size,), generator=g).to(device),
             "index": torch.arange(args.batch_size, device=device)}

    def two_plain_steps():
        plain_a(None, batch)
        return plain_b(None, batch)["loss"]

    calls = {"two plain steps": two_plain_steps}
    calls.update({name: (lambda step=step: step(None, batch)["loss"])
                  for name, step in steps.items()})

    times = time_rounds(calls, iters, device, warmups=2)

    plain = times["two plain steps"]
    print(device_line(device))
    print(f"{model_name}, {channels}x{height}x{width} inputs, batch {args.batch_size} (both "
          f"networks), {iters} timed rounds")
    print(f"two plain supervised steps: {statistics.median(plain) * 1000:.2f} ms (median)")
    ratios = {}
    for name in steps:
        ratios[name] = statistics.median(times[name]) / statistics.median(plain)
        print(f"{name:<16} {statistics.median(times[name]) * 1000:8.2f} ms   ratio "
              f"{ratios[name]:.3f} (goal <= 1.10); of the fastest iterations: "
              f"{min(times[name]) / min(plain):.3f}")
    return ratios


if __name__ == "__main__":
    main()
