"""Pseudo-label supervising (eqs. 6-11) and the per-epoch pseudo-label table."""

import math

import pytest
import torch
from accelerate import Accelerator

from ignoise.handlers import PseudoLabels
from ignoise.steps import DistillationStep, distillation_loss, joint_probabilities

ACCELERATOR = Accelerator(cpu=True)


def softmax(row: list[float]) -> list[float]:
    e = [math.exp(v) for v in row]
    return [v / sum(e) for v in e]


def test_loss_equals_a_hand_computation_of_eqs_6_to_10():
    logits_a = [[2.0, 0.0, -1.0], [0.1, 0.2, 0.0], [0.0, 3.0, 0.5], [1.0, 1.0, 4.0]]
    logits_b = [[3.0, -1.0, 0.0], [0.0, 0.0, 0.3], [0.2, 2.5, 0.0], [0.0, 0.5, 5.0]]
    logits_c = [[0.5, 0.1, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    eps, bs = 0.8, 4
    # eq. 6: mean of the two softmax outputs; eq. 7: its argmax
    joint = [[(x + y) / 2 for x, y in zip(softmax(a), softmax(b))]
             for a, b in zip(logits_a, logits_b)]
    pseudo = [row.index(max(row)) for row in joint]
    p_c = [softmax(row) for row in logits_c]
    # eq. 9: CE on confident pseudo-labels, divided by the batch size
    l_c = sum(-math.log(p_c[i][pseudo[i]]) for i in range(bs) if max(joint[i]) > eps) / bs
    # eq. 10: KL(joint || C), averaged over the batch
    l_d = sum(j * math.log(j / c) for i in range(bs) for j, c in zip(joint[i], p_c[i])) / bs

    # "models" that ignore their input and return the example's logits
    models = [lambda x: torch.tensor(logits_a), lambda x: torch.tensor(logits_b)]
    joint_t = joint_probabilities(models, torch.zeros(4, 1))
    torch.testing.assert_close(joint_t, torch.tensor(joint))
    out = distillation_loss(torch.tensor(logits_c), joint_t, eps)
    assert sum(max(row) > eps for row in joint) == 3  # the example has both kinds
    assert float(out["loss_pseudo"]) == pytest.approx(l_c, rel=1e-5)
    assert float(out["loss_kl"]) == pytest.approx(l_d, rel=1e-5)
    assert float(out["loss"]) == pytest.approx(l_c + l_d, rel=1e-5)  # eq. 11
    assert float(out["confident_fraction"]) == 0.75


def test_online_and_per_epoch_tables_give_the_same_update():
    torch.manual_seed(0)
    teacher = torch.nn.Linear(5, 3)
    x = torch.randn(10, 5)
    batch = {"x": x, "y": torch.zeros(10, dtype=torch.long), "index": torch.arange(10)}
    table = PseudoLabels([teacher, teacher], [batch], 10, 3, ACCELERATOR)
    table.refresh()
    outs, weights = [], []
    for source in ({"joint": table.lookup}, {"teachers": [teacher, teacher]}):
        torch.manual_seed(1)
        c = torch.nn.Linear(5, 3)
        step = DistillationStep(c, torch.optim.SGD(c.parameters(), 0.5), ACCELERATOR,
                                pseudo_label_threshold=0.3, **source)
        outs.append(step(None, {"a": batch, "b": batch}))  # a paired batch: C uses "a"
        weights.append(c.weight.detach().clone())
    assert float(outs[0]["loss"]) == pytest.approx(float(outs[1]["loss"]))
    torch.testing.assert_close(weights[0], weights[1])


def test_pseudo_label_table_precision_fraction_and_state():
    # Identity teachers: the "inputs" are the logits, so the joint prediction is designed.
    logits = torch.tensor([[5.0, 0.0, 0.0], [0.0, 6.0, 0.0], [0.2, 0.0, 0.1],
                           [0.0, 0.0, 7.0], [4.0, 0.0, 0.0]])
    clean = [0, 1, 0, 0, 1]  # samples 3 and 4 are confidently wrong, 2 is unconfident
    loader = [{"x": logits[[3, 1]], "index": torch.tensor([3, 1])},
              {"x": logits[[0, 4, 2]], "index": torch.tensor([0, 4, 2])}]
    table = PseudoLabels([torch.nn.Identity(), torch.nn.Identity()], loader, 5, 3, ACCELERATOR,
                         pseudo_label_threshold=0.8, clean_targets=clean)
    assert table.summary() == {}
    table.refresh()
    torch.testing.assert_close(table.joint, logits.softmax(1))
    stats = table.summary()
    assert stats["pseudo_label_confident_fraction"] == pytest.approx(4 / 5)
    assert stats["pseudo_label_precision"] == pytest.approx(2 / 4)  # of the confident ones
    assert stats["pseudo_label_accuracy"] == pytest.approx(3 / 5)  # of all
    restored = PseudoLabels([], [], 5, 3, ACCELERATOR)
    restored.load_state_dict(table.state_dict())
    assert torch.equal(restored.joint, table.joint) and restored.summary() == stats


def test_exactly_one_source_of_joint_predictions():
    c = torch.nn.Linear(2, 2)
    with pytest.raises(ValueError, match="exactly one of joint"):
        DistillationStep(c, torch.optim.SGD(c.parameters(), 0.1), ACCELERATOR)
    with pytest.raises(ValueError, match="pseudo_label_threshold must lie in"):
        DistillationStep(c, torch.optim.SGD(c.parameters(), 0.1), ACCELERATOR, teachers=[c],
                         pseudo_label_threshold=1.5)
