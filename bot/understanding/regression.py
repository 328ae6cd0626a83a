"""Multinomial logistic regression over sparse and dense features kept apart.

scikit-learn's LogisticRegression (lbfgs, multinomial) minimises the same objective, but it
takes one matrix, so the intent model stored its 384 dense sentence-vector columns as sparse
entries: 76% of the non-zeros, multiplied one entry at a time at every step, on one core.
Here the dense block goes to BLAS and the sparse block is multiplied in row slices on two
threads (scipy's sparse products release the GIL). The objective, the starting point and the
optimiser's settings are scikit-learn 1.1's, so the solution is the same to within the
optimiser's tolerance (tests/unit/test_regression.py compares them; docs/performance.md has
the timings).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy import optimize
from scipy.sparse import csr_matrix, spmatrix
from threadpoolctl import threadpool_limits

# Training only: serving answers one message at a time, where threads would cost more than
# they save. Two is what these machines have.
WORKERS = max(1, min(2, os.cpu_count() or 1))


def _row_slices(matrix: csr_matrix, parts: int) -> list[csr_matrix]:
    """`matrix` cut into `parts` slices of rows with about equal numbers of entries."""
    if parts == 1 or matrix.shape[0] < parts:
        return [matrix]
    bounds = np.searchsorted(matrix.indptr, np.linspace(0, matrix.nnz, parts + 1))
    bounds[0], bounds[-1] = 0, matrix.shape[0]
    return [matrix[a:b] for a, b in itertools.pairwise(bounds) if b > a]


class SoftmaxRegression:
    """L2-regularised multinomial logistic regression; C as in scikit-learn."""

    def __init__(self, c: float = 1.0, max_iter: int = 2000, tol: float = 1e-4) -> None:
        self.c, self.max_iter, self.tol = c, max_iter, tol
        self.classes_: np.ndarray = np.array([])
        self.sparse_coef_t = np.zeros((0, 0))
        self.dense_coef_t = np.zeros((0, 0))
        self.intercept_ = np.zeros(0)
        self.n_iter_ = 0

    def fit(
        self, sparse: spmatrix, dense: np.ndarray, labels: Sequence[str], workers: int = WORKERS
    ) -> SoftmaxRegression:
        """Learn from `sparse` and `dense` (same rows, any columns) and their labels."""
        classes, y = np.unique(np.asarray(labels), return_inverse=True)
        sparse = csr_matrix(sparse, dtype=np.float64)
        dense = np.ascontiguousarray(dense, dtype=np.float64)
        n, n_sparse = sparse.shape
        n_features = n_sparse + dense.shape[1]
        k = len(classes)
        onehot = np.zeros((n, k))
        onehot[np.arange(n), y] = 1.0
        rows = _row_slices(sparse, workers)
        columns = _row_slices(sparse.T.tocsr(), workers)
        l2 = 1.0 / self.c

        # One BLAS thread: OpenBLAS's own threads spin between the small dense products and
        # fight the sparse slices for the two cores (28.5 s instead of 35.6 s to fit, and 1 s
        # of system time instead of 24); it also makes the sums, so the model, repeatable.
        with ThreadPoolExecutor(max_workers=workers) as pool, threadpool_limits(1, "blas"):

            def product(slices: list[csr_matrix], right: np.ndarray) -> np.ndarray:
                if len(slices) == 1:
                    return np.asarray(slices[0] @ right)
                return np.vstack(list(pool.map(lambda part: np.asarray(part @ right), slices)))

            def loss_and_gradient(w: np.ndarray) -> tuple[float, np.ndarray]:
                # scikit-learn's layout: (classes, features + intercept), ravelled in F order.
                weights = w.reshape((k, n_features + 1), order="F")
                coef = weights[:, :n_features]
                raw = (
                    product(rows, np.ascontiguousarray(coef[:, :n_sparse].T))
                    + dense @ coef[:, n_sparse:].T
                    + weights[:, n_features]
                )
                top = raw.max(axis=1, keepdims=True)
                exp = np.exp(raw - top)
                total = exp.sum(axis=1, keepdims=True)
                loss = float((np.log(total) + top).sum() - raw[np.arange(n), y].sum())
                residual = exp / total - onehot
                gradient = np.empty((k, n_features + 1))
                gradient[:, :n_sparse] = product(columns, residual).T
                gradient[:, n_sparse:n_features] = residual.T @ dense
                gradient[:, n_features] = residual.sum(axis=0)
                loss += 0.5 * l2 * float(np.einsum("ij,ij->", coef, coef))
                gradient[:, :n_features] += l2 * coef
                return loss, gradient.ravel(order="F")

            result = optimize.minimize(
                loss_and_gradient,
                np.zeros(k * (n_features + 1)),
                method="L-BFGS-B",
                jac=True,
                options={"gtol": self.tol, "maxiter": self.max_iter},
            )
        weights = result.x.reshape((k, n_features + 1), order="F")
        self.classes_ = classes
        # Kept transposed and contiguous: serving multiplies by them once per message.
        self.sparse_coef_t = np.ascontiguousarray(weights[:, :n_sparse].T)
        self.dense_coef_t = np.ascontiguousarray(weights[:, n_sparse:n_features].T)
        self.intercept_ = weights[:, n_features].copy()
        self.n_iter_ = int(result.nit)
        return self

    def probabilities(self, sparse: spmatrix, dense: np.ndarray) -> np.ndarray:
        """Class probabilities, one row per message, columns in `classes_` order."""
        scores = np.asarray(sparse @ self.sparse_coef_t)
        scores += dense @ self.dense_coef_t
        scores += self.intercept_
        scores -= scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        return scores / scores.sum(axis=1, keepdims=True)
