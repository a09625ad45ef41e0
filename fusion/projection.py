"""2-D maps of the shared embedding space: UMAP and PCA, single maps and aligned sequences.

All modalities are projected jointly into one map (the caller stacks their embeddings
row-wise), so that "the image of sample 7" and "the caption of sample 7" land near each
other exactly when the fusion model put them near each other in the shared space.

Methods
-------
- PCA: the top two principal directions of the centred data (via numpy's SVD), with a
  deterministic sign convention.
- UMAP: Uniform Manifold Approximation and Projection (McInnes, Healy & Melville, 2018,
  arXiv:1802.03426), through umap-learn. Made fast for an interactive app by:

  1. exact k-nearest neighbours from scikit-learn. The shared space is low-dimensional
     (8-64 dims), where exact search is quick, so pynndescent's approximate search, whose
     numba functions took most of umap-learn's first-call time and mostly cannot be
     cached on disk, is never compiled;
  2. UMAP's fuzzy neighbour graph built here in numpy/scipy (:func:`_fuzzy_graph`, the
     same result as umap-learn's ``fuzzy_simplicial_set``), because umap-learn's versions
     are parallel numba functions that took about 7 s to compile in every fresh process;
     only umap-learn's layout optimisation (``simplicial_set_embedding``) is used;
  3. a PCA initialisation instead of the spectral one (no eigen-solver on the graph);
  4. 200 optimisation epochs below 5,000 points and 100 above, instead of umap-learn's
     500 below 10,000 points (200 above): the epochs are ~90% of the warm run time.
     Trustworthiness (k = 10) against umap-learn's defaults on the same points, as
     measured: at 10,000 clustered points -0.0008 (``benchmarks/bench_maps.py``); at
     2,000 points (a run's snapshot size, what Explore maps) -0.0015 on clustered points
     and -0.002 on a trained InfoNCE embedding, where 100 epochs lost 0.0028 and 0.0047,
     and -0.005 on isotropic Gaussian blobs (-0.008 with 100 epochs). So: within 0.003
     on shared-space-like data at both sizes, within 0.01 on every set tried;
  5. an on-disk numba cache (``NUMBA_CACHE_DIR``, default
     ``~/.cache/fusion-playground/numba``) set before umap is imported, plus a cached
     copy of umap-learn's layout epoch function, so later processes skip compiling it;
  6. :func:`warm_up`, which the app runs in a background thread at startup so the
     remaining compilation happens before the user asks for a map.

  With an integer ``seed`` the map is deterministic; umap-learn then runs the layout on a
  single thread (its parallel SGD is racy by design). ``seed=None`` trades determinism
  for the parallel layout.

Sequences (:func:`project_sequence`) map snapshots of the same points (e.g. one per
training epoch) so that an animation through them does not jump: each frame is aligned to
the previous one by orthogonal Procrustes (Schönemann, 1966), and UMAP frames are in
addition initialised from the previous frame's layout.

Importing this module is cheap: umap-learn (and numba) are imported on first use.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np

from fusion.errors import ConfigError, DataError

Method = Literal["umap", "pca"]
# progress(stage, fraction of the stage done): stages "neighbours", "graph", "layout"
Progress = Callable[[str, float], None]

METHODS: tuple[str, ...] = ("umap", "pca")
# Metrics for which scikit-learn computes the exact neighbours that UMAP is given.
METRICS: tuple[str, ...] = ("euclidean", "cosine", "manhattan", "chebyshev", "correlation")
# UMAP optimisation epochs by map size (umap-learn: 500 below 10k points, 200 above). The
# epochs are ~90% of a warm map's time; see point 4 of the module docstring for the
# trustworthiness measured against umap-learn's defaults at 2k and 10k points.
SMALL_MAP_POINTS = 5000
SMALL_MAP_N_EPOCHS = 200  # cheap below SMALL_MAP_POINTS; 100 lost up to 0.0047 at 2k
DEFAULT_N_EPOCHS = 100
SEQUENCE_N_EPOCHS = 30  # later frames start from the previous layout, so need fewer
# Learning rate of a frame started from the previous layout. umap-learn's 1.0 re-invents a
# layout from scratch; a converged one only needs refining, and 1.0 moved the points of two
# frames 5 % of noise apart by a third of the map on some CPUs (fastmath, SIMD paths), while
# 0.1 keeps a frame within a few percent of the last one wherever the data did not move.
WARM_START_ALPHA = 0.1
MIN_UMAP_POINTS = 5  # below this the fuzzy neighbour graph is meaningless
_WARM_UP_POINTS = 300
# umap-learn's constants for the kernel-width search (umap/umap_.py)
_SMOOTH_K_TOLERANCE = 1e-5
_MIN_K_DIST_SCALE = 1e-3

_warm_lock = threading.Lock()
_import_lock = threading.Lock()
_warm = False
_umap_module: Any = None


# ----------------------------------------------------------------------------- helpers


def _numba_cache_dir() -> Path:
    return Path.home() / ".cache" / "fusion-playground" / "numba"


def _package_cache_writable() -> bool:
    """Whether numba can write its cache beside umap-learn's installed sources."""
    import importlib.util

    spec = importlib.util.find_spec("umap")
    if spec is None or not spec.submodule_search_locations:
        return False
    return os.access(next(iter(spec.submodule_search_locations)), os.W_OK)


