"""Measurements that must start from a fresh Python process (imports and compilation included).

Run as ``python -m benchmarks._fresh WHAT [options]`` with the repository root as cwd;
prints one result line (``benchmarks.common.MARKER`` + JSON). The parent process
(:func:`benchmarks.common.run_fresh`) adds the wall time and the peak resident memory.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from typing import Any

import numpy as np

from benchmarks.common import emit, time_call

# ----------------------------------------------------------------------------- data


def clustered_points(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    """n points in ``dim`` dims around 10 anisotropic clusters (like a trained shared space)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(10, dim))
    scales = rng.uniform(0.3, 1.5, size=(10, dim))
    c = rng.integers(0, 10, n)
    return (centres[c] + rng.normal(size=(n, dim)) * scales[c]).astype(np.float32)


def snapshot_frames(n: int, frames: int = 10, dim: int = 16, seed: int = 0) -> list[np.ndarray]:
    """Frames of the same points drifting towards their clusters, as epochs of training do."""
    X = clustered_points(n, dim, seed)
    rng = np.random.default_rng(seed + 1)
    noise = rng.normal(scale=3.0, size=X.shape).astype(np.float32)
    return [X + noise * (1 - t / (frames - 1)) for t in range(frames)]


def trust_sample(n: int, k: int = 2000) -> np.ndarray:
    return np.sort(np.random.default_rng(0).choice(n, min(k, n), replace=False))


def trust(X: np.ndarray, Y: np.ndarray) -> float:
    from sklearn.manifold import trustworthiness

    idx = trust_sample(len(X))
    return float(trustworthiness(X[idx], Y[idx], n_neighbors=10))


def paired(n: int, dims: tuple[int, int] = (128, 64), seed: int = 0) -> Any:
    """n pairs of (128 + 64)-dim class-structured views, float32 (for the scale runs)."""
    from fusion.data import PairedData

    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=2.0, size=(8, 8))
    labels = rng.integers(0, 8, n)
    z = (centres[labels] + rng.normal(size=(n, 8))).astype(np.float32)
    mods = {}
    for name, d in zip(("a", "b"), dims, strict=True):
        w1 = rng.normal(size=(8, 32)).astype(np.float32) / np.sqrt(8)
        w2 = rng.normal(size=(32, d)).astype(np.float32) / np.sqrt(32)
        x = np.tanh(z @ w1) @ w2
        x += 0.3 * rng.normal(size=x.shape).astype(np.float32)
        mods[name] = ((x - x.mean(0)) / x.std(0)).astype(np.float32)
    return PairedData(mods, labels=labels.astype(np.int64), label_names=[str(i) for i in range(8)])


