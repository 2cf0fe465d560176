"""MentorNet's self-paced curriculum against plain references: v_i = 1[l_i <= lambda] (Jiang et
al. 2018, ``vstar_self_paced``), lambda either the R(T)-th smallest loss of the batch (the
Co-teaching paper's baseline) or MentorNet's code's moving average of the batch's loss
percentile (``tf.contrib.distributions.percentile``, "nearest"); and the update on the kept."""

import copy
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from accelerate import Accelerator

from ignoise.methods import MentorNetConfig
from ignoise.steps import MentorNetStep, MovingPercentile, forget_rate_schedule, keep_count

ACC = Accelerator(cpu=True)
LR = 0.5


def _engine(epoch: int):
    return SimpleNamespace(state=SimpleNamespace(epoch=epoch))


def _net(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(),
                               torch.nn.Linear(7, 4)).double()


def _batch(size: int = 12, seed: int = 3) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {"x": torch.randn(size, 5, generator=g, dtype=torch.float64),
            "y": torch.randint(0, 4, (size,), generator=g), "index": torch.arange(size)}


def _step(net, curriculum="small_loss", tau=0.4, **options):
    return MentorNetStep(net, torch.optim.SGD(net.parameters(), LR), ACC,
                         forget_rate=forget_rate_schedule(tau, 10), curriculum=curriculum,
                         **options)


def _tf_percentile(losses: list[float], p: float) -> float:
    """tf.contrib.distributions.percentile(losses, 100 p, interpolation="nearest"): sort
    descending, take index round((n - 1)(1 - p)) (round half to even, as tf.round)."""
    descending = sorted(losses, reverse=True)
    return descending[round((len(losses) - 1) * (1 - p))]


def _reference_moving(batches: list[list[float]], rates: list[float], decay: float):
    """MentorNet's lambda per batch (started at the first percentile) and each batch's v."""
    lam, thresholds, kept = None, [], []
    for losses, rate in zip(batches, rates):
        q = _tf_percentile(losses, 1 - rate)
        lam = q if lam is None else decay * lam + (1 - decay) * q
        thresholds.append(lam)
        kept.append([i for i, loss in enumerate(losses) if loss - lam <= 0])
    return thresholds, kept


def test_small_loss_keeps_the_r_of_t_smallest_as_a_loop():
    g = torch.Generator().manual_seed(0)
    step = _step(_net(), tau=0.4)
    for epoch in (1, 2, 6, 11, 40):
        losses = torch.rand(20, generator=g, dtype=torch.float64)
        rate = min((epoch - 1) / 10 * 0.4, 0.4)
        keep = keep_count(20, rate)
        ranked = sorted(range(20), key=lambda i: float(losses[i]))
        weights, threshold = step.select(losses, epoch - 1)
        assert weights.tolist() == [float(i in ranked[:keep]) for i in range(20)]
        assert float(threshold) == float(losses[ranked[keep - 1]])  # the largest kept loss


@pytest.mark.parametrize("decay", [0.5, 0.9])
def test_moving_percentile_thresholds_and_kept_samples_equal_mentornets_code(decay):
    g = torch.Generator().manual_seed(1)
    step = _step(_net(), "moving_percentile", tau=0.3, decay=decay)
    epochs = [1, 1, 2, 4, 8, 12, 12, 30]
    batches = [(torch.rand(16, generator=g, dtype=torch.float64) * 3 * (1 + i % 3)).tolist()
               for i in range(len(epochs))]
    batches[3] = batches[3][:15]  # a shorter (last) batch of an epoch
    rates = [min((e - 1) / 10 * 0.3, 0.3) for e in epochs]
    thresholds, kept = _reference_moving(batches, rates, decay)
    for losses, epoch, lam, ref_kept in zip(batches, epochs, thresholds, kept):
        weights, threshold = step.select(torch.tensor(losses, dtype=torch.float64), epoch - 1)
        assert float(threshold) == pytest.approx(lam, rel=1e-6)
        assert [i for i, w in enumerate(weights.tolist()) if w == 1.0] == ref_kept
        assert set(weights.tolist()) <= {0.0, 1.0}


