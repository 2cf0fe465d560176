"""Handlers' arguments, events, state and summaries against hand computations.

Written for what the mutation run showed no test pinned: the checks at the argument boundary
(each bad value named in the message), the events the handlers attach to, the epoch arithmetic
of the direction pool's schedule (``t = e / E`` after ``e`` completed epochs), the collected
predictions' mean, the co-divide summaries (precision and recall of the labeled subsets) and
checkpoint round trips.
"""

import math
import re
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from accelerate import Accelerator
from ignite.engine import Engine, Events

from ignoise.handlers import CoDivide, DirectionPool, PhaseSwitch, PseudoLabels, SampleEvidence
from ignoise.handlers.co_divide import clean_probability
from ignoise.handlers.direction_pool import pool_probabilities
from ignoise.handlers.gradient_bias import GradientBias, drawn_label_distribution, final_linear

ACC = Accelerator(cpu=True)


def _raises(match, fn, *args, **kwargs):
    with pytest.raises(ValueError, match="^" + re.escape(match)):
        fn(*args, **kwargs)


def _engine(epoch=1, iteration=1, output=None):
    return SimpleNamespace(state=SimpleNamespace(epoch=epoch, iteration=iteration, output=output))


def _pool_hand(p, y, t, lambda1, lambda2):
    """The GSS pool of one sample by hand: v_or on y, v_pr = max p lambda1 t on argmax p, and
    lambda2 t / K on every class, normalized."""
    k = len(p)
    row = [lambda2 * t / k] * k
    row[y] += p[y] * (1 - t)
    row[max(range(k), key=lambda c: p[c])] += max(p) * lambda1 * t
    return [v / sum(row) for v in row]


# -- direction pool ------------------------------------------------------------------------

def test_direction_pool_arguments():
    given = torch.tensor([0, 1, 2])
    pool = DirectionPool(given, 3, total_epochs=4)
    assert (pool.lambda1, pool.lambda2, pool.seed, pool.momentum) == (1.0, 0.1, 0, 0.0)
    assert pool.progress == 0.0 and pool.device == torch.device("cpu")
    assert torch.equal(pool.probs, torch.eye(3)) and pool.given.dtype == torch.long
    _raises("redraw must be one of ('epoch', 'iteration'), got 'batch'",
            DirectionPool, given, 3, total_epochs=4, redraw="batch")
    _raises("predicted_confidence must be one of ('predicted', 'given'), got 'max'",
            DirectionPool, given, 3, total_epochs=4, predicted_confidence="max")
    _raises("predicted_confidence must be one of ('predicted', 'given'), got 'max'",
            pool_probabilities, torch.eye(3), given, 0.5, lambda1=1.0, lambda2=0.1,
            predicted_confidence="max")
    _raises("total_epochs must be a positive integer, got 0",
            DirectionPool, given, 3, total_epochs=0)
    for l1, l2 in ((-1.0, 0.1), (1.0, -0.1)):
        _raises(f"lambda1 and lambda2 must be non-negative, got {l1}, {l2}",
                DirectionPool, given, 3, total_epochs=4, lambda1=l1, lambda2=l2)
    zero = DirectionPool(given, 3, total_epochs=4, lambda1=0.0, lambda2=0.0)
    assert (zero.lambda1, zero.lambda2) == (0.0, 0.0)
    assert DirectionPool(given, 3, total_epochs=4, lambda1=0.5).lambda1 == 0.5
    for bad in (1.0, 1.5, -0.1):
        _raises(f"momentum must lie in [0, 1), got {bad}",
                DirectionPool, given, 3, total_epochs=4, momentum=bad)
    for bad in ([[0, 1]], [0, 3], [-1, 0]):
        _raises("given labels must be a 1-D tensor of classes in [0, 3)",
                DirectionPool, torch.tensor(bad), 3, total_epochs=4)
    pool.attach(Engine(lambda e, b: None), predictions=lambda: None)
    _raises("give exactly one of output_transform= and predictions=",
            pool.attach, Engine(lambda e, b: None))


