"""DivideMixStep's main phase against a plain, loop-style reference of DivideMix's ``train()``.

The reference follows the original code (Li et al., ICLR 2020): ``net.train()``,
``net2.eval()``; without gradients, the co-guess is the mean softmax of both networks on both
unlabeled views, sharpened; the labeled targets are ``w y + (1 - w) px`` with ``px`` the
network's mean softmax on both labeled views and ``w`` the clean probability from the *other*
network's division, sharpened; mixup with ``lam = max(lam, 1 - lam)`` and a permutation over
``[x, x2, u1, u2]``; ``Lx`` soft cross-entropy on the labeled mixed rows, ``Lu`` squared error
of probabilities on the unlabeled mixed rows; ``loss = Lx + lambda_u r Lu + prior penalty``.
With ``labeled_only`` (Clothing1M/WebVision code) only the labeled mixed rows are forwarded.

Both the step and the reference draw mixup's weight (a Beta sample on the inputs' device) and
then its permutation (``torch.randperm``) from the same seeded generator, network A first.
"""

import copy
import math
from types import SimpleNamespace

import pytest
import torch
from accelerate import Accelerator

from ignoise.steps import DivideMixStep

K, D, B, N = 4, 6, 4, 16
T, ALPHA, WARMUP, LR = 0.5, 4.0, 1, 0.5
SEED = 1234


def _linear():
    return torch.nn.Linear(D, K)


