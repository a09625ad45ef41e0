"""Scale: training time per epoch and projection time against N, and training's peak memory.

- Training: the joint InfoNCE default (MLP encoders) on N pairs of (128 + 64)-dim data
  (``benchmarks._fresh.paired``), in this process, main thread; per-epoch training
  seconds from fit's history (training steps only), median over epochs. The log-log
  slope of seconds vs N should be near 1 (target 0.85 to 1.15): per-epoch evaluation is
  bounded by ``TrainConfig.snapshot_rows``, so nothing grows faster than the data.
- Projection: warm ``fusion.projection.project`` (UMAP, seed 0) of N clustered 16-dim
  points; its slope is reported without a target (exact kNN is O(N^2)).
- Memory: peak resident memory (``ru_maxrss`` of RUSAGE_CHILDREN) of a fresh process that
  trains 100k pairs of (128 + 64)-dim data (two epochs and the final evaluation), vs the
  same process that only imports torch and builds the data. Target <= 1.5 GB.
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks.common import Entry, entry, median, ratio, run_fresh


def _slope(ns: list[int], ts: list[float]) -> float:
    return float(np.polyfit(np.log(ns), np.log(ts), 1)[0])


def train_epoch_seconds(n: int, epochs: int) -> float:
    from benchmarks._fresh import paired
    from fusion.experiment import default_config, run_experiment

    data = paired(n)
    cfg = default_config("joint", "info_nce", epochs=epochs, device="cpu")
    h = run_experiment(data, cfg).history
    return median([row["seconds"] for row in h.epochs[1:]])


def project_seconds(n: int) -> float:
    from benchmarks._fresh import clustered_points
    from fusion.projection import project, warm_up

    warm_up()
    X = clustered_points(n)
    t = time.perf_counter()
    project(X, method="umap", seed=0)
    return time.perf_counter() - t


def run(quick: bool) -> list[Entry]:
    ns = [1_000, 3_000, 10_000] if quick else [1_000, 10_000, 100_000]
    epochs = 2 if quick else 3
    entries: list[Entry] = []
    train_t = [train_epoch_seconds(n, epochs) for n in ns]
    for n, t in zip(ns, train_t, strict=True):
        entries.append(entry(f"scale: training epoch, N={n:,} pairs (128+64 dims)", t, "s"))
    slope = _slope(ns, train_t)
    entries.append(
        Entry(
            f"scale: training time vs N, log-log slope ({ns[0]:,} to {ns[-1]:,})",
            slope,
            "slope",
            target="0.85 <= value <= 1.15",
            met=bool(0.85 <= slope <= 1.15),
            note="1 = linear in N",
        )
    )
    proj_ns = ns if quick else [1_000, 10_000, 100_000]
    proj_t = [project_seconds(n) for n in proj_ns]
    for n, t in zip(proj_ns, proj_t, strict=True):
        entries.append(entry(f"scale: UMAP map (warm), N={n:,} points (16 dims)", t, "s"))
    entries.append(
        entry(
            f"scale: map time vs N, log-log slope ({proj_ns[0]:,} to {proj_ns[-1]:,})",
            _slope(proj_ns, proj_t),
            "slope",
        )
    )
    n_mem = 20_000 if quick else 100_000
    floor = run_fresh(["train_rss", "--n", str(n_mem), "--no-train"])["maxrss_mb"]
    peak = run_fresh(["train_rss", "--n", str(n_mem), "--epochs", "2"])["maxrss_mb"]
    entries.append(
        entry(
            f"scale: peak RSS training {n_mem:,} pairs (128+64 dims)",
            peak,
            "MB",
            floor,
            ratio(peak, floor),
            ("value", "<=", 1536) if n_mem >= 100_000 else None,
            note="baseline: same process, data built, no training; ratio = ours / baseline",
        )
    )
    return entries