def test_pool_probabilities_keep_the_given_confidence_reading():
    p = torch.tensor([[0.1, 0.6, 0.3]])
    got = pool_probabilities(p, torch.tensor([2]), 0.5, lambda1=1.0, lambda2=0.3,
                             predicted_confidence="given")
    # "given": v_pr = p_y~ lambda1 t = 0.3 * 0.5 on the argmax class 1.
    row = [0.3 * 0.5 / 3, 0.3 * 0.5 / 3 + 0.15, 0.3 * 0.5 / 3 + 0.15]
    assert torch.allclose(got[0], torch.tensor([v / sum(row) for v in row]), atol=1e-6)
    # A row whose three weights vanish becomes uniform (p_y~ = 0, t = 0).
    flat = pool_probabilities(torch.tensor([[0.0, 1.0]]), torch.tensor([0]), 0.0,
                              lambda1=1.0, lambda2=0.0)
    assert torch.allclose(flat, torch.tensor([[0.5, 0.5]]))


def test_direction_pool_reads_predictions_of_the_completed_epochs():
    given = torch.tensor([0, 1, 2, 0])
    p = torch.tensor([[0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.6, 0.3, 0.1], [0.3, 0.3, 0.4]])
    pool = DirectionPool(given, 3, total_epochs=5, lambda1=1.0, lambda2=0.2)
    calls = []
    pool._predictions = lambda: calls.append(1) or (p if len(calls) > 1 else None)
    pool._epoch_started(_engine(epoch=1))  # no predictions yet: the one-hot pool stays
    assert torch.equal(pool.probs, torch.eye(3)[given])
    pool._epoch_started(_engine(epoch=4))  # three completed epochs: t = 3 / 5
    assert pool.progress == pytest.approx(0.6)
    for i in range(4):
        want = _pool_hand(p[i].tolist(), int(given[i]), 0.6, 1.0, 0.2)
        assert torch.allclose(pool.probs[i], torch.tensor(want), atol=1e-6)
    pool.update(p, epoch=9)  # past the last epoch the schedule stays at t = 1
    assert pool.progress == 1.0


def test_direction_pool_collects_the_mean_prediction_of_the_seen_samples():
    given = torch.tensor([0, 1, 2])
    pool = DirectionPool(given, 3, total_epochs=2, lambda1=1.0, lambda2=0.0)
    trainer = Engine(lambda e, b: None)
    pool.attach(trainer, output_transform=lambda out: out)
    first = torch.tensor([[0.1, 0.8, 0.1], [0.2, 0.2, 0.6]])
    second = torch.tensor([[0.3, 0.6, 0.1]])
    pool._collect(_engine(output=(first, torch.tensor([0, 1]))))
    pool._collect(_engine(output=(second, torch.tensor([0]))))
    pool._apply_collected(_engine(epoch=1))
    mean0 = [0.2, 0.7, 0.1]  # sample 0 seen twice: the mean of its two predictions
    assert torch.allclose(pool.probs[0], torch.tensor(_pool_hand(mean0, 0, 0.5, 1.0, 0.0)),
                          atol=1e-6)
    assert torch.allclose(pool.probs[1],
                          torch.tensor(_pool_hand([0.2, 0.2, 0.6], 1, 0.5, 1.0, 0.0)), atol=1e-6)
    assert torch.equal(pool.probs[2], torch.tensor([0.0, 0.0, 1.0]))  # unseen: kept
    assert pool._sum is None and pool._count is None
    pool._apply_collected(_engine(epoch=2))  # nothing collected: nothing changes
    assert pool.progress == 0.5
    # The events: draws at EPOCH_STARTED, collection per iteration, pool at EPOCH_COMPLETED.
    assert trainer.has_event_handler(pool._epoch_started, Events.EPOCH_STARTED)
    assert trainer.has_event_handler(pool._collect, Events.ITERATION_COMPLETED)
    assert trainer.has_event_handler(pool._apply_collected, Events.EPOCH_COMPLETED)


