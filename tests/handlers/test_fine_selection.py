"""FINE's selection (Kim et al., NeurIPS 2021): eigenvector scores against a NumPy reference
(``np.linalg.eigh`` of each class's gram matrix, and the authors' SVD), the per-class mixture
against scikit-learn called directly, the handler end to end on known features, its schedule
and checkpoint; and, through ``accelerate launch``, identical state on two ranks and an exact
resume (``fine_worker.py``)."""

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import accelerate_launch
from sklearn.mixture import GaussianMixture

from ignoise.handlers import (
    FineSelection,
    class_gram_matrices,
    fine_clean_probability,
    fine_scores,
    principal_directions,
)

K, D = 3, 6
WORKER = Path(__file__).with_name("fine_worker.py")


@pytest.fixture()
def features():
    """Per class a dominant direction plus noise; a quarter of the labels point elsewhere."""
    rng = np.random.default_rng(0)
    n = 240
    labels = rng.integers(0, K, n)
    centers = rng.normal(size=(K, D)) * 3
    true = labels.copy()
    flip = rng.random(n) < 0.25
    true[flip] = (labels[flip] + 1) % K
    z = centers[true] + rng.normal(size=(n, D))
    return z.astype(np.float32), labels


def numpy_scores(z, labels, squared=True, members=None):
    """The reference: per class, ``np.linalg.eigh`` of ``Z_k^T Z_k`` over its members."""
    members = np.ones(len(z), bool) if members is None else members
    scores = np.zeros(len(z))
    for k in range(K):
        zk = z[(labels == k) & members].astype(np.float64)
        _, vectors = np.linalg.eigh(zk.T @ zk)
        u = vectors[:, -1]
        inner = (z[labels == k] / np.linalg.norm(z[labels == k], axis=1, keepdims=True)) @ u
        scores[labels == k] = inner ** 2 if squared else np.abs(inner)
    return scores


@pytest.mark.parametrize("score", ["squared", "absolute"])
def test_scores_match_numpy_eigh(features, score):
    z, labels = features
    grams = class_gram_matrices(torch.from_numpy(z), torch.from_numpy(labels), K)
    directions = principal_directions(grams)
    got = fine_scores(torch.from_numpy(z), torch.from_numpy(labels), directions, score)
    np.testing.assert_allclose(got.numpy(), numpy_scores(z, labels, score == "squared"),
                               rtol=1e-6, atol=1e-9)


def test_directions_are_the_authors_top_singular_vectors(features):
    """The authors' get_singular_vector: ``np.linalg.svd(features[labels == k])[2][0]``."""
    z, labels = features
    directions = principal_directions(class_gram_matrices(torch.from_numpy(z),
                                                          torch.from_numpy(labels), K))
    for k in range(K):
        v = np.linalg.svd(z[labels == k].astype(np.float64))[2][0]
        assert abs(float(np.dot(v, directions[k].numpy()))) == pytest.approx(1.0, abs=1e-8)
        # sign fixed: the largest-magnitude component is positive
        assert directions[k][directions[k].abs().argmax()] > 0


def test_weights_restrict_the_gram_to_the_selected(features):
    z, labels = features
    members = np.random.default_rng(1).random(len(z)) < 0.6
    grams = class_gram_matrices(torch.from_numpy(z), torch.from_numpy(labels), K,
                                torch.from_numpy(members))
    got = fine_scores(torch.from_numpy(z), torch.from_numpy(labels), principal_directions(grams))
    np.testing.assert_allclose(got.numpy(), numpy_scores(z, labels, members=members), rtol=1e-6,
                               atol=1e-9)


def test_clean_probability_is_sklearn_per_class(features):
    z, labels = features
    scores = torch.from_numpy(numpy_scores(z, labels))
    prob = fine_clean_probability(scores, torch.from_numpy(labels), K, seed=3)
    for k in range(K):
        x = scores.numpy()[labels == k].reshape(-1, 1)
        gmm = GaussianMixture(2, covariance_type="full", tol=1e-6, max_iter=100,
                              random_state=3).fit(x)
        expected = gmm.predict_proba(x)[:, gmm.means_.argmax()]
        np.testing.assert_allclose(prob.numpy()[labels == k], expected, rtol=1e-5, atol=1e-6)


