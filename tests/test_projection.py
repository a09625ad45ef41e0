"""Tests for fusion.projection: shapes, determinism, alignment of sequences, cluster keeping."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest

from fusion.errors import FusionError
from fusion.projection import _fuzzy_graph, is_warm, project, project_sequence, warm_up


def blobs(n: int = 400, d: int = 16, k: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=6.0, size=(k, d))
    y = rng.integers(0, k, n)
    return (centres[y] + rng.normal(size=(n, d))).astype(np.float32), y


def knn_accuracy(Y: np.ndarray, y: np.ndarray, k: int = 5) -> float:
    """Leave-one-out k-NN accuracy of the cluster labels in the 2-D map."""
    from sklearn.neighbors import KNeighborsClassifier

    clf = KNeighborsClassifier(n_neighbors=k + 1).fit(Y, y)
    idx = clf.kneighbors(Y, return_distance=False)[:, 1:]  # drop the point itself
    votes = np.array([np.bincount(y[i], minlength=y.max() + 1).argmax() for i in idx])
    return float((votes == y).mean())


def rotation(theta: float) -> np.ndarray:
    return np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])


def test_import_is_cheap_and_lazy() -> None:
    code = "import sys, fusion.projection; print('umap' in sys.modules, 'numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.parametrize("method", ["pca", "umap"])
def test_shape_and_dtype(method: str) -> None:
    X, _ = blobs(300)
    Y = project(X, method=method)
    assert Y.shape == (300, 2)
    assert Y.dtype == np.float32
    assert np.all(np.isfinite(Y))


@pytest.mark.parametrize("method", ["pca", "umap"])
def test_deterministic_for_a_seed(method: str) -> None:
    X, _ = blobs(300)
    np.testing.assert_array_equal(
        project(X, method=method, seed=3), project(X, method=method, seed=3)
    )


def test_umap_keeps_clusters() -> None:
    X, y = blobs(500)
    Y = project(X, method="umap", seed=0)
    assert knn_accuracy(Y, y) > 0.95


def test_umap_accepts_init_and_epochs() -> None:
    X, y = blobs(300)
    init = np.random.default_rng(1).normal(size=(300, 2))
    Y = project(X, init=init, n_epochs=50, n_neighbors=10, min_dist=0.3, metric="cosine")
    assert Y.shape == (300, 2)
    with pytest.raises(FusionError, match="init must have shape"):
        project(X, init=init[:10])


def test_pca_matches_principal_axes() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5)) * np.array([10.0, 3.0, 0.1, 0.1, 0.1])
    Y = project(X, method="pca")
    # The map spans the two high-variance input directions, in order.
    assert np.std(Y[:, 0]) > np.std(Y[:, 1]) > 1.0
    assert abs(np.corrcoef(Y[:, 0], X[:, 0])[0, 1]) > 0.99


def test_fuzzy_graph_matches_umap_learn() -> None:
    """Our numpy graph equals umap-learn's, run as plain Python (.py_func: no compiling)."""
    import scipy.sparse
    from umap.umap_ import compute_membership_strengths, smooth_knn_dist

    from fusion.projection import _exact_knn

    X, _ = blobs(120)
    X[1] = X[0]  # a duplicate point: zero distances must be handled the same way
    idx, dist = _exact_knn(X, 15, "euclidean")
    ours = _fuzzy_graph(idx, dist)
    sigmas, rhos = smooth_knn_dist.py_func(dist, 15.0)
    rows, cols, vals, _ = compute_membership_strengths.py_func(idx, dist, sigmas, rhos)
    W = scipy.sparse.coo_matrix((vals, (rows, cols)), shape=(120, 120)).tocsr()
    W.eliminate_zeros()
    ref = (W + W.T - W.multiply(W.T)).tocsr()  # umap-learn's fuzzy union
    ref.eliminate_zeros()
    assert ours.nnz == ref.nnz
    assert abs(ours - ref).max() < 1e-5


def test_pca_sequence_undoes_rotation() -> None:
    X, _ = blobs(300)
    # A random rotation of the input space rotates (and may reflect) the PCA map.
    Q, _ = np.linalg.qr(np.random.default_rng(2).normal(size=(16, 16)))
    frames = project_sequence([X, X @ Q, X @ Q[:, ::-1]], method="pca")
    assert len(frames) == 3
    for f in frames[1:]:
        np.testing.assert_allclose(f, frames[0], atol=1e-3 * np.abs(frames[0]).max())


def test_pca_sequence_keeps_scale() -> None:
    X, _ = blobs(200)
    frames = project_sequence([X, 0.1 * X], method="pca")
    ratio = np.linalg.norm(frames[1]) / np.linalg.norm(frames[0])
    assert ratio == pytest.approx(0.1, rel=1e-3)


def test_umap_sequence_is_aligned_and_stable() -> None:
    X, y = blobs(300)
    rng = np.random.default_rng(0)
    frames = project_sequence([X, X + 0.05 * rng.normal(size=X.shape)], method="umap", seed=0)
    a, b = frames
    assert a.shape == b.shape == (300, 2)
    # Small input change, initialised from the previous layout and aligned: points barely move.
    extent = np.ptp(a, axis=0).max()
    assert np.median(np.linalg.norm(a - b, axis=1)) < 0.1 * extent
    assert knn_accuracy(b, y) > 0.95


def test_sequence_rejects_mismatched_frames() -> None:
    X, _ = blobs(100)
    with pytest.raises(FusionError, match="same points"):
        project_sequence([X, X[:50]], method="pca")
    assert project_sequence([], method="pca") == []


def test_bad_input_names_the_fix() -> None:
    X, _ = blobs(50)
    with pytest.raises(FusionError, match="choose one of"):
        project(X, method="tsne")  # type: ignore[arg-type]
    with pytest.raises(FusionError, match="NaN"):
        project(np.full((10, 3), np.nan))
    with pytest.raises(FusionError, match="2-D"):
        project(np.zeros(10))
    with pytest.raises(FusionError, match="method='pca'"):
        project(X[:3], method="umap")


def test_warm_up_is_idempotent_and_thread_safe() -> None:
    threads = [threading.Thread(target=warm_up) for _ in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert is_warm()
    warm_up()  # returns at once
    assert is_warm()


DEGENERATE = {
    "50 identical points": np.ones((50, 8), dtype=np.float32),
    "1-D input": np.random.default_rng(0).normal(size=(50, 1)).astype(np.float32),
    "one varying column": np.hstack(
        [np.random.default_rng(0).normal(size=(50, 1)), np.zeros((50, 4))]
    ).astype(np.float32),
}


@pytest.mark.parametrize("name", sorted(DEGENERATE))
def test_umap_map_is_finite_on_degenerate_input(name: str) -> None:
    """A constant axis in the starting layout must not divide by zero in umap-learn's rescale."""
    Y = project(DEGENERATE[name], method="umap", seed=0)
    assert Y.shape == (50, 2)
    assert np.all(np.isfinite(Y))


def test_umap_sequence_into_collapse_stays_finite() -> None:
    """The seed objective's collapse: a healthy frame, then every point at one place."""
    X, _ = blobs(100)
    collapsed = np.tile(X[:1], (100, 1))
    frames = project_sequence([X, 1e-3 * X, collapsed, collapsed], method="umap", seed=0)
    assert all(np.all(np.isfinite(f)) for f in frames)


def test_lower_priority_lowers_only_the_calling_thread():
    import os
    import threading

    from fusion.projection import lower_priority

    seen = {}

    def work():
        lower_priority(7)
        seen["thread"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert seen["thread"] >= 7
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) < 7  # not the caller
