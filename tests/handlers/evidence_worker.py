"""Worker for test_sample_evidence.py: records per-sample evidence in a (possibly
multi-process) run and saves each rank's state."""

import sys
from pathlib import Path

import torch

from ignoise.data import build_noisy_data, make_eval_loader
from ignoise.engine import create_accelerator, end_process_group
from ignoise.handlers import SampleEvidence
from ignoise.models import build_model


def main(out: Path) -> None:
    accelerator = create_accelerator(cpu=True)
    rank, world = accelerator.process_index, accelerator.num_processes
    data = build_noisy_data("digits", noise="sym", noise_rate=0.4, seed=0)
    torch.manual_seed(0)
    model = build_model("digits_cnn", data.num_classes, in_channels=1)
    loader = make_eval_loader(data.eval_train, 100, rank=rank, world_size=world)
    evidence = SampleEvidence(lambda x: model(x).softmax(1), loader, data.train.targets,
                              data.num_classes, accelerator, models=[model],
                              clean=data.train.clean_targets,
                              signals={"twice_given": lambda: 2 * evidence.given})
    for step in range(2):  # two "epochs", the model changing in between
        evidence.record()
        with torch.no_grad():
            model.linear.weight.add_(0.05 * (step + 1))
    torch.save({"world": world, "state": evidence.state_dict(),
                "arrays": evidence.arrays()}, out / f"rank{rank}.pt")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
    end_process_group()