def _import_umap() -> Any:
    """Import umap-learn once, after pointing numba's on-disk cache at a writable folder."""
    global _umap_module
    with _import_lock:  # warm_up() in a background thread may race the first page call
        if _umap_module is not None:
            return _umap_module
        if "NUMBA_CACHE_DIR" not in os.environ and not _package_cache_writable():
            # numba caches beside a package's sources when it can; only where site-packages
            # is read-only is it pointed at a user folder (doing so where it is writable
            # makes pynndescent recompile everything once, ~17 s, instead of reusing its cache).
            cache = _numba_cache_dir()
            try:
                cache.mkdir(parents=True, exist_ok=True)
                os.environ["NUMBA_CACHE_DIR"] = str(cache)
                # numba reads the variable when first imported; if something imported it
                # earlier, set its config too so later compilations still use the folder.
                if "numba" in sys.modules:
                    sys.modules["numba"].config.CACHE_DIR = str(cache)
            except OSError:
                pass  # read-only home: numba keeps its default cache locations
        import umap

        _cache_layout_epoch(umap)
        _umap_module = umap
        return umap


def _cache_layout_epoch(umap: Any) -> None:
    """Swap umap-learn's serial layout epoch for an identical copy compiled with cache=True.

    umap-learn compiles ``_optimize_layout_euclidean_single_epoch`` without an on-disk
    cache, so every fresh process spends seconds compiling it before the first map. The
    copy wraps the same Python function with the same options (fastmath, not parallel)
    and adds only ``cache=True`` and ``nogil=True``. Skipped quietly if a umap-learn release
    renames it.
    """
    import numba

    layouts = getattr(umap, "layouts", None)
    fn = getattr(layouts, "_nb_optimize_layout_euclidean_single_epoch", None)
    py_func = getattr(fn, "py_func", None)
    if py_func is None or getattr(fn, "_fusion_cached", False):
        return
    # nogil: the live map (fusion.live) runs layouts in a thread beside training, whose
    # Python loop would otherwise wait for the GIL through every layout epoch.
    cached = numba.njit(py_func, fastmath=True, parallel=False, cache=True, nogil=True)
    cached._fusion_cached = True
    layouts._nb_optimize_layout_euclidean_single_epoch = cached