def test_direction_pool_momentum_and_draw_seeding():
    given = torch.tensor([0, 1])
    p = torch.tensor([[0.1, 0.9], [0.8, 0.2]])
    pool = DirectionPool(given, 2, total_epochs=2, momentum=0.25, lambda2=0.0)
    pool.update(p, epoch=1)
    fresh = torch.tensor([_pool_hand([0.1, 0.9], 0, 0.5, 1.0, 0.0),
                          _pool_hand([0.8, 0.2], 1, 0.5, 1.0, 0.0)])
    assert torch.allclose(pool.probs, 0.25 * torch.eye(2) + 0.75 * fresh, atol=1e-6)
    # Each epoch's draws come from a generator seeded by (seed, epoch), the same on every rank.
    many = DirectionPool(torch.zeros(200, dtype=torch.long), 2, total_epochs=2, seed=7)
    many.probs = torch.full((200, 2), 0.5)
    many.start_epoch(3)
    g = torch.Generator().manual_seed(7 * 1_000_003 + 3 * 1_009)
    assert torch.equal(many.drawn, torch.multinomial(many.probs, 1, generator=g).squeeze(1))
    assert many.switched_fraction() == pytest.approx(float((many.drawn != 0).float().mean()))
    assert 0.3 < many.switched_fraction() < 0.7
    again = many.drawn.clone()
    many.start_epoch(3)
    assert torch.equal(many.drawn, again)
    assert torch.equal(many.draw_targets({"index": torch.tensor([5, 2])}), again[[5, 2]])
    # "iteration" redraws per batch from the (seed, epoch, rank) generator.
    it = DirectionPool(torch.zeros(200, dtype=torch.long), 2, total_epochs=2, seed=7,
                       redraw="iteration")
    it.probs = torch.full((200, 2), 0.5)
    it.start_epoch(3)
    g = torch.Generator().manual_seed(7 * 1_000_003 + 3 * 1_009 + 0)
    index = torch.arange(50)
    want = torch.multinomial(it.probs[index], 1, generator=g).squeeze(1)
    assert torch.equal(it.draw_targets({"index": index}), want)
    assert torch.equal(it.drawn, it.given)  # no per-epoch draw with "iteration"


def test_direction_pool_state_round_trip():
    pool = DirectionPool(torch.tensor([0, 1, 1]), 2, total_epochs=4, seed=3)
    pool.update(torch.tensor([[0.2, 0.8], [0.9, 0.1], [0.5, 0.5]]), epoch=2)
    pool.start_epoch(3)
    state = pool.state_dict()
    other = DirectionPool(torch.tensor([0, 1, 1]), 2, total_epochs=4)
    other.load_state_dict(state)
    assert torch.equal(other.probs, pool.probs) and torch.equal(other.drawn, pool.drawn)
    assert other.progress == 0.5
    index = {"index": torch.arange(3)}
    other.redraw = pool.redraw = "iteration"
    assert torch.equal(other.draw_targets(index), pool.draw_targets(index))


# -- co-divide ---------------------------------------------------------------------------------

class _Sampler:
    def __init__(self):
        self.divisions = []

    def set_division(self, a, b):
        self.divisions.append((a.clone(), b.clone()))


def _codivide_data(n=40):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 2, generator=g)
    x[:, 0] = x[:, 0].sign() * (1.0 + x[:, 0].abs())  # every sample far from the boundary
    y = (x[:, 0] > 0).long()
    y_noisy = y.clone()
    y_noisy[:8] = 1 - y_noisy[:8]
    loader = [{"x": x[i:i + 10], "y": y_noisy[i:i + 10], "index": torch.arange(i, i + 10)}
              for i in range(0, n, 10)]
    return x, y, y_noisy, loader


def _nets():
    torch.manual_seed(0)
    nets = []
    for _ in range(2):
        net = torch.nn.Linear(2, 2)
        with torch.no_grad():
            net.weight.copy_(torch.tensor([[-3.0, 0.0], [3.0, 0.0]]))
            net.bias.zero_()
        nets.append(net)
    return nets


def test_co_divide_arguments_and_defaults():
    nets = _nets()
    for bad in (0.0, 1.0):
        _raises(f"threshold must lie in (0, 1), got {bad}", CoDivide, nets, [],
                num_samples=4, num_classes=2, threshold=bad)
    _raises("loss_history must be at least 1, got 0", CoDivide, nets, [], num_samples=4,
            num_classes=2, loss_history=0)
    _raises("a co-divide sampler needs exactly two networks, got 1", CoDivide, nets[:1], [],
            num_samples=4, num_classes=2, sampler=_Sampler())
    divide = CoDivide(nets, [], num_samples=4, num_classes=2)
    assert (divide.warmup_epochs, divide.threshold, divide.loss_history) == (0, 0.5, 1)
    assert divide.predictions_every_epoch is False and divide.divided is False
    assert divide.gmm == {"max_iter": 10, "tol": 1e-2, "reg_covar": 5e-4, "seed": 0}
    assert torch.equal(divide.clean_prob, torch.ones(2, 4)) and divide.predictions is None
    assert divide.device == torch.device("cpu")
    assert CoDivide(nets, [], num_samples=4, num_classes=2, accelerator=ACC).device == ACC.device