def _batchnorm():
    return torch.nn.Sequential(torch.nn.Linear(D, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
                               torch.nn.Linear(8, K))


def _batch():
    g = torch.Generator().manual_seed(7)

    def part(start):
        return {"x": torch.randn(B, D, generator=g), "x2": torch.randn(B, D, generator=g),
                "y": torch.randint(0, K, (B,), generator=g),
                "index": torch.arange(start, start + B)}

    return {"a": {"labeled": part(0), "unlabeled": part(4)},
            "b": {"labeled": part(8), "unlabeled": part(12)}}


def _division():
    # Network A's division calls every sample clean, B's calls every sample noisy: the
    # co-refinement of A must use B's row (mostly the network's prediction), not its own.
    g = torch.Generator().manual_seed(3)
    clean_prob = torch.stack([0.9 + 0.1 * torch.rand(N, generator=g),
                              0.1 * torch.rand(N, generator=g)])
    return SimpleNamespace(clean_prob=clean_prob, threshold=0.5)


def _softmax(z):
    return torch.softmax(z, dim=1)


def _sharpen(p):
    p = p ** (1.0 / T)
    return p / p.sum(dim=1, keepdim=True)


def _reference_train(net, net2, optimizer, part, w_all, lambda_u, rampup, labeled_only=False):
    """One DivideMix iteration for ``net`` with ``net2`` the other network (original train())."""
    labeled, unlabeled = part["labeled"], part["unlabeled"]
    inputs_x, inputs_x2 = labeled["x"], labeled["x2"]
    inputs_u, inputs_u2 = unlabeled["x"], unlabeled["x2"]
    batch_size = inputs_x.shape[0]
    labels_x = torch.zeros(batch_size, K).scatter_(1, labeled["y"].view(-1, 1), 1)
    w_x = w_all[labeled["index"]].view(-1, 1).float()

    net.train()
    net2.eval()
    with torch.no_grad():
        outputs_u11 = net(inputs_u)
        outputs_u12 = net(inputs_u2)
        outputs_u21 = net2(inputs_u)
        outputs_u22 = net2(inputs_u2)
        pu = (_softmax(outputs_u11) + _softmax(outputs_u12) + _softmax(outputs_u21)
              + _softmax(outputs_u22)) / 4
        targets_u = _sharpen(pu)
        outputs_x = net(inputs_x)
        outputs_x2 = net(inputs_x2)
        px = (_softmax(outputs_x) + _softmax(outputs_x2)) / 2
        px = w_x * labels_x + (1 - w_x) * px
        targets_x = _sharpen(px)

    # The same draws, in the same order, as the step: a Beta sample, then a permutation.
    a = torch.full((), ALPHA)
    draw = torch.distributions.Beta(a, a).sample()
    lam = max(float(draw), 1 - float(draw))
    all_inputs = torch.cat([inputs_x, inputs_x2, inputs_u, inputs_u2], dim=0)
    all_targets = torch.cat([targets_x, targets_x, targets_u, targets_u], dim=0)
    idx = torch.randperm(all_inputs.size(0))
    mixed_input = torch.empty_like(all_inputs)
    mixed_target = torch.empty_like(all_targets)
    for i in range(all_inputs.size(0)):
        mixed_input[i] = lam * all_inputs[i] + (1 - lam) * all_inputs[idx[i]]
        mixed_target[i] = lam * all_targets[i] + (1 - lam) * all_targets[idx[i]]

    n = batch_size * 2
    if labeled_only:  # DivideMix's Clothing1M/WebVision train()
        mixed_input, mixed_target = mixed_input[:n], mixed_target[:n]
    logits = net(mixed_input)
    logits_x, logits_u = logits[:n], logits[n:]
    Lx = -torch.mean(torch.sum(torch.log_softmax(logits_x, dim=1) * mixed_target[:n], dim=1))
    if labeled_only:
        Lu = torch.zeros(())
    else:
        Lu = torch.mean((_softmax(logits_u) - mixed_target[n:]) ** 2)
    prior = torch.ones(K) / K
    pred_mean = _softmax(logits).mean(0)
    penalty = torch.sum(prior * torch.log(prior / pred_mean))
    loss = Lx + lambda_u * rampup * Lu + penalty
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return {"loss": loss.detach(), "labeled_loss": Lx.detach(), "unlabeled_loss": Lu.detach()}


def _run_both(make_net, lambda_u, labeled_only=False):
    torch.manual_seed(0)
    nets = [make_net(), make_net()]
    ref_nets = copy.deepcopy(nets)
    opts = [torch.optim.SGD(n.parameters(), lr=LR, momentum=0.9) for n in nets]
    ref_opts = [torch.optim.SGD(n.parameters(), lr=LR, momentum=0.9) for n in ref_nets]
    division = _division()
    step = DivideMixStep(nets, opts, Accelerator(cpu=True), division=division, num_classes=K,
                         warmup_epochs=WARMUP, lambda_u=lambda_u, temperature=T, alpha=ALPHA,
                         labeled_only=labeled_only)
    # Epoch 10 (9 from 0), first iteration: ramp-up (9 - 1) / 16 = 0.5.
    engine = SimpleNamespace(state=SimpleNamespace(epoch=10, iteration=1, epoch_length=10))
    batch = _batch()
    torch.manual_seed(SEED)
    out = step(engine, batch)

    torch.manual_seed(SEED)
    rampup = 0.5
    parts = []
    for k, name in enumerate(("a", "b")):
        parts.append(_reference_train(ref_nets[k], ref_nets[1 - k], ref_opts[k], batch[name],
                                      division.clean_prob[1 - k], lambda_u, rampup,
                                      labeled_only))
    ref = {key: torch.stack([p[key] for p in parts]).mean() for key in parts[0]}
    return out, ref, nets, ref_nets, rampup


def _assert_same(out, ref, nets, ref_nets):
    for key in ("labeled_loss", "unlabeled_loss", "loss"):
        assert torch.allclose(out[key], ref[key], atol=1e-5, rtol=1e-5), (key, out[key], ref[key])
    for k, name in enumerate("AB"):
        got, want = nets[k].state_dict(), ref_nets[k].state_dict()
        for key in want:
            assert torch.allclose(got[key].float(), want[key].float(), atol=1e-5, rtol=1e-5), \
                (name, key, (got[key].float() - want[key].float()).abs().max())


def test_main_phase_matches_reference_with_unlabeled_loss():
    out, ref, nets, ref_nets, rampup = _run_both(_linear, lambda_u=25.0)
    assert math.isclose(float(out["unlabeled_weight"]), 25.0 * rampup, rel_tol=1e-6)
    assert float(ref["unlabeled_loss"]) > 0
    _assert_same(out, ref, nets, ref_nets)


def test_main_phase_matches_reference_with_batchnorm_and_unlabeled_loss():
    out, ref, nets, ref_nets, _ = _run_both(_batchnorm, lambda_u=25.0)
    _assert_same(out, ref, nets, ref_nets)


def test_labeled_rows_only_forwards_only_the_mixed_labeled_rows():
    out, ref, nets, ref_nets, _ = _run_both(_batchnorm, lambda_u=0.0, labeled_only=True)
    assert float(out["unlabeled_loss"]) == 0.0
    _assert_same(out, ref, nets, ref_nets)


def test_zero_lambda_u_still_forwards_all_four_views_as_dividemix_cifar_code():
    # DivideMix's CIFAR settings with lambda_u = 0 (sym 20%, asym) forward all 4B rows: the
    # unlabeled rows reach BatchNorm's statistics and the prior penalty.
    out, ref, nets, ref_nets, _ = _run_both(_batchnorm, lambda_u=0.0)
    assert float(out["unlabeled_loss"]) > 0.0
    _assert_same(out, ref, nets, ref_nets)
    only, *_ = _run_both(_batchnorm, lambda_u=0.0, labeled_only=True)
    assert abs(float(only["labeled_loss"]) - float(out["labeled_loss"])) > 1e-4


@pytest.mark.parametrize("make_net", [_linear, _batchnorm], ids=["linear", "batchnorm"])
def test_reference_detects_own_division(make_net):
    # Sanity of the set-up: refining with the network's own division changes the result, so
    # the comparisons above do tell co-refinement from self-refinement.
    torch.manual_seed(0)
    net, net2 = make_net(), make_net()
    division, batch = _division(), _batch()
    results = []
    for row in (1, 0):
        n1, n2 = copy.deepcopy(net), copy.deepcopy(net2)
        opt = torch.optim.SGD(n1.parameters(), lr=LR)
        torch.manual_seed(SEED)
        results.append(_reference_train(n1, n2, opt, batch["a"], division.clean_prob[row],
                                        25.0, 0.5)["labeled_loss"])
    assert abs(float(results[0] - results[1])) > 1e-3


def test_per_epoch_alternation_trains_a_in_the_first_phase_and_b_in_the_second():
    # DivideMix's loop: A's phase of the epoch's iterations, then B's, each on its own batch.
    torch.manual_seed(0)
    nets = [_batchnorm(), _batchnorm()]
    ref_nets = copy.deepcopy(nets)
    opts = [torch.optim.SGD(n.parameters(), lr=LR, momentum=0.9) for n in nets]
    ref_opts = [torch.optim.SGD(n.parameters(), lr=LR, momentum=0.9) for n in ref_nets]
    division = _division()
    step = DivideMixStep(nets, opts, Accelerator(cpu=True), division=division, num_classes=K,
                         warmup_epochs=WARMUP, lambda_u=25.0, temperature=T, alpha=ALPHA,
                         alternate="epoch")
    batch = _batch()
    # epoch_length 20: A's phase is iterations 1-10, B's 11-20; iteration 11 is B's first, at
    # the ramp-up position of epoch 10's start, (9 - 1) / 16 = 0.5.
    for iteration, k in ((1, 0), (11, 1)):
        before = copy.deepcopy(nets[1 - k].state_dict())
        engine = SimpleNamespace(state=SimpleNamespace(epoch=10, iteration=iteration,
                                                       epoch_length=20))
        torch.manual_seed(SEED)
        out = step(engine, batch["ab"[k]])
        torch.manual_seed(SEED)
        ref = _reference_train(ref_nets[k], ref_nets[1 - k], ref_opts[k], batch["ab"[k]],
                               division.clean_prob[1 - k], 25.0, 0.5)
        assert math.isclose(float(out["unlabeled_weight"]), 12.5, rel_tol=1e-6)
        for key in ("labeled_loss", "unlabeled_loss", "loss"):
            assert torch.allclose(out[key], ref[key], atol=1e-5, rtol=1e-5), key
        for key, value in nets[1 - k].state_dict().items():  # the other network rests
            assert torch.equal(value, before[key]), key
    for net, ref_net in zip(nets, ref_nets):
        for key, value in ref_net.state_dict().items():
            assert torch.allclose(net.state_dict()[key].float(), value.float(), atol=1e-5)