def _as_data(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 2:
        raise DataError("errors.projection.not_2d", shape=X.shape)
    if X.shape[0] < 2:
        raise DataError("errors.projection.too_few_points", n=X.shape[0])
    if X.shape[1] < 1:
        raise DataError("errors.projection.no_features")
    X = X.astype(np.float32, copy=False)
    if not np.all(np.isfinite(X)):
        raise DataError("errors.projection.not_finite")
    return X


def _pca(X: np.ndarray) -> np.ndarray:
    """Top-2 principal coordinates, signs fixed so the largest loading is positive.

    Eigenvectors of the small (d, d) covariance instead of an SVD of the (n, d) data: the
    same axes, about 9x faster at 10k points (benchmarks/bench_maps.py).
    """
    Xc = X.astype(np.float64) - X.mean(axis=0, dtype=np.float64)
    evals, evecs = np.linalg.eigh(Xc.T @ Xc)  # ascending eigenvalues
    vt = evecs[:, ::-1].T  # (d, d) rows = principal axes, largest variance first
    # Same convention as scikit-learn's svd_flip: deterministic across platforms.
    signs = np.sign(vt[np.arange(vt.shape[0]), np.argmax(np.abs(vt), axis=1)])
    signs[signs == 0] = 1.0
    vt = vt * signs[:, None]
    Y = Xc @ vt[:2].T  # (n, min(2, d))
    if Y.shape[1] < 2:  # one input dimension: a line on the x axis
        Y = np.hstack([Y, np.zeros((Y.shape[0], 2 - Y.shape[1]))])
    return Y.astype(np.float32)


def _exact_knn(X: np.ndarray, k: int, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest neighbours including the point itself (UMAP's convention)."""
    from sklearn.neighbors import NearestNeighbors

    # Brute force (chunked, BLAS) beat kd- and ball-trees here by 7-10x at 16 dims
    # (10k points: 0.17 s vs 1.2 s; 50k: 3.4 s vs 24 s), trees lose to clustered 16+ dims.
    nn = NearestNeighbors(n_neighbors=k, metric=metric, algorithm="brute")
    nn.fit(X)
    dists, idx = nn.kneighbors(X)  # querying X itself keeps each point as its own 1st nn
    # umap-learn compiles its graph functions for these dtypes; keep them fixed so that
    # warm_up() compiles exactly what project() later uses.
    return idx.astype(np.int32), dists.astype(np.float32)


def _smooth_knn_dist(dists: np.ndarray, k: float, n_iter: int = 64) -> tuple[np.ndarray, ...]:
    """Per-point kernel width sigma_i and offset rho_i of UMAP's local fuzzy sets.

    rho_i is the distance to the nearest neighbour at a non-zero distance (local
    connectivity 1); sigma_i solves sum_j exp(-max(0, d_ij - rho_i) / sigma_i) = log2(k)
    over the neighbours j other than i itself (McInnes et al. 2018, section 3.1). A numpy
    port of umap-learn's ``smooth_knn_dist`` (binary search, same tolerances), vectorised
    over points: it replaces a parallel numba function whose compilation alone took about
    4 s on every fresh process.
    """
    d = dists.astype(np.float64)  # (n, k), sorted ascending, column 0 is the point itself
    n = d.shape[0]
    nonzero = d > 0.0
    first = np.argmax(nonzero, axis=1)
    rho = np.where(nonzero.any(axis=1), d[np.arange(n), first], 0.0)
    shifted = np.maximum(d[:, 1:] - rho[:, None], 0.0)  # (n, k-1)
    target = np.log2(k)
    lo = np.zeros(n)
    hi = np.full(n, np.inf)
    mid = np.ones(n)
    active = np.arange(n)
    for _ in range(n_iter):
        if active.size == 0:
            break
        psum = np.exp(-shifted[active] / mid[active, None]).sum(axis=1)
        done = np.abs(psum - target) < _SMOOTH_K_TOLERANCE
        over = (psum > target) & ~done
        i_over, i_under = active[over], active[~over & ~done]
        hi[i_over] = mid[i_over]
        mid[i_over] = (lo[i_over] + hi[i_over]) / 2.0
        lo[i_under] = mid[i_under]
        mid[i_under] = np.where(
            np.isinf(hi[i_under]), mid[i_under] * 2.0, (lo[i_under] + hi[i_under]) / 2.0
        )
        active = active[~done]
    # Floor sigma so that isolated or duplicated points do not get a zero-width kernel.
    floor = np.where(rho > 0.0, d.mean(axis=1), d.mean()) * _MIN_K_DIST_SCALE
    sigma = np.maximum(mid, floor)
    return sigma, rho


def _fuzzy_graph(knn_idx: np.ndarray, knn_dist: np.ndarray) -> Any:
    """UMAP's fuzzy simplicial set (n, n): local memberships, then their fuzzy union.

    w_ij = exp(-max(0, d_ij - rho_i) / sigma_i) for j in kNN(i); the symmetric graph is
    W + W^T - W * W^T (probabilistic t-conorm). Same result as umap-learn's
    ``fuzzy_simplicial_set`` with its default set_op_mix_ratio and local_connectivity.
    """
    import scipy.sparse

    n, k = knn_idx.shape
    sigma, rho = _smooth_knn_dist(knn_dist, float(k))
    d = knn_dist.astype(np.float64)
    vals = np.exp(-np.maximum(d - rho[:, None], 0.0) / np.where(sigma > 0, sigma, 1.0)[:, None])
    vals[knn_idx == np.arange(n)[:, None]] = 0.0  # no self-loops
    valid = knn_idx >= 0
    rows = np.broadcast_to(np.arange(n)[:, None], (n, k))[valid]
    W = scipy.sparse.coo_matrix(
        (vals[valid].astype(np.float32), (rows, knn_idx[valid])), shape=(n, n)
    ).tocsr()
    W.eliminate_zeros()
    Wt = W.T.tocsr()
    G = W + Wt - W.multiply(Wt)
    G.eliminate_zeros()
    return G


def default_n_epochs(n_points: int) -> int:
    """UMAP optimisation epochs for a map of ``n_points`` (see SMALL_MAP_N_EPOCHS)."""
    return SMALL_MAP_N_EPOCHS if n_points < SMALL_MAP_POINTS else DEFAULT_N_EPOCHS


def _start_layout(init: np.ndarray, seed: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A starting layout in umap-learn's frame, and the affine map back: (start, lo, span).

    umap-learn rescales any starting layout to [0, 10] per axis, ``10 (Y - min) / (max -
    min)``, which divides by zero where an axis has no range: 50 identical points, 1-D
    input, or a collapsed embedding (the seed objective's minimum) give a PCA start with a
    constant column and a NaN map. Such an axis gets a seeded uniform spread over [0, 10]
    instead. The start is returned already in [0, 10], so umap-learn's rescale is the
    identity, and ``Y * span / 10 + lo`` maps a layout back to the units of ``init``.
    """
    init = init.astype(np.float64)
    lo = init.min(axis=0)
    span = init.max(axis=0) - lo
    scale = float(np.abs(init).max()) if init.size else 0.0
    flat = span <= 1e-6 * max(scale, 1e-12)
    ref_span = float(span[~flat].max()) if not flat.all() else 1.0
    rng = np.random.default_rng(0 if seed is None else seed)
    start = np.empty_like(init)
    for j in range(init.shape[1]):
        if flat[j]:  # spread evenly around the constant, as wide as the other axis
            start[:, j] = rng.uniform(0.0, 10.0, init.shape[0])
            lo[j] -= ref_span / 2.0
            span[j] = ref_span
        else:
            start[:, j] = 10.0 * (init[:, j] - lo[j]) / span[j]
    return start.astype(np.float32), lo, span


def _umap(
    X: np.ndarray,
    *,
    n_neighbors: int,
    min_dist: float,
    metric: str,
    seed: int | None,
    init: np.ndarray | None,
    n_epochs: int | None,
    alpha: float = 1.0,
    keep_init_units: bool = False,
    progress: Progress | None = None,
) -> np.ndarray:
    n = X.shape[0]
    if n < MIN_UMAP_POINTS:
        raise DataError("errors.projection.umap_too_few", min_points=MIN_UMAP_POINTS, n=n)
    if init is None:
        init = _pca(X)
    else:
        init = np.asarray(init, dtype=np.float32)
        if init.shape != (n, 2):
            raise DataError("errors.projection.init_shape", n=n, shape=init.shape)
        if not np.all(np.isfinite(init)):
            raise DataError("errors.projection.init_not_finite")
    start, lo, span = _start_layout(init, seed)
    umap = _import_umap()
    k = min(n_neighbors, n - 1)
    if progress is not None:
        progress("neighbours", 0.0)
    knn_idx, knn_dist = _exact_knn(X, k, metric)
    if progress is not None:
        progress("graph", 0.0)
    graph = _fuzzy_graph(knn_idx, knn_dist)
    a, b = umap.umap_.find_ab_params(1.0, min_dist)  # spread 1, umap-learn's default
    epochs = default_n_epochs(n) if n_epochs is None else int(n_epochs)
    tqdm_kwds = None if progress is None else _epoch_counter(progress, epochs)
    # umap-learn's own layout step (the part worth compiling), with its default repulsion
    # strength and negative sampling rate. A seed means a seeded RandomState and the
    # single-threaded layout; umap-learn's parallel layout updates points without locks
    # and so differs from run to run.
    Y, _ = umap.umap_.simplicial_set_embedding(
        data=X,
        graph=graph,
        n_components=2,
        initial_alpha=float(alpha),
        a=a,
        b=b,
        gamma=1.0,
        negative_sample_rate=5,
        n_epochs=epochs,
        init=start,
        random_state=np.random.RandomState(seed) if seed is not None else np.random.mtrand._rand,
        metric="euclidean",  # only used by spectral initialisation, which we skip
        metric_kwds={},
        densmap=False,
        densmap_kwds={},
        output_dens=False,
        parallel=seed is None,
        verbose=False,
        tqdm_kwds=tqdm_kwds,
    )
    if seed is not None:
        global _warm
        _warm = True  # the seeded (serial) layout is compiled now, whoever asked first
    if keep_init_units:  # back into the starting layout's own coordinates
        Y = Y.astype(np.float64) * (span / 10.0) + lo
    return np.ascontiguousarray(Y, dtype=np.float32)


class _EpochWriter:
    """A text stream for umap-learn's tqdm bar, formatted as "done/total": each write is
    turned into ``progress("layout", done / total)`` (umap-learn has no other hook)."""

    def __init__(self, progress: Progress, total: int) -> None:
        self.progress, self.total = progress, max(int(total), 1)

    def write(self, text: str) -> int:
        done, sep, _ = text.strip().partition("/")
        if sep and done.isdigit():
            self.progress("layout", min(int(done) / self.total, 1.0))
        return len(text)

    def flush(self) -> None:
        pass


def _epoch_counter(progress: Progress, epochs: int) -> dict[str, Any]:
    """tqdm options that report the layout's epochs to ``progress``, about twice a second."""
    return {
        "disable": False,
        "file": _EpochWriter(progress, epochs),
        "bar_format": "{n}/{total}",
        "mininterval": 0.5,
        "ascii": True,
    }


def _check_params(method: str, n_neighbors: int, min_dist: float, metric: str) -> None:
    if method not in METHODS:
        raise ConfigError("errors.projection.unknown_method", method=method, choices=METHODS)
    if method == "umap":
        if int(n_neighbors) < 2:
            raise ConfigError("errors.projection.bad_n_neighbors", n_neighbors=n_neighbors)
        if not 0.0 <= float(min_dist) <= 1.0:
            raise ConfigError("errors.projection.bad_min_dist", min_dist=min_dist)
        if metric not in METRICS:
            raise ConfigError("errors.projection.unknown_metric", metric=metric, choices=METRICS)


def _procrustes_align(Y: np.ndarray, ref: np.ndarray, translate: bool) -> np.ndarray:
    """Rotate (or reflect) Y onto ref without rescaling it.

    Orthogonal Procrustes: R = argmin ||Yc R - refc||_F over orthogonal R, from the SVD of
    Yc^T refc. Scale is kept because it carries meaning for PCA (how spread out the
    embeddings are, e.g. collapse during training) and because rescaling would make the
    map breathe from frame to frame.
    """
    mu_y = Y.mean(axis=0) if translate else np.zeros(2)
    mu_r = ref.mean(axis=0) if translate else np.zeros(2)
    Yc = Y.astype(np.float64) - mu_y
    Rc = ref.astype(np.float64) - mu_r
    u, _, vt = np.linalg.svd(Yc.T @ Rc)
    R = u @ vt
    return (Yc @ R + mu_r).astype(np.float32)


# ----------------------------------------------------------------------------- public API


def project(
    X: np.ndarray,
    method: Method = "umap",
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    metric: str = "euclidean",
    seed: int | None = 0,
    init: np.ndarray | None = None,
    n_epochs: int | None = None,
    *,
    alpha: float = 1.0,
    keep_init_units: bool = False,
    progress: Progress | None = None,
) -> np.ndarray:
    """Map points (n, d) to 2-D coordinates (n, 2), float32.

    method: "umap" (neighbourhoods kept, global distances not) or "pca" (a linear view,
        distances and spread kept up to the dropped dimensions).
    n_neighbors, min_dist, metric: UMAP's parameters (ignored for PCA); ``metric`` is the
        distance in the input space, one of :data:`METRICS`.
    seed: an int makes UMAP deterministic (single-threaded layout); None lets it run the
        layout in parallel, with slightly different maps each call.
    init: starting layout (n, 2) for UMAP; default the PCA map. umap-learn optimises it
        rescaled to [0, 10] per axis; an axis with no range (identical points, 1-D or
        collapsed input) is given a seeded random spread, so the map is always finite.
    n_epochs: UMAP optimisation epochs; default :func:`default_n_epochs` of the size.
    alpha: UMAP's initial learning rate (umap-learn's default 1.0); lower refines ``init``
        instead of re-inventing it.
    keep_init_units: return the UMAP layout in the units of ``init`` (undoing the [0, 10]
        rescale), so that points the optimisation leaves alone stay where ``init`` had them.
    progress: called as ``progress(stage, fraction)`` while UMAP works (stages
        "neighbours", "graph", then "layout" with the fraction of its epochs done).
    """
    _check_params(method, n_neighbors, min_dist, metric)
    X = _as_data(X)
    if method == "pca":
        return _pca(X)
    return _umap(
        X,
        n_neighbors=int(n_neighbors),
        min_dist=float(min_dist),
        metric=metric,
        seed=seed,
        init=init,
        n_epochs=n_epochs,
        alpha=alpha,
        keep_init_units=keep_init_units,
        progress=progress,
    )


def project_sequence(
    frames: list[np.ndarray],
    method: Method = "umap",
    *,
    n_epochs_next: int = SEQUENCE_N_EPOCHS,
    **kw: Any,
) -> list[np.ndarray]:
    """Map snapshots of the same points (e.g. embeddings after each epoch) into aligned frames.

    Every frame has the same points in the same row order. Consecutive maps are made
    comparable so an animation through them moves points only as much as the data did:

    - UMAP: frame 0 is a normal :func:`project`. Frame t > 0 starts from frame t-1's
      layout (``init=prev``), runs only ``n_epochs_next`` epochs at the gentle learning
      rate :data:`WARM_START_ALPHA`, so it refines rather than re-invents the map, and is
      returned in frame t-1's own coordinates; then it is rotated/reflected and translated
      onto frame t-1 by orthogonal Procrustes, keeping its scale. Stability therefore
      holds by construction (points move about as far as their neighbourhoods changed),
      not by how a CPU's floating-point paths happen to round.
    - PCA: each frame is its own PCA (principal axes are only defined up to sign and, for
      near-equal variances, rotation); it is rotated/reflected onto frame t-1 by
      orthogonal Procrustes about the origin, keeping its scale, so a shrinking spread
      (collapse) stays visible.

    ``kw`` are passed to :func:`project` (n_neighbors, min_dist, metric, seed, n_epochs for
    the first frame); ``init`` and ``alpha`` are only honoured for the first frame.
    """
    if method not in METHODS:
        raise ConfigError("errors.projection.unknown_method", method=method, choices=METHODS)
    if len(frames) == 0:
        return []
    arrays = [_as_data(f) for f in frames]
    n = arrays[0].shape[0]
    for i, a in enumerate(arrays):
        if a.shape[0] != n:
            raise DataError("errors.projection.frame_rows", n=n, i=i, n_i=a.shape[0])
    out = [project(arrays[0], method=method, **kw)]
    later = {k: v for k, v in kw.items() if k not in ("init", "n_epochs", "alpha")}
    for a in arrays[1:]:
        out.append(next_frame(a, out[-1], method, n_epochs_next=n_epochs_next, **later))
    return out


def next_frame(
    X: np.ndarray,
    prev: np.ndarray | None,
    method: Method = "umap",
    *,
    n_epochs_next: int = SEQUENCE_N_EPOCHS,
    **kw: Any,
) -> np.ndarray:
    """One frame of an aligned sequence: ``X`` mapped and aligned to the previous frame.

    ``prev`` None: a plain :func:`project`. Otherwise as :func:`project_sequence` does for
    frame t > 0 (UMAP warm-started from ``prev`` at a gentle learning rate, then Procrustes
    with translation; PCA rotated/reflected onto ``prev`` about the origin, scale kept).
    Used by the live map (:mod:`fusion.live`), which gets its frames one at a time.
    """
    if prev is None:
        return project(X, method=method, **kw)
    _check_params(
        method, kw.get("n_neighbors", 15), kw.get("min_dist", 0.1), kw.get("metric", "euclidean")
    )
    X = _as_data(X)
    if method == "pca":
        return _procrustes_align(_pca(X), prev, translate=False)
    later = {k: v for k, v in kw.items() if k not in ("init", "n_epochs", "alpha")}
    Y = project(
        X,
        method=method,
        init=prev,
        n_epochs=n_epochs_next,
        alpha=WARM_START_ALPHA,
        keep_init_units=True,
        **later,
    )
    return _procrustes_align(Y, prev, translate=True)


def lower_priority(niceness: int = 10) -> None:
    """Lower the calling thread's CPU priority (Linux: nice is per thread); best effort.

    For work beside a training or a page (UMAP's compile at startup, live frames): on a
    small machine it then takes the cores only when the training and the pages leave
    them, so a demo's first training is not slowed by the warm-up of its own map.
    """
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not allowed
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)


def warm_up() -> None:
    """Compile UMAP's numba functions by running a tiny projection in the calling thread.

    Idempotent and thread-safe: concurrent callers wait for the first one, later calls
    return at once. The app runs it in a background thread at startup.
    """
    global _warm
    if _warm:
        return
    with _warm_lock:
        if _warm:
            return
        rng = np.random.default_rng(0)
        centres = rng.normal(scale=5.0, size=(3, 8))
        X = centres[rng.integers(0, 3, _WARM_UP_POINTS)] + rng.normal(size=(_WARM_UP_POINTS, 8))
        # The same code path (and dtypes) as project(): exact kNN, array init, seeded.
        project(X.astype(np.float32), method="umap", seed=0, n_epochs=DEFAULT_N_EPOCHS)
        _warm = True


def is_warm() -> bool:
    """True once :func:`warm_up` (or any seeded UMAP projection) has compiled the layout."""
    return _warm