def test_co_divide_before_the_first_division_keeps_every_sample():
    divide = CoDivide(_nets(), [], num_samples=4, num_classes=2)
    batch = {"index": torch.tensor([3, 1]), "y": torch.tensor([1, 0])}
    assert divide.kept(batch).dtype == torch.bool and bool(divide.kept(batch).all())
    assert torch.equal(divide.screen(batch), batch["y"])
    assert divide.summary() == {}


def test_co_divide_schedule_division_summary_and_state():
    x, y, y_noisy, loader = _codivide_data()
    sampler = _Sampler()
    divide = CoDivide(_nets(), loader, num_samples=40, num_classes=2, warmup_epochs=2,
                      sampler=sampler, predictions_every_epoch=True, loss_history=2)
    trainer = Engine(lambda e, b: None)
    divide.attach(trainer)
    assert trainer.has_event_handler(divide, Events.EPOCH_STARTED)
    divide(_engine(epoch=1))  # warm-up, first epoch: nothing to predict from yet
    assert divide.predictions is None and not divide.divided
    divide(_engine(epoch=2))  # warm-up: predictions only, no division handed out
    assert divide.predictions is not None and not divide.divided and sampler.divisions == []
    assert len(divide.history) == 1
    divide(_engine(epoch=3))
    assert divide.divided and len(sampler.divisions) == 1 and len(divide.history) == 2
    # The predictions are the mean softmax of the networks over the training set.
    probs = torch.softmax(_nets()[0](x), dim=1)
    assert torch.allclose(divide.predictions, probs, atol=1e-6)
    # The 8 flipped labels have the large losses: each network calls them noisy.
    for m in range(2):
        assert not bool(divide.labeled(m)[:8].any()) and bool(divide.labeled(m)[8:].all())
    labeled_for_a, labeled_for_b = sampler.divisions[0]
    assert torch.equal(labeled_for_a, divide.labeled(1))
    assert torch.equal(labeled_for_b, divide.labeled(0))
    batch = {"index": torch.tensor([0, 9]), "y": torch.tensor([1, 0])}
    assert torch.equal(divide.kept(batch, 1), torch.tensor([False, True]))
    assert torch.equal(divide.screen(batch, 1), torch.tensor([-100, 0]))
    # Summary by hand: with 4 of the 8 noisy samples called clean by a changed division,
    # precision = hits / labeled and recall = hits / correct.
    divide.clean_prob[1, :4] = 0.9
    divide.clean_prob[1, 10:20] = 0.1
    out = divide.summary(clean_targets=y.numpy(), given_targets=y_noisy.numpy())
    labeled = divide.labeled(1)
    correct = y == y_noisy
    hits = float((labeled & correct).sum())
    assert out["labeled_fraction_1"] == pytest.approx(float(labeled.float().mean()))
    assert out["labeled_precision_1"] == pytest.approx(hits / float(labeled.sum()))
    assert out["labeled_recall_1"] == pytest.approx(hits / float(correct.sum()))
    assert out["labeled_precision_1"] == pytest.approx(22 / 26)
    assert out["labeled_recall_1"] == pytest.approx(22 / 32)
    assert set(divide.summary()) == {"labeled_fraction_0", "labeled_fraction_1"}
    assert set(divide.summary(clean_targets=y.numpy())) == {"labeled_fraction_0",
                                                              "labeled_fraction_1"}
    # Nothing labeled: precision 0, not a division by zero.
    divide.clean_prob[0] = 0.0
    assert divide.summary(y.numpy(), y_noisy.numpy())["labeled_precision_0"] == 0.0
    # State round trip, into a co-divide whose sampler gets the division back at once.
    state = divide.state_dict()
    assert state["history"].shape == (2, 2, 40)
    sampler2 = _Sampler()
    other = CoDivide(_nets(), loader, num_samples=40, num_classes=2, sampler=sampler2)
    other.load_state_dict(state)
    assert torch.equal(other.clean_prob, divide.clean_prob) and other.divided
    assert torch.equal(other.predictions, divide.predictions)
    assert len(other.history) == 2 and torch.equal(other.history[1], divide.history[1])
    assert torch.equal(sampler2.divisions[0][0], divide.labeled(1))
    assert torch.equal(sampler2.divisions[0][1], divide.labeled(0))
    fresh = CoDivide(_nets(), loader, num_samples=40, num_classes=2).state_dict()
    assert fresh["history"].numel() == 0 and "predictions" not in fresh
    blank = CoDivide(_nets(), loader, num_samples=40, num_classes=2, sampler=_Sampler())
    blank.load_state_dict(fresh)
    assert blank.history == [] and blank.predictions is None and blank.sampler.divisions == []


