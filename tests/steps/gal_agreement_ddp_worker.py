"""Run by ``accelerate launch`` from test_agreement_distributed.py: a few agreement steps under
DDP on rank-different data; rank 0 writes what every rank applied, and what one process computes
on the concatenated batches, to the JSON file given as the only argument."""

import contextlib
import copy
import json
import sys
from types import SimpleNamespace

import torch

from ignoise.engine import create_accelerator, end_process_group
from ignoise.handlers import PseudoLabels
from ignoise.steps import AgreementStep, joint_probabilities


def net() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 16),
                               torch.nn.ReLU(), torch.nn.Linear(16, 3))


def sgd(model):
    return torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9, weight_decay=5e-4)


def batches(rank: int, steps: int = 4, size: int = 8) -> list[dict]:
    g = torch.Generator().manual_seed(100 + rank)  # every rank sees different samples
    half = lambda: {"x": torch.randn(size, 6, generator=g),
                    "y": torch.randint(0, 3, (size,), generator=g), "index": torch.arange(size)}
    return [{"a": half(), "b": half()} for _ in range(steps)]


def main(path: str) -> None:
    accelerator = create_accelerator()  # a gloo group on a CPU-only machine
    rank, world = accelerator.process_index, accelerator.num_processes
    torch.manual_seed(0)
    a = net()
    b = copy.deepcopy(a)
    with torch.no_grad():
        for p in b.parameters():
            p.add_(0.1 * torch.randn_like(p))
    ref_a, ref_b = copy.deepcopy(a), copy.deepcopy(b)
    opt_a, opt_b = sgd(a), sgd(b)
    a, b, opt_a, opt_b = accelerator.prepare(a, b, opt_a, opt_b)
    step = AgreementStep(a, b, opt_a, opt_b, accelerator, granularity="channel")

    masks, ratios = [], []
    for batch in batches(rank):
        out = step(None, batch)
        masks.append(accelerator.gather(step.updated.unsqueeze(0)).tolist())  # one row per rank
        ratios.append(float(out["updated_ratio"]))
    # The pseudo-label table: each rank predicts its share, every rank ends with the whole.
    g = torch.Generator().manual_seed(7)
    inputs = torch.randn(21, 6, generator=g)
    share = [{"x": inputs[i::world][j:j + 4], "index": torch.arange(21)[i::world][j:j + 4]}
             for i in [rank] for j in range(0, len(inputs[i::world]), 4)]
    table = PseudoLabels([a, b], share, 21, 3, accelerator)
    table.refresh()
    tables = accelerator.gather(table.joint.unsqueeze(0))

    weights = torch.cat([p.detach().flatten() for p in a.parameters()] +
                        [p.detach().flatten() for p in b.parameters()])
    all_weights = accelerator.gather(weights.unsqueeze(0))

    if rank == 0:
        # One process on the concatenated batches: DDP's averaged gradient is its gradient.
        plain = SimpleNamespace(device=torch.device("cpu"), autocast=contextlib.nullcontext,
                                backward=lambda loss: loss.backward(), scaler=None)
        ref = AgreementStep(ref_a, ref_b, sgd(ref_a), sgd(ref_b), plain, granularity="channel")
        per_rank = [batches(r) for r in range(world)]
        ref_masks = []
        for t in range(len(per_rank[0])):
            joined = {h: {k: torch.cat([per_rank[r][t][h][k] for r in range(world)])
                          for k in ("x", "y", "index")} for h in ("a", "b")}
            ref(None, joined)
            ref_masks.append(ref.updated.tolist())
        ref_weights = torch.cat([p.detach().flatten() for p in ref_a.parameters()] +
                                [p.detach().flatten() for p in ref_b.parameters()])
        with torch.no_grad():  # what the table must hold: eq. 6 on every sample
            whole = joint_probabilities([ref_a.eval(), ref_b.eval()], inputs)
        with open(path, "w") as f:
            json.dump({"world_size": world, "masks": masks, "ratios": ratios,
                       "tables": tables.tolist(), "ref_table": whole.tolist(),
                       "weights": all_weights.tolist(), "ref_masks": ref_masks,
                       "ref_weights": ref_weights.tolist()}, f)
    accelerator.wait_for_everyone()


if __name__ == "__main__":
    main(sys.argv[1])
    end_process_group()
