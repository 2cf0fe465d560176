"""The GSS direction pool: the three strategies' formulas, normalization, draws and state."""

import pytest
import torch
from ignite.engine import Engine, Events
from scipy.stats import chisquare

from ignoise.handlers import DirectionPool, pool_probabilities, strategy_values

P = torch.tensor([[0.1, 0.7, 0.2], [0.5, 0.25, 0.25]])
GIVEN = torch.tensor([0, 0])


@pytest.mark.parametrize("epoch,total", [(0, 10), (3, 10), (10, 10)])
def test_strategy_values_follow_the_three_formulas(epoch, total):
    t = epoch / total
    v_or, v_pr, v_rd = strategy_values(P, GIVEN, t, lambda1=2.0, lambda2=0.3)
    assert torch.allclose(v_or, torch.tensor([0.1 * (1 - t), 0.5 * (1 - t)]))
    assert torch.allclose(v_pr, torch.tensor([0.7 * 2.0 * t, 0.5 * 2.0 * t]))  # max_k p_k
    assert torch.allclose(v_rd, torch.full((2,), 0.3 * t))
    # The poster's literal reading weighs the predicted class by p_y~ instead.
    _, literal, _ = strategy_values(P, GIVEN, t, lambda1=2.0, lambda2=0.3,
                                    predicted_confidence="given")
    assert torch.allclose(literal, torch.tensor([0.1 * 2.0 * t, 0.5 * 2.0 * t]))


def test_pool_is_the_normalized_sum_of_the_strategies():
    t, l1, l2 = 0.4, 1.5, 0.6
    pool = pool_probabilities(P, GIVEN, t, lambda1=l1, lambda2=l2)
    # sample 0: original on class 0, predicted on class 1, random spread over 3 classes
    row = torch.tensor([0.1 * 0.6 + 0.6 * 0.4 / 3, 0.7 * l1 * t + 0.6 * 0.4 / 3, 0.6 * 0.4 / 3])
    assert torch.allclose(pool[0], row / row.sum(), atol=1e-6)
    # sample 1 predicts its given class: original and predicted weights add on class 0
    row = torch.tensor([0.5 * 0.6 + 0.5 * l1 * t + 0.08, 0.08, 0.08])
    assert torch.allclose(pool[1], row / row.sum(), atol=1e-6)
    assert torch.allclose(pool.sum(dim=1), torch.ones(2))


def test_pool_starts_at_the_given_labels_and_ends_without_them():
    given = torch.tensor([2, 0, 1])
    pool = DirectionPool(given, 3, total_epochs=4, lambda1=1.0, lambda2=0.0)
    assert torch.equal(pool.probs, torch.eye(3)[given])
    assert torch.equal(pool.draw_targets({"index": torch.tensor([0, 1, 2])}), given)
    predictions = torch.tensor([[0.8, 0.1, 0.1]] * 3)
    pool.update(predictions, epoch=4)  # t = 1: only the predicted strategy is left
    assert pool.progress == 1.0
    assert torch.allclose(pool.probs, torch.tensor([[1.0, 0.0, 0.0]] * 3), atol=1e-6)


def test_momentum_and_row_mask():
    pool = DirectionPool(torch.tensor([0, 1]), 2, total_epochs=2, lambda1=1.0, lambda2=0.0,
                         momentum=0.5)
    pool.update(torch.tensor([[0.0, 1.0], [0.0, 1.0]]), epoch=2, rows=torch.tensor([True, False]))
    assert torch.allclose(pool.probs[0], torch.tensor([0.5, 0.5]), atol=1e-6)
    assert torch.equal(pool.probs[1], torch.tensor([0.0, 1.0]))


