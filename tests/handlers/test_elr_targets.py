"""ELR's target estimates: the table's update against a plain per-sample loop, the ELR and ELR+
steps against plain transcriptions of the authors' code (``ELR/model/loss.py``,
``ELR_plus/model/loss.py`` and ``trainer.py``), and, in two processes through
``accelerate launch``, identical tables on both ranks and an exact resume."""

import copy
import os
import subprocess
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from accelerate import Accelerator
from conftest import accelerate_launch

from ignoise.handlers import ELRTargets
from ignoise.steps import ELRPlusStep, ELRStep, ema_decay_schedule, mixup, sigmoid_rampup

WORKER = Path(__file__).with_name("elr_worker.py")
N, K, B = 20, 5, 6


def engine_at(iteration: int):
    return SimpleNamespace(state=SimpleNamespace(iteration=iteration, epoch=1))


def test_update_matches_a_per_sample_loop():
    generator = torch.Generator().manual_seed(0)
    targets, reference = ELRTargets(N, K, beta=0.7, batch_size=B), torch.zeros(N, K)
    batches = [torch.randperm(N, generator=generator)[:B] for _ in range(8)]
    batches.append(torch.tensor([3, 5, 3, 7]))  # a repeated sample: its last row wins
    for index in batches:
        probs = torch.rand(len(index), K, generator=generator).softmax(1)
        rows = targets.update(index, probs)
        old = reference.clone()
        for j, i in enumerate(index.tolist()):
            reference[i] = 0.7 * old[i] + 0.3 * probs[j]
        torch.testing.assert_close(targets.table, reference)
        torch.testing.assert_close(rows, reference[index])
    with pytest.raises(ValueError, match="more than batch_size"):
        targets.update(torch.arange(B + 1), torch.zeros(B + 1, K))


def test_state_dict_round_trip():
    targets = ELRTargets(N, K, beta=0.9, batch_size=B)
    targets.update(torch.arange(B), torch.rand(B, K))
    restored = ELRTargets(N, K, beta=0.9, batch_size=B)
    restored.load_state_dict(targets.state_dict())
    assert torch.equal(restored.table, targets.table)
    labels = torch.arange(N) % K
    share = restored.weight_on(labels)
    torch.testing.assert_close(share[:B], targets.table[torch.arange(B), labels[:B]]
                               / targets.table[:B].sum(dim=1))
    assert torch.equal(share[B:], torch.zeros(N - B))  # never trained on
    with pytest.raises(ValueError, match="shape"):
        ELRTargets(N + 1, K, beta=0.9, batch_size=B).load_state_dict(targets.state_dict())


def batches(count: int, generator):
    x = torch.randn(N, 8, generator=generator)
    y = torch.randint(0, K, (N,), generator=generator)
    for _ in range(count):
        index = torch.randperm(N, generator=generator)[:B]
        yield {"x": x[index], "y": y[index], "index": index}