def test_co_divide_divide_without_apply_and_the_default():
    x, y, y_noisy, loader = _codivide_data()
    divide = CoDivide(_nets(), loader, num_samples=40, num_classes=2)
    divide.divide(apply=False)
    assert not divide.divided
    divide.divide()
    assert divide.divided


def test_clean_probability_edges():
    assert torch.equal(clean_probability(torch.full((5,), 0.3)), torch.ones(5))
    # Two tight clusters: the low-loss one is clean, whichever component the GMM put first.
    losses = torch.cat([torch.full((20,), 0.1), torch.full((20,), 0.9)])
    losses = losses + 0.01 * torch.linspace(-1, 1, 40)
    p = clean_probability(losses)
    assert bool((p[:20] > 0.99).all()) and bool((p[20:] < 0.01).all())
    assert p.dtype == torch.float32 and p.shape == (40,)


# -- pseudo-labels, sample evidence, phase switch, gradient bias ------------------------------

def test_pseudo_labels_attach_defaults_and_refresh_epoch():
    teacher = torch.nn.Linear(2, 2)
    batch = {"x": torch.randn(4, 2), "y": torch.zeros(4, dtype=torch.long),
             "index": torch.arange(4)}
    table = PseudoLabels([teacher], [batch], 4, 2, ACC, start_epoch=3)
    assert table.pseudo_label_threshold == 0.8 and table.refreshed_epoch == 0
    assert torch.equal(table.joint, torch.full((4, 2), 0.5))
    assert PseudoLabels([teacher], [batch], 4, 2, ACC).start_epoch == 1
    trainer = Engine(lambda e, b: None)
    epochs = []
    trainer.add_event_handler(Events.EPOCH_STARTED, lambda e: epochs.append(
        (e.state.epoch, table.refreshed_epoch)))
    table.attach(trainer)
    trainer.run([0], max_epochs=4)
    # Refreshed at the start of epochs 3 and 4 only (the recorder above runs first).
    assert epochs == [(1, 0), (2, 0), (3, 0), (4, 3)] and table.refreshed_epoch == 4
    assert torch.allclose(table.joint, torch.softmax(teacher(batch["x"]), 1))
    state = table.state_dict()
    other = PseudoLabels([teacher], [batch], 4, 2, ACC)
    other.load_state_dict(state)
    assert other.refreshed_epoch == 4 and torch.equal(other.joint, table.joint)


def test_pseudo_labels_summary_counts_confidence_strictly_above_epsilon():
    teacher = torch.nn.Linear(2, 2)
    table = PseudoLabels([teacher], [], 3, 2, ACC, clean_targets=[0, 1, 1])
    table.joint = torch.tensor([[0.8, 0.2], [0.1, 0.9], [0.6, 0.4]])
    stats = table._summarize()
    assert stats["pseudo_label_confident_fraction"] == pytest.approx(1 / 3)
    assert stats["pseudo_label_precision"] == 1.0
    assert stats["pseudo_label_accuracy"] == pytest.approx(2 / 3)
    assert table.clean.dtype == torch.long