@pytest.mark.parametrize("redraw", ["epoch", "iteration"])
def test_drawn_targets_follow_the_pool(redraw):
    n, probs = 6000, torch.tensor([0.5, 0.3, 0.15, 0.05])
    pool = DirectionPool(torch.zeros(n, dtype=torch.long), 4, total_epochs=1, redraw=redraw, seed=3)
    pool.probs = probs.expand(n, 4).clone()
    pool.start_epoch(1)
    if redraw == "epoch":
        drawn = pool.draw_targets({"index": torch.arange(n)})
    else:
        drawn = torch.cat([pool.draw_targets({"index": torch.arange(i, i + 500)})
                           for i in range(0, n, 500)])
    counts = torch.bincount(drawn, minlength=4).double()
    expected = torch.tensor([0.5, 0.3, 0.15, 0.05], dtype=torch.float64) * n
    assert chisquare(counts.numpy(), expected.numpy()).pvalue > 1e-3
    # Per-row: a one-hot row always gives its class.
    pool.probs[7] = torch.tensor([0.0, 0.0, 1.0, 0.0])
    pool.start_epoch(2)
    assert int(pool.draw_targets({"index": torch.tensor([7])})) == 2


def test_draws_are_seeded_by_epoch_and_restored_from_state():
    n = 200
    pool = DirectionPool(torch.zeros(n, dtype=torch.long), 5, total_epochs=10, seed=1,
                         redraw="iteration")
    pool.update(torch.full((n, 5), 0.2), epoch=5)
    batch = {"index": torch.arange(n)}
    pool.start_epoch(3)
    first = pool.draw_targets(batch)
    state = pool.state_dict()
    after = pool.draw_targets(batch)
    pool.start_epoch(3)
    assert torch.equal(pool.draw_targets(batch), first)
    pool.start_epoch(4)
    assert not torch.equal(pool.draw_targets(batch), first)
    fresh = DirectionPool(torch.zeros(n, dtype=torch.long), 5, total_epochs=10, seed=1,
                          redraw="iteration")
    fresh.load_state_dict(state)
    assert torch.equal(fresh.probs, pool.probs)
    assert torch.equal(fresh.draw_targets(batch), after)


def test_collected_predictions_update_the_pool_after_each_epoch():
    n, k, total = 12, 3, 4
    given = torch.arange(n) % k
    logits = torch.randn(n, k)
    pool = DirectionPool(given, k, total_epochs=total, lambda1=1.0, lambda2=0.5)
    batches = [{"index": torch.arange(i, i + 4)} for i in range(0, n, 4)]
    trainer = Engine(lambda engine, batch: {"probs": logits[batch["index"]].softmax(1),
                                            "index": batch["index"],
                                            "targets": pool.draw_targets(batch)})
    pool.attach(trainer, output_transform=lambda o: (o["probs"], o["index"]))
    seen = []
    trainer.add_event_handler(Events.ITERATION_COMPLETED,
                              lambda e: seen.append(e.state.output["targets"]))
    trainer.run(batches, max_epochs=2)
    expected = pool_probabilities(logits.softmax(1), given, 2 / total, lambda1=1.0, lambda2=0.5)
    assert pool.progress == 2 / total
    assert torch.allclose(pool.probs, expected, atol=1e-6)
    assert torch.equal(torch.cat(seen[:3]), given)  # epoch 1 trains on the given labels


def test_bad_arguments_are_rejected():
    given = torch.tensor([0, 1])
    with pytest.raises(ValueError, match="redraw"):
        DirectionPool(given, 2, total_epochs=3, redraw="batch")
    with pytest.raises(ValueError, match="predicted_confidence"):
        DirectionPool(given, 2, total_epochs=3, predicted_confidence="max")
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        DirectionPool(torch.tensor([0, 2]), 2, total_epochs=3)
    pool = DirectionPool(given, 2, total_epochs=3)
    with pytest.raises(ValueError, match="exactly one"):
        pool.attach(Engine(lambda e, b: None))
    with pytest.raises(ValueError, match="max_progress"):
        DirectionPool(given, 2, total_epochs=3, max_progress=0.0)
    with pytest.raises(ValueError, match="confidence_gate"):
        DirectionPool(given, 2, total_epochs=3, confidence_gate=1.0)
    with pytest.raises(ValueError, match="keep_given"):
        DirectionPool(given, 2, total_epochs=3, keep_given=1.5)
    with pytest.raises(ValueError, match="original_weight"):
        DirectionPool(given, 2, total_epochs=3, original_weight="w")
    needs_clean = DirectionPool(given, 2, total_epochs=3, original_weight="clean_prob")
    with pytest.raises(ValueError, match="clean_prob"):
        needs_clean.attach(Engine(lambda e, b: None), predictions=lambda: None)