class Batches:
    """The features as a loader of ``{"x", "y", "index"}`` batches in a shuffled order."""

    def __init__(self, z, labels, batch=50):
        order = np.random.default_rng(2).permutation(len(z))
        self.batches = [{"x": torch.from_numpy(z[i]), "y": torch.from_numpy(labels[i]),
                         "index": torch.from_numpy(i)}
                        for i in np.array_split(order, len(z) // batch)]

    def __iter__(self):
        return iter(self.batches)


def test_the_handler_selects_from_the_final_layers_input(features):
    """A network whose final linear layer reads the features themselves: the handler's scores
    are the reference's, its selection the mixtures' and, at the second selection, the
    gram matrices use the first selection's samples only."""
    z, labels = features
    net = torch.nn.Sequential(torch.nn.Identity(), torch.nn.Linear(D, K))
    fine = FineSelection(net, Batches(z, labels), labels, K, warmup_epochs=0, seed=0)
    fine.select()
    np.testing.assert_allclose(fine.scores.numpy(), numpy_scores(z, labels), rtol=1e-5,
                               atol=1e-7)
    expected = fine_clean_probability(torch.from_numpy(numpy_scores(z, labels)),
                                      torch.from_numpy(labels), K)
    assert torch.equal(fine.clean, expected > 0.5)
    first = fine.clean.numpy().copy()
    fine.select()
    np.testing.assert_allclose(fine.scores.numpy(), numpy_scores(z, labels, members=first),
                               rtol=1e-5, atol=1e-7)
    # the selection finds the samples whose label matches their cluster better than chance
    summary = fine.summary(clean_targets=None)
    assert 0.4 < summary["fine_selected_fraction"] < 1.0


def test_schedule_and_screening(features):
    z, labels = features
    net = torch.nn.Sequential(torch.nn.Identity(), torch.nn.Linear(D, K))
    fine = FineSelection(net, Batches(z, labels), labels, K, warmup_epochs=40, every=10)
    assert [e for e in range(1, 80) if fine.selects_at(e)] == [41, 51, 61, 71]
    batch = {"index": torch.tensor([0, 1, 2]), "y": torch.from_numpy(labels[:3])}
    assert torch.equal(fine.screen(batch), batch["y"])  # every sample before the first selection
    fine.clean[1] = False
    assert fine.screen(batch).tolist() == [labels[0], -100, labels[2]]


def test_state_restores_exactly(features):
    z, labels = features
    net = torch.nn.Sequential(torch.nn.Identity(), torch.nn.Linear(D, K))
    fine = FineSelection(net, Batches(z, labels), labels, K)
    fine.select()
    restored = FineSelection(net, Batches(z, labels), labels, K)
    restored.load_state_dict(fine.state_dict())
    for key, value in fine.state_dict().items():
        other = restored.state_dict()[key]
        assert torch.equal(value, other) if torch.is_tensor(value) else value == other
    # the next selection starts from the restored one (its gram uses the restored selection)
    fine.select()
    restored.select()
    assert torch.equal(fine.clean, restored.clean) and torch.equal(fine.scores, restored.scores)


@pytest.mark.integration
@pytest.mark.distributed
def test_two_ranks_hold_identical_state_and_resume_exactly(tmp_path):
    cmd = [*accelerate_launch(2), str(WORKER), str(tmp_path)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    assert ranks[0]["world_size"] == 2
    for run in ("uninterrupted", "resumed"):
        a, b = ranks[0][run], ranks[1][run]
        assert a["selected"] and b["selected"]
        for key in ("clean", "clean_prob", "scores", "directions"):
            assert torch.equal(a[key], b[key]), (run, key)
    for key in ("clean", "clean_prob", "scores", "directions"):
        assert torch.equal(ranks[0]["uninterrupted"][key], ranks[0]["resumed"][key]), key
    clean = ranks[0]["uninterrupted"]["clean"]
    assert 0.2 < float(clean.float().mean()) < 0.95  # a real division, not all or nothing