def test_sample_evidence_arrays_save_attach_and_state(tmp_path):
    x = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    loader = [{"x": x, "index": torch.arange(3)}]
    given = [0, 0, 1]
    evidence = SampleEvidence(lambda x: x.softmax(1), loader, given, 2, ACC, clean=[0, 1, 1],
                              signals={"score": lambda: torch.tensor([1.0, 2.0, 3.0])})
    assert torch.equal(evidence.probs, torch.full((3, 2), 0.5))
    arrays = evidence.arrays()  # before any record: uniform, zero sums, zero epochs
    assert arrays["epochs"] == 0 and np.all(arrays["loss_mean"] == 0)
    assert arrays["given_label"].dtype == np.int64
    trainer = Engine(lambda e, b: None)
    evidence.attach(trainer)
    trainer.run([0], max_epochs=2)
    p = x.softmax(1)
    loss = [-math.log(float(p[i, given[i]])) for i in range(3)]
    margin = [math.log(float(p[i, given[i]])) - math.log(float(p[i, 1 - given[i]]))
              for i in range(3)]
    arrays = evidence.arrays()
    assert arrays["epochs"] == 2
    assert np.allclose(arrays["loss_mean"], loss, atol=1e-6)
    assert np.allclose(arrays["loss_last"], loss, atol=1e-6)
    assert np.allclose(arrays["margin_mean"], margin, atol=1e-6)
    assert np.array_equal(arrays["given_label"], given)
    assert np.array_equal(arrays["clean_label"], [0, 1, 1])
    assert np.array_equal(arrays["score"], [1.0, 2.0, 3.0])
    path = evidence.save(tmp_path / "deep" / "evidence.npz", "gal")
    with np.load(path) as saved:
        assert str(saved["method"]) == "gal"
        assert set(saved.files) == {"method", *arrays}
        assert np.allclose(saved["margin_last"], margin, atol=1e-6)
    evidence.save(path, "gal")  # the folder exists already: fine
    other = SampleEvidence(lambda x: x.softmax(1), loader, given, 2, ACC)
    other.load_state_dict(evidence.state_dict())
    assert other.epochs == 2 and torch.equal(other.loss_sum, evidence.loss_sum)
    assert torch.equal(other.probs, evidence.probs)
    assert torch.equal(other.margin_last, evidence.margin_last)
    assert "clean_label" not in other.arrays()


def _opt_sched(model):
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    return opt, torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)


def test_phase_switch_arguments():
    src = torch.nn.Linear(2, 2)
    opt, sched = _opt_sched(src)
    tgt = torch.nn.Linear(2, 2)
    t_opt, t_sched = _opt_sched(tgt)
    for bad in (-1, 1.5):
        _raises(f"warmup_epochs must be a non-negative integer, got {bad!r}",
                PhaseSwitch, bad, (src, opt, sched), [])
    assert PhaseSwitch(0, (src, opt, sched), []).phase(1) == "main"
    _raises("targets [0] have a scheduler but the source has none: their scheduler state "
            "would not follow the warm-up; give the source's scheduler",
            PhaseSwitch, 1, (src, opt), [(tgt, t_opt, t_sched)])
    for source in ((src, None, sched), (src, opt, None)):
        _raises("late networks follow the source's learning rate: give the source's "
                "optimizer and scheduler", PhaseSwitch, 1, source, [], late=[(t_opt, t_sched)])
    assert PhaseSwitch(1, (src, opt, sched), [], late=[(t_opt, t_sched)]).late


def test_gradient_bias_arguments_and_tracked_samples():
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    opt = torch.optim.SGD(net.parameters(), 0.1)
    assert final_linear(SimpleNamespace(module=net)) is net[2]
    _raises("ReLU has no nn.Linear layer to probe", final_linear, torch.nn.ReLU())
    given, clean = [0, 1, 1, 0, 1, 0], [0, 0, 1, 1, 1, 1]
    _raises("gradient bias needs the clean labels (y_clean): this dataset has none",
            GradientBias, net, [], None, optimizer=opt, given_targets=given, clean_targets=None)
    _raises("no mislabeled sample to track: the gradient bias needs label noise", GradientBias,
            net, [], None, optimizer=opt, given_targets=given, clean_targets=given)
    probe = GradientBias(SimpleNamespace(module=net), [], None, optimizer=opt,
                         given_targets=given, clean_targets=clean)
    assert probe.model is net and probe.layer is net[2]
    assert probe.tracked.tolist() == [1, 3, 5]  # the mislabeled ones, all (max_tracked=1000)
    assert probe.slot.tolist() == [-1, 0, -1, 1, -1, 2] and probe.slot.dtype == torch.long
    assert probe.accumulated.shape == (3, 2, 4) and probe.path_length.shape == (3,)
    assert probe.device == torch.device("cpu")
    # max_tracked: a subset of the candidates drawn from a generator seeded by ``seed`` (the
    # same on every rank and run), in index order.
    many_given = torch.arange(40) % 2
    many_clean = torch.where(torch.arange(40) < 30, 1 - many_given, many_given)
    five = GradientBias(net, [], None, optimizer=opt, given_targets=many_given,
                        clean_targets=many_clean, max_tracked=5, seed=4)
    order = torch.randperm(30, generator=torch.Generator().manual_seed(4))[:5]
    assert five.tracked.tolist() == sorted(order.tolist())
    every = GradientBias(net, [], None, optimizer=opt, given_targets=given,
                         clean_targets=clean, mislabeled_only=False)
    assert every.tracked.tolist() == list(range(6))
    trainer = Engine(lambda e, b: None)
    probe.attach(trainer)
    assert trainer.has_event_handler(probe, Events.EPOCH_STARTED)