def test_confidence_gate_and_clean_probability_change_the_strategy_values():
    t = 0.5
    # P's rows are 0.7 and 0.5 confident: a gate at 0.6 keeps the first prediction only.
    _, v_pr, _ = strategy_values(P, GIVEN, t, lambda1=2.0, lambda2=0.3, confidence_gate=0.6)
    assert torch.allclose(v_pr, torch.tensor([0.7 * 2.0 * t, 0.0]))
    # The co-divide's clean probability weighs the original strategy in place of p_y~.
    v_or, _, _ = strategy_values(P, GIVEN, t, lambda1=2.0, lambda2=0.3,
                                 clean_prob=torch.tensor([0.9, 0.2]))
    assert torch.allclose(v_or, torch.tensor([0.9 * (1 - t), 0.2 * (1 - t)]))


def test_keep_given_gives_confident_samples_their_given_label():
    t, l1, l2 = 0.5, 1.0, 0.3
    pool = pool_probabilities(P, GIVEN, t, lambda1=l1, lambda2=l2, keep_given=0.4)
    # sample 1 has p_y~ = 0.5 >= 0.4: one-hot on its given class; sample 0 (0.1) switches.
    assert torch.equal(pool[1], torch.tensor([1.0, 0.0, 0.0]))
    assert torch.allclose(pool[0], pool_probabilities(P, GIVEN, t, lambda1=l1, lambda2=l2)[0])
    # With clean probabilities the threshold reads them instead.
    pool = pool_probabilities(P, GIVEN, t, lambda1=l1, lambda2=l2, keep_given=0.8,
                              clean_prob=torch.tensor([0.9, 0.2]))
    row = torch.tensor([0.2 * (1 - t) + 0.5 * l1 * t + l2 * t / 3, l2 * t / 3, l2 * t / 3])
    assert torch.equal(pool[0], torch.tensor([1.0, 0.0, 0.0]))
    assert torch.allclose(pool[1], row / row.sum(), atol=1e-6)


def test_max_progress_caps_the_schedules_and_clean_prob_is_read_at_each_update():
    given = torch.tensor([0, 1])
    clean = torch.tensor([1.0, 0.25])
    pool = DirectionPool(given, 2, total_epochs=4, lambda1=1.0, lambda2=0.0, max_progress=0.5,
                         original_weight="clean_prob")
    predictions = torch.tensor([[0.0, 1.0], [0.0, 1.0]])
    trainer = Engine(lambda engine, batch: None)
    pool.attach(trainer, predictions=lambda: predictions, clean_prob=lambda: clean)
    trainer.run([0], max_epochs=4)  # the last update: e = 3 of 4, capped at t = 0.5
    assert pool.progress == 0.5
    # sample 0: v_or = 1 * 0.5 on class 0, v_pr = 1 * 0.5 on class 1; sample 1: both on class 1
    assert torch.allclose(pool.probs, torch.tensor([[0.5, 0.5], [0.0, 1.0]]), atol=1e-6)


@pytest.mark.parametrize("redraw", ["epoch", "iteration"])
def test_draw_targets_never_reads_a_value_back_to_the_host(redraw, monkeypatch):
    pool = DirectionPool(torch.tensor([0, 1, 2]), 3, total_epochs=4, redraw=redraw,
                         max_progress=0.5, confidence_gate=0.5, keep_given=0.9)
    pool.update(torch.tensor([[0.1, 0.8, 0.1]] * 3), epoch=3)
    pool.start_epoch(4)

    def synchronizes(*args, **kwargs):
        raise AssertionError("draw_targets read a tensor back to the host")

    for name in ("item", "tolist", "__bool__", "__int__", "__float__", "numpy"):
        monkeypatch.setattr(torch.Tensor, name, synchronizes)
    drawn = pool.draw_targets({"index": torch.tensor([2, 0])})
    monkeypatch.undo()
    assert drawn.shape == (2,) and drawn.dtype == torch.long