def test_elr_step_matches_the_authors_loss():
    """The authors' ``elr_loss.forward``: update ``target[index]`` with the clamped, renormalized
    softmax, then ``CE + lambda mean log(1 - <target[index], clamped softmax>)``."""
    generator = torch.Generator().manual_seed(1)
    model = torch.nn.Linear(8, K)
    ref_model = copy.deepcopy(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    ref_optimizer = torch.optim.SGD(ref_model.parameters(), lr=0.5, momentum=0.9)
    estimates = ELRTargets(N, K, beta=0.7, batch_size=B)
    step = ELRStep(model, optimizer, Accelerator(cpu=True), estimates=estimates, lam=3.0)
    target = torch.zeros(N, K)
    for batch in batches(6, generator):
        out = step(None, batch)
        index, output = batch["index"], ref_model(batch["x"])
        y_pred = F.softmax(output, dim=1).clamp(1e-4, 1 - 1e-4)
        y_pred_ = y_pred.detach()
        target[index] = 0.7 * target[index] + 0.3 * y_pred_ / y_pred_.sum(dim=1, keepdim=True)
        elr_reg = (1 - (target[index] * y_pred).sum(dim=1)).log().mean()
        loss = F.cross_entropy(output, batch["y"]) + 3.0 * elr_reg
        ref_optimizer.zero_grad()
        loss.backward()
        ref_optimizer.step()
        torch.testing.assert_close(out["loss"], loss.detach())
        torch.testing.assert_close(out["regularizer"], elr_reg.detach())
        torch.testing.assert_close(estimates.table, target)
        for p, q in zip(model.parameters(), ref_model.parameters()):
            torch.testing.assert_close(p, q)


def test_elr_plus_step_matches_the_authors_iteration(monkeypatch):
    """Both networks of one ELR+ iteration, with a fixed mixup (``lam``, partner permutation):
    targets of A from B's averaged copy and of B from A's, the mixed ELR loss (lambda ramped,
    labels weighted by the estimates as the code does for CIFAR-100), then the averages."""
    lam_mix, perm = torch.tensor(0.8), torch.tensor([1, 2, 3, 4, 5, 0])
    monkeypatch.setattr("ignoise.steps.elr_plus.mixup", partial(mixup, lam=lam_mix, perm=perm))
    generator = torch.Generator().manual_seed(2)
    torch.manual_seed(2)
    nets = [torch.nn.Linear(8, K), torch.nn.Linear(8, K)]
    emas = [copy.deepcopy(n).requires_grad_(False) for n in nets]
    refs, ref_emas = copy.deepcopy(nets), copy.deepcopy(emas)
    sgd = lambda m: torch.optim.SGD(m.parameters(), lr=0.5, momentum=0.9, weight_decay=5e-4)
    estimates = [ELRTargets(N, K, beta=0.9, batch_size=B) for _ in range(2)]
    decay, ramp = ema_decay_schedule(0.997, 4), (lambda it: sigmoid_rampup(it, 5))
    step = ELRPlusStep(nets, [sgd(n) for n in nets], Accelerator(cpu=True), ema_models=emas,
                       estimates=estimates, lam=7.0, lam_rampup=ramp, ema_decay=decay,
                       weight_labels=True)
    ref_opts, hist = [sgd(n) for n in refs], [torch.zeros(N, K), torch.zeros(N, K)]
    for iteration, batch in enumerate(batches(4, generator), start=1):
        out = step(engine_at(iteration), batch)
        x, index = batch["x"], batch["index"]
        onehot = F.one_hot(batch["y"], K).float()
        averaged = [F.softmax(e(x), dim=1) for e in ref_emas]
        losses = []
        for m in (0, 1):
            hist[m][index] = 0.9 * hist[m][index] + 0.1 * averaged[1 - m]
            q = lam_mix * hist[m][index] + (1 - lam_mix) * hist[m][index][perm]
            mixed_x = lam_mix * x + (1 - lam_mix) * x[perm]
            y = lam_mix * onehot + (1 - lam_mix) * onehot[perm]
            y = y * q / (y * q).sum(dim=1, keepdim=True)
            output = refs[m](mixed_x)
            y_pred = F.softmax(output, dim=1).clamp(1e-4, 1 - 1e-4)
            ce = torch.mean(-torch.sum(y * F.log_softmax(output, dim=1), dim=-1))
            reg = (1 - (q * y_pred).sum(dim=1)).log().mean()
            losses.append(ce + ramp(iteration) * 7.0 * reg)
            ref_opts[m].zero_grad()
            losses[m].backward()
            ref_opts[m].step()
            alpha = sigmoid_rampup(iteration + 1, 4) * 0.997
            for e, p in zip(ref_emas[m].parameters(), refs[m].parameters()):
                e.mul_(alpha).add_(p.detach(), alpha=1 - alpha)
        torch.testing.assert_close(out["loss_a"], losses[0].detach())
        torch.testing.assert_close(out["loss_b"], losses[1].detach())
        for m in (0, 1):
            torch.testing.assert_close(estimates[m].table, hist[m])
            for mine, theirs in ((nets[m], refs[m]), (emas[m], ref_emas[m])):
                for p, q in zip(mine.parameters(), theirs.parameters()):
                    torch.testing.assert_close(p, q)


@pytest.mark.integration
@pytest.mark.distributed
def test_two_ranks_hold_identical_tables_and_resume_exactly(tmp_path):
    cmd = [*accelerate_launch(2), str(WORKER), str(tmp_path)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    for method in ("elr", "elr_plus", "mentornet"):
        ranks = [torch.load(tmp_path / f"{method}_rank{r}.pt", weights_only=True) for r in (0, 1)]
        assert ranks[0]["full"]["world_size"] == 2
        for rank in ranks:
            for key, full in rank["full"].items():
                resumed = rank["resumed"][key]
                for name, value in (full.items() if isinstance(full, dict) else [("", full)]):
                    other = resumed[name] if name else resumed
                    # the run resumed at epoch 1 ends exactly as the uninterrupted one
                    assert torch.equal(torch.as_tensor(value), torch.as_tensor(other)), (
                        method, key, name)
                    # and both ranks hold the same tables and networks
                    theirs = ranks[0]["full"][key]
                    assert torch.equal(torch.as_tensor(value),
                                       torch.as_tensor(theirs[name] if name else theirs))
        if method == "mentornet":  # a threshold from both ranks' losses, not a default
            assert float(ranks[0]["full"]["curriculum_threshold"]) > 0
            continue
        tables = [k for k in ranks[0]["full"] if k.startswith("elr_targets")]
        assert len(tables) == (1 if method == "elr" else 2)
        for key in tables:
            # every row was updated although each rank saw half of the samples
            assert bool((ranks[0]["full"][key].sum(dim=1) > 0).all()), (method, key)