def demo_spec(kind: str) -> dict[str, Any]:
    """Home's demo parameters from views/parts/demo.py's DEMOS, read without importing streamlit."""
    import ast
    from pathlib import Path

    from benchmarks.common import ROOT

    tree = ast.parse(Path(ROOT, "views", "parts", "demo.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "DEMOS" for t in node.targets
        ):
            return ast.literal_eval(node.value)[kind]
    raise LookupError("DEMOS not found in views/parts/demo.py")


# ----------------------------------------------------------------------------- measurements


def demo(sequence: bool) -> dict[str, Any]:
    """Home's joint demo end to end, as the app runs it: generate, train (TrainingJob), map."""
    stages: dict[str, float] = {}
    t = time.perf_counter()
    from fusion import generators, projection
    from fusion.experiment import default_config
    from fusion.jobs import TrainingJob

    stages["import"] = time.perf_counter() - t
    spec = demo_spec("joint")
    t = time.perf_counter()
    data = generators.generate(spec["generator"], **spec["params"])
    stages["generate"] = time.perf_counter() - t

    cfg = default_config(spec["method"], spec["loss"], epochs=spec["epochs"])
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as runs:
        job = TrainingJob(data, cfg, root=runs, executor="thread", keep_result=True).start()
        job.join()
        stages["train"] = time.perf_counter() - t
        assert job.run_result is not None, job.error
        h = job.run_result.history
        stages["train_fit"] = h.seconds  # of which fit() itself (the rest: setup, saving)

    snaps = h.snapshots
    stack = [np.concatenate([s.arrays[k] for k in sorted(s.arrays)]) for s in snaps]
    t = time.perf_counter()
    if sequence:  # what Explore computes: every snapshot, aligned
        projection.project_sequence(stack, method="umap", seed=0)
    else:
        projection.project(stack[-1], method="umap", seed=0)
    stages["map"] = time.perf_counter() - t
    return {
        "stages": stages,
        "epochs": cfg.train.epochs,
        "n_points": int(len(stack[-1])),
        "n_frames": len(stack),
        "map_done": time.time(),  # the parent subtracts its spawn time
    }


def map_ours(n: int, sequence: bool) -> dict[str, Any]:
    X = clustered_points(n)
    t = time.perf_counter()
    from fusion import projection

    out: dict[str, Any] = {"import": time.perf_counter() - t}
    t = time.perf_counter()
    Y = projection.project(X, method="umap", seed=0)
    out["first"] = time.perf_counter() - t
    t = time.perf_counter()
    Y = projection.project(X, method="umap", seed=0)
    out["warm"] = time.perf_counter() - t
    out["pca"] = time_call(lambda: projection.project(X, method="pca"), repeat=5)
    out["trust"] = trust(X, Y)
    if sequence:
        frames = snapshot_frames(n)
        t = time.perf_counter()
        projection.project_sequence(frames, method="umap", seed=0)
        out["sequence"] = time.perf_counter() - t
        t = time.perf_counter()
        for f in frames:
            projection.project(f, method="umap", seed=0)
        out["independent"] = time.perf_counter() - t
    return out


def frame_moves(frames: list[np.ndarray]) -> list[float]:
    """Median point movement from each frame to the next, as a fraction of the map's extent."""
    return [
        float(np.median(np.linalg.norm(b - a, axis=1)) / np.ptp(a, axis=0).max())
        for a, b in zip(frames, frames[1:], strict=False)
    ]


def map_stability(n: int) -> dict[str, Any]:
    """How far points move between aligned UMAP frames (``project_sequence``), warm.

    ``noise``: two frames of the same points 5 % of noise apart (the frame-to-frame change a
    live map sees late in training); ``drift``: the 10-frame epoch sequence of
    :func:`snapshot_frames`, whose points really move towards their clusters.
    """
    from fusion import projection

    X = clustered_points(n)
    projection.project(X[:300], method="umap", seed=0)  # compile outside the measurement
    rng = np.random.default_rng(0)
    pair = [X, X + 0.05 * rng.normal(size=X.shape).astype(np.float32)]
    noise = frame_moves(projection.project_sequence(pair, method="umap", seed=0))
    drift = frame_moves(projection.project_sequence(snapshot_frames(n), method="umap", seed=0))
    return {"noise": noise[0], "drift_median": float(np.median(drift)), "drift_max": max(drift)}


def map_trust(n: int) -> dict[str, Any]:
    """Trustworthiness (k = 10) of ours and of umap-learn's defaults on the same points."""
    import umap

    from fusion import projection

    X = clustered_points(n)
    return {
        "ours": trust(X, projection.project(X, method="umap", seed=0)),
        "default": trust(X, umap.UMAP(random_state=0).fit_transform(X)),
    }


def map_default(n: int) -> dict[str, Any]:
    X = clustered_points(n)
    t = time.perf_counter()
    import umap

    out: dict[str, Any] = {"import": time.perf_counter() - t}
    t = time.perf_counter()
    umap.UMAP().fit_transform(X)
    out["first"] = time.perf_counter() - t
    t = time.perf_counter()
    Y = umap.UMAP().fit_transform(X)
    out["warm"] = time.perf_counter() - t
    from sklearn.decomposition import PCA

    out["pca"] = time_call(lambda: PCA(n_components=2).fit_transform(X), repeat=5)
    out["trust"] = trust(X, Y)
    return out


def train_rss(n: int, epochs: int, train: bool) -> dict[str, Any]:
    """Train the joint InfoNCE default on n pairs of (128 + 64)-dim data (or only load it)."""
    import torch  # noqa: F401  (the floor process imports the same)

    from fusion.experiment import default_config, run_experiment

    data = paired(n)
    out: dict[str, Any] = {}
    if train:
        cfg = default_config("joint", "info_nce", epochs=epochs, device="cpu")
        t = time.perf_counter()
        h = run_experiment(data, cfg).history
        out["seconds"] = time.perf_counter() - t
        out["status"] = h.status
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("what")
    p.add_argument("--n", type=int, default=10_000)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--no-train", action="store_true")
    p.add_argument("--sequence", action="store_true")
    a = p.parse_args()
    os.environ.setdefault("PYTHONHASHSEED", "0")
    if a.what == "demo":
        emit(demo(a.sequence))
    elif a.what == "map_ours":
        emit(map_ours(a.n, a.sequence))
    elif a.what == "map_default":
        emit(map_default(a.n))
    elif a.what == "map_trust":
        emit(map_trust(a.n))
    elif a.what == "map_stability":
        emit(map_stability(a.n))
    elif a.what == "train_rss":
        emit(train_rss(a.n, a.epochs, not a.no_train))
    else:
        raise SystemExit(f"unknown measurement {a.what!r}")


if __name__ == "__main__":
    main()
