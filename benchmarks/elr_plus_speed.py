"""Time of one ELR+ iteration over two plain supervised steps, on the same networks and batch,
measured in one run.

    python benchmarks/elr_plus_speed.py                  # CPU: a few iterations, a few minutes
    python benchmarks/elr_plus_speed.py --device cuda --iters 50
    python benchmarks/elr_plus_speed.py --model digits_cnn --image-size 8 --channels 1

The plain reference is two :class:`ignoise.steps.SupervisedStep` calls (network A, then B, on
the batch); the ELR+ iteration is one :class:`ignoise.steps.ELRPlusStep` on the same batch:
besides the two forward-backward passes and optimizer steps it runs the forward of both
weight-averaged copies (no gradient), two mixups, the target-estimate updates and the two
weight averages. The forwards of the averaged copies are inherent to ELR+ (about a third of a
forward-backward each), so its ratio sits above the 1.10 of GAL's pair step; what the step adds
beyond them is printed too. The two are timed in alternation (each goes first every other
round), so that other work on a shared machine slows them alike; the ratio of the medians is the
figure, that of the fastest iterations is printed beside it.
"""

from __future__ import annotations

import argparse
import copy
import statistics

import torch
from step_timing import device_line, time_rounds

from ignoise.engine import create_accelerator
from ignoise.handlers import ELRTargets
from ignoise.models import build_model
from ignoise.steps import ELRPlusStep, SupervisedStep

__all__ = ["main"]


def main(argv=None) -> float:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--iters", type=int, default=None, help="timed iterations (cpu 3, cuda 50)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--model", default="preact_resnet18")
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--channels", type=int, default=3)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cpu = args.device == "cpu"
    iters = args.iters or (3 if cpu else 50)
    accelerator = create_accelerator(cpu=cpu)
    device = accelerator.device
    k, n = 10, 50_000

    torch.manual_seed(0)
    nets = [build_model(args.model, k, args.channels) for _ in range(2)]
    emas = [copy.deepcopy(net).to(device).requires_grad_(False) for net in nets]
    sgd = lambda m: torch.optim.SGD(m.parameters(), lr=0.02, momentum=0.9, weight_decay=5e-4)
    opts = [sgd(net) for net in nets]
    net_a, net_b, opt_a, opt_b = accelerator.prepare(*nets, *opts)
    plain_a = SupervisedStep(net_a, opt_a, accelerator)
    plain_b = SupervisedStep(net_b, opt_b, accelerator)
    tables = [ELRTargets(n, k, beta=0.7, batch_size=args.batch_size, device=device)
              for _ in range(2)]
    elr_plus = ELRPlusStep((net_a, net_b), (opt_a, opt_b), accelerator, ema_models=emas,
                           estimates=tables, lam=3.0, mixup_alpha=1.0)

    g = torch.Generator().manual_seed(0)
    size = (args.batch_size, args.channels, args.image_size, args.image_size)
    batch = {"x": torch.randn(size, generator=g).to(device),
             "y": torch.randint(0, k, (args.batch_size,), generator=g).to(device),
             "index": torch.randperm(n, generator=g)[: args.batch_size].to(device)}

    def two_plain_steps():
        plain_a(None, batch)
        return plain_b(None, batch)["loss"]

    def elr_plus_step():
        return elr_plus(None, batch)["loss"]

    @torch.no_grad()
    def averaged_forwards():
        for ema in emas:
            ema.train()
        return sum(ema(batch["x"]).float().sum() for ema in emas)

    # the two steps take turns going first, so that neither always follows the other; the
    # averaged forwards close every round
    times = time_rounds({"plain": two_plain_steps, "plus": elr_plus_step,
                         "ema": averaged_forwards}, iters, device, rotate=("plain", "plus"))
    plain, plus, ema = times["plain"], times["plus"], times["ema"]
    t_plain, t_plus, t_ema = (statistics.median(t) for t in (plain, plus, ema))
    ratio = t_plus / t_plain
    print(device_line(device))
    print(f"{args.model}, {args.image_size}x{args.image_size}x{args.channels}, batch "
          f"{args.batch_size}, {iters} timed iterations")
    print(f"two plain supervised steps:     {t_plain * 1000:.1f} ms (median)")
    print(f"one ELR+ iteration:             {t_plus * 1000:.1f} ms (median)")
    print(f"ratio ELR+ / two plain:         {ratio:.3f}; of the fastest iterations: "
          f"{min(plus) / min(plain):.3f}")
    print(f"forwards of the averaged copies: {t_ema * 1000:.1f} ms = {t_ema / t_plain:.3f} of two "
          f"plain steps")
    print(f"the rest (mixups, estimates, weight averages): "
          f"{(t_plus - t_ema - t_plain) / t_plain:.3f} of two plain steps")
    return ratio


if __name__ == "__main__":
    main()