def test_drawn_label_distribution_is_the_one_hot_drawn_direction():
    pool = DirectionPool(torch.tensor([2, 0, 1]), 3, total_epochs=2)
    batch = {"index": torch.tensor([0, 2])}
    out = drawn_label_distribution(pool)(None, batch, torch.zeros(2, 3))
    assert torch.equal(out, torch.tensor([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]))


def test_gradient_bias_figures_by_hand_and_the_probed_layer():
    deep = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 4), torch.nn.ReLU(),
                               torch.nn.Linear(4, 2))
    assert final_linear(deep) is deep[3]  # the last of three, not the second
    probe = GradientBias(deep, [], None, optimizer=torch.optim.SGD(deep.parameters(), 0.1),
                         given_targets=[0, 1], clean_targets=[1, 0])
    probe.accumulated = torch.zeros(2, 2, 4)
    probe.accumulated[0, 0, 0], probe.accumulated[0, 1, 1] = 3.0, 4.0  # norm 5
    probe.accumulated[1, 1, 1] = -2.0  # norm 2
    probe.path_length = torch.tensor([10.0, 2.0])
    figures = probe.figures(3)
    # bias: mean norm; consistency: mean of norm / path; aggregate: |sum| / count.
    assert figures["epoch"] == 3 and figures["tracked"] == 2
    assert figures["bias"] == pytest.approx(3.5)
    assert figures["consistency"] == pytest.approx((0.5 + 1.0) / 2)
    assert figures["aggregate_bias"] == pytest.approx(math.sqrt(3.0 ** 2 + 2.0 ** 2) / 2)


def test_agreement_ratio_summary_is_empty_before_any_epoch():
    from ignoise.handlers import AgreementRatio

    assert AgreementRatio().summary() == {}