def test_percentile_rounds_half_to_even_as_tensorflow():
    # (n - 1)(1 - p) = 2.5: TF's index round(2.5) = 2 of the descending order, the 4th smallest
    losses = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    tracker = MovingPercentile(decay=0.5)
    assert float(tracker.update(torch.tensor(losses), p=0.5)) == _tf_percentile(losses, 0.5) == 3.0


def test_burn_in_keeps_every_sample_and_still_moves_lambda():
    step = _step(_net(), "moving_percentile", tau=0.5, burn_in_epochs=2)
    losses = torch.arange(10, dtype=torch.float64)
    weights, threshold = step.select(losses, completed_epochs=1)
    assert weights.tolist() == [1.0] * 10 and float(threshold) == 9.0  # R(1) = 0.05: the max
    small = _step(_net(), tau=0.5, burn_in_epochs=2)
    assert small.select(losses, completed_epochs=12)[0].sum() == 5
    assert small.select(losses, completed_epochs=1)[0].sum() == 10


@pytest.mark.parametrize("curriculum", ["small_loss", "moving_percentile"])
def test_the_update_equals_the_loop_reference(curriculum):
    """The small-loss reading descends the mean loss of the kept samples; MentorNet's code's
    reading ``reduce_mean(v * loss)`` over the whole batch."""
    net, batch, epoch = _net(), _batch(), 8
    reference = copy.deepcopy(net)
    step = _step(net, curriculum)
    out = step(_engine(epoch), batch)
    n = len(batch["y"])

    def loss_of(i):
        return F.cross_entropy(reference(batch["x"][i:i + 1]), batch["y"][i:i + 1])

    with torch.no_grad():
        losses = [float(loss_of(i)) for i in range(n)]
    rate = min((epoch - 1) / 10 * 0.4, 0.4)
    if curriculum == "small_loss":
        kept = sorted(range(n), key=lambda i: losses[i])[:keep_count(n, rate)]
        denominator = len(kept)
    else:
        kept = _reference_moving([losses], [rate], 0.5)[1][0]
        denominator = n
    assert sorted(i for i, w in enumerate(step.weights.tolist()) if w) == sorted(kept)
    assert float(out["kept_fraction"]) == pytest.approx(len(kept) / n)
    loss = sum(loss_of(i) for i in kept) / denominator
    grads = torch.autograd.grad(loss, list(reference.parameters()))
    with torch.no_grad():
        for p, grad in zip(reference.parameters(), grads):
            p -= LR * grad
    for p, q in zip(net.parameters(), reference.parameters()):  # the step's loss is float32
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7)
    assert set(out) == {"loss", "kept_fraction", "threshold", "logits", "index", "y"}


def test_lambda_is_checkpointed_and_restored_exactly():
    step = _step(_net(), "moving_percentile")
    for seed in range(3):
        step.select(torch.rand(8, generator=torch.Generator().manual_seed(seed)), 4)
    state = step.threshold.state_dict()
    restored = _step(_net(), "moving_percentile")
    restored.threshold.load_state_dict(copy.deepcopy(state))
    losses = torch.rand(8, generator=torch.Generator().manual_seed(9))
    a, b = step.select(losses, 5), restored.select(losses, 5)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    fresh = MovingPercentile()
    fresh.load_state_dict(MovingPercentile().state_dict())  # saved before any update: NaN
    assert float(fresh.update(torch.arange(3.0), p=1.0)) == 2.0


def test_config_takes_co_teachings_schedule_and_checks_the_curriculum():
    cfg = MentorNetConfig(noise="sym", noise_rate=0.5)
    assert (cfg.effective_forget_rate(), cfg.num_gradual, cfg.curriculum,
            cfg.percentile_decay) == (0.5, 10, "small_loss", 0.5)
    with pytest.raises(ValueError, match="curriculum must be one of"):
        _step(_net(), "spcl")
