"""The intent model's regression: scikit-learn's solution, faster, the same on any core count."""

import numpy as np
import pytest
from scipy.sparse import random as sparse_random
from sklearn.linear_model import LogisticRegression

from bot.understanding.regression import SoftmaxRegression


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    n, classes = 400, 5
    labels = rng.integers(0, classes, n)
    sparse = sparse_random(n, 300, density=0.03, format="lil", random_state=7)
    # Make the classes learnable from both blocks, as intents are from n-grams and vectors.
    for row, label in enumerate(labels):
        sparse[row, label * 10] = 1.0
    dense = rng.normal(size=(n, 16)) + labels[:, None] * 0.3
    names = np.array(["ask", "book", "cancel", "help", "out_of_scope"])[labels]
    return sparse.tocsr(), dense.astype(np.float32), names


def test_it_finds_scikit_learns_solution(data) -> None:
    sparse, dense, labels = data
    ours = SoftmaxRegression(c=30.0).fit(sparse, dense, labels)
    theirs = LogisticRegression(C=30.0, max_iter=2000).fit(
        np.hstack([sparse.toarray(), dense]), labels
    )
    assert list(ours.classes_) == list(theirs.classes_)
    coef = np.vstack([ours.sparse_coef_t, ours.dense_coef_t]).T
    assert np.abs(coef - theirs.coef_).max() < 1e-2 * np.abs(theirs.coef_).max()
    ours_p = ours.probabilities(sparse, dense)
    theirs_p = theirs.predict_proba(np.hstack([sparse.toarray(), dense]))
    assert np.abs(ours_p - theirs_p).max() < 1e-3
    assert (ours_p.argmax(axis=1) == theirs_p.argmax(axis=1)).all()


def test_threads_do_not_change_the_model(data) -> None:
    sparse, dense, labels = data
    one = SoftmaxRegression(c=30.0).fit(sparse, dense, labels, workers=1)
    two = SoftmaxRegression(c=30.0).fit(sparse, dense, labels, workers=2)
    assert np.array_equal(one.sparse_coef_t, two.sparse_coef_t)
    assert np.array_equal(one.dense_coef_t, two.dense_coef_t)
    assert one.n_iter_ == two.n_iter_


def test_probabilities_are_a_distribution(data) -> None:
    sparse, dense, labels = data
    model = SoftmaxRegression(c=1.0).fit(sparse, dense, labels)
    p = model.probabilities(sparse[:10], dense[:10])
    assert p.shape == (10, 5)
    assert np.allclose(p.sum(axis=1), 1.0)
    assert (model.classes_[p.argmax(axis=1)] == labels[:10]).mean() >= 0.8