def test_clean_probability_uses_dividemix_em_settings_and_stays_quiet():
    import warnings

    from sklearn.mixture import GaussianMixture

    g = torch.Generator().manual_seed(2)
    losses = torch.cat([0.3 * torch.rand(60, generator=g), 0.5 + 0.5 * torch.rand(40, generator=g)])
    x = losses.double().numpy().reshape(-1, 1)

    def reference(max_iter=10, tol=1e-2, reg_covar=5e-4, seed=0):
        # DivideMix's eval_train: sklearn's two-component mixture with these settings.
        gmm = GaussianMixture(n_components=2, max_iter=max_iter, tol=tol, reg_covar=reg_covar,
                              random_state=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gmm.fit(x)
        return gmm.predict_proba(x)[:, gmm.means_.argmin()]

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # DivideMix stops EM early on purpose: no warning
        for settings in ({}, {"max_iter": 1}, {"max_iter": 100, "tol": 0.5},
                         {"reg_covar": 0.05}, {"seed": 5, "max_iter": 1}):
            got = clean_probability(losses, **settings)
            assert np.allclose(got.numpy(), reference(**settings), atol=1e-6), settings
            assert got.shape == (100,)


def test_co_divide_normalizes_losses_and_passes_its_gmm_settings():
    x, y, y_noisy, loader = _codivide_data()
    nets = _nets()
    with torch.no_grad():
        nets[0].weight.mul_(0.01)  # losses spread far below 1: min-max scaling matters
    divide = CoDivide(nets, loader, num_samples=40, num_classes=2, gmm_max_iter=2,
                      gmm_tol=0.5, gmm_reg_covar=0.05, seed=3, loss_history=3)
    divide.divide()
    with torch.no_grad():
        loss = torch.nn.functional.cross_entropy(nets[0](x), y_noisy, reduction="none")
    want = (loss - loss.min()) / (loss.max() - loss.min())
    assert torch.allclose(divide.history[0][0], want, atol=1e-6)
    ref = clean_probability(want, max_iter=2, tol=0.5, reg_covar=0.05, seed=3)
    assert torch.allclose(divide.clean_prob[0], ref, atol=1e-6)
    divide.divide()
    divide.divide()
    state = divide.state_dict()
    assert state["history"].shape == (3, 2, 40)
    other = CoDivide(_nets(), loader, num_samples=40, num_classes=2, loss_history=3)
    other.load_state_dict(state)
    assert len(other.history) == 3 and other.history[2].shape == (2, 40)


def test_co_divide_threshold_is_strict_and_each_network_has_its_own_row():
    divide = CoDivide(_nets(), [], num_samples=3, num_classes=2)
    divide.clean_prob = torch.tensor([[0.5, 0.7, 0.2], [0.9, 0.1, 0.5]])
    divide.divided = True
    assert divide.labeled(0).tolist() == [False, True, False]  # 0.5 is not above 0.5
    batch = {"index": torch.tensor([0, 1, 2]), "y": torch.tensor([1, 1, 0])}
    assert divide.kept(batch).tolist() == [False, True, False]  # network 0 by default
    assert divide.screen(batch).tolist() == [-100, 1, -100]
    assert divide.screen(batch, 1).tolist() == [1, -100, -100]
    # One labeled sample, one correct one: precision and recall are plain ratios.
    out = divide.summary(clean_targets=[1, 0, 0], given_targets=[1, 1, 1])
    assert out["labeled_precision_0"] == 0.0 and out["labeled_precision_1"] == 1.0
    assert out["labeled_recall_1"] == 1.0


def test_sample_evidence_one_epoch_and_a_deep_folder(tmp_path):
    x = torch.tensor([[2.0, 0.0], [0.0, 1.0]])
    evidence = SampleEvidence(lambda x: x.softmax(1), [{"x": x, "index": torch.arange(2)}],
                              [0, 0], 2, ACC)
    evidence.record()
    p = x.softmax(1)
    assert np.allclose(evidence.arrays()["loss_mean"], [-math.log(float(p[0, 0])),
                                                        -math.log(float(p[1, 0]))], atol=1e-6)
    path = evidence.save(tmp_path / "a" / "b" / "evidence.npz", "ce")
    assert path.exists()


def test_phase_switch_names_a_malformed_source():
    src = torch.nn.Linear(2, 2)
    _raises("source must be (model, optimizer) or (model, optimizer, scheduler), got",
            PhaseSwitch, 1, (src,), [])


def test_direction_pool_update_rescales_summed_predictions_and_reads_its_confidence():
    given = torch.tensor([0, 1])
    pool = DirectionPool(torch.tensor([0, 0]), 3, total_epochs=2)
    assert pool.probs.shape == (2, 3)  # K columns even when the top class is absent
    pool = DirectionPool(given, 2, total_epochs=2, lambda1=1.0, lambda2=0.5,
                         predicted_confidence="given")
    pool.attach(Engine(lambda e, b: None), output_transform=lambda out: out)
    p = torch.tensor([[0.3, 0.7], [0.4, 0.6]])
    for _ in range(3):  # seen three times: the mean, not the sum
        pool._collect(_engine(output=(p, torch.arange(2))))
    pool._apply_collected(_engine(epoch=1))
    # "given": the predicted strategy's weight is p_y~ lambda1 t, on argmax p.
    row0 = [0.5 * 0.5 / 2 + 0.3 * 0.5, 0.5 * 0.5 / 2 + 0.3 * 0.5]
    row1 = [0.5 * 0.5 / 2, 0.5 * 0.5 / 2 + 0.6 * 0.5 + 0.6 * 0.5]
    want = torch.tensor([[v / sum(r) for v in r] for r in (row0, row1)])
    assert torch.allclose(pool.probs, want, atol=1e-6)
