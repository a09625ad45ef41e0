"""The map of every validation point of a run, made once after training and saved with it.

A run's snapshots keep at most ``snapshot_rows`` validation rows per epoch (2,000 by
default), so the epoch replay stays small. A large run's map of *all* its validation rows
is made here instead, once, by whoever trained the run (the worker, :mod:`fusion.worker`):
the final embeddings of every validation row, stacked over modalities, projected to 2-D
(UMAP up to :data:`UMAP_MAX_POINTS` points, PCA beyond), reported through ``progress``, and
saved as ``map.parquet`` with ``map.json`` beside it. Explore reads these files and never
projects a large map in the web server.

``map.parquet`` columns: ``row`` (the validation row), ``id``, ``modality``, ``label``,
``label_name``, ``reliability`` (the mask value, NaN without a mask), ``x``, ``y``
(float32), and the final embedding ``z0``, ``z1``, … (float32). ``map.json``: the method, the number of points and of validation rows, the
seconds the projection took, and the epoch of the embeddings.

This module is torch-free: the server reads maps with it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fusion.data import PairedData

MAP_FILE = "map.parquet"
MAP_INFO_FILE = "map.json"
# Above this many points the saved map is PCA: UMAP of 200,000 points takes about a minute
# on two cores (its exact neighbours grow as n^2), and PCA of a million a few seconds.
UMAP_MAX_POINTS = 200_000
# progress(stage, fraction): stages "embed", "neighbours", "graph", "layout", "pca", "done"
Progress = Callable[[str, float], None]


def needs_full_map(n_val: int, n_snapshot_rows: int | None) -> bool:
    """Whether a run's snapshots leave validation rows out, so a map of all is worth making."""
    return n_snapshot_rows is not None and int(n_val) > int(n_snapshot_rows)


def map_method(n_points: int) -> str:
    """UMAP up to :data:`UMAP_MAX_POINTS` points, PCA above."""
    return "umap" if n_points <= UMAP_MAX_POINTS else "pca"


def map_frame(
    emb: dict[str, np.ndarray],
    val: PairedData,
    progress: Progress | None = None,
    seed: int = 0,
    method: str | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Every validation row of every modality on one 2-D map; (frame, info).

    ``emb``: modality -> (n_val, D) final embeddings of all validation rows. Rows with a
    non-finite embedding are left out (a diverged run), and counted in ``info``.
    """
    names = [m for m in emb if np.asarray(emb[m]).ndim == 2]
    n = val.n
    Z = np.concatenate([np.asarray(emb[m], dtype=np.float32).reshape(n, -1) for m in names])
    finite = np.isfinite(Z).all(axis=1)
    rows = np.tile(np.arange(n, dtype=np.int32), len(names))
    modality = np.repeat(np.array(names, dtype=object), n)
    kept = Z[finite]
    method = method or map_method(len(kept))
    t0 = time.perf_counter()
    XY = _project(kept, method, progress, seed)
    seconds = time.perf_counter() - t0
    labels = val.labels if val.labels is not None else np.full(n, -1)
    label_names = np.array(
        [val.label_names[i] if 0 <= i < len(val.label_names) else "" for i in labels]
        if val.labels is not None and val.label_names
        else [""] * n,
        dtype=object,
    )
    reliability = np.full(len(Z), np.nan, dtype=np.float32)
    if val.mask is not None:
        mod_names = list(val.modalities)
        for j, m in enumerate(names):
            if m in mod_names:
                reliability[j * n : (j + 1) * n] = val.mask[:, mod_names.index(m)]
    r = rows[finite]
    frame = pd.DataFrame(
        {
            "row": r,
            "id": np.asarray(val.ids).astype(str)[r],
            "modality": pd.Categorical(modality[finite], categories=names),
            "label": np.asarray(labels, dtype=np.int32)[r],
            "label_name": pd.Categorical(label_names[r]),
            "reliability": reliability[finite],
            "x": XY[:, 0].astype(np.float32),
            "y": XY[:, 1].astype(np.float32),
            # The embeddings themselves, so a selection on this map can be summarised and
            # exported with its cross-modal neighbours (fusion.selection) without the run.
            **{f"z{j}": kept[:, j] for j in range(kept.shape[1])},
        }
    )
    info = {
        "method": method,
        "points": int(len(frame)),
        "rows": int(n),
        "dropped": int((~finite).sum()),
        "seconds": round(seconds, 3),
        "seed": int(seed),
    }
    if progress is not None:
        progress("done", 1.0)
    return frame, info


def _project(X: np.ndarray, method: str, progress: Progress | None, seed: int) -> np.ndarray:
    from fusion.projection import MIN_UMAP_POINTS, project

    if method == "umap" and len(X) >= MIN_UMAP_POINTS:
        return project(X, method="umap", seed=seed, progress=progress)
    if progress is not None:
        progress("pca", 0.0)
    if len(X) == 0:
        return np.zeros((0, 2), dtype=np.float32)
    return project(X, method="pca")


def write_map(folder: str | Path, frame: pd.DataFrame, info: dict[str, Any]) -> None:
    """Save a map into a run folder (``map.parquet`` and ``map.json``)."""
    folder = Path(folder)
    frame.to_parquet(folder / MAP_FILE, index=False)
    (folder / MAP_INFO_FILE).write_text(json.dumps(info, indent=1))


def read_map(folder: str | Path) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    """A run's saved map of all validation points, or None (small runs, older runs)."""
    folder = Path(folder)
    if not (folder / MAP_FILE).is_file():
        return None
    try:
        frame = pd.read_parquet(folder / MAP_FILE)
        info = json.loads((folder / MAP_INFO_FILE).read_text())
    except (OSError, ValueError):  # a damaged map: Explore falls back to the snapshots
        return None
    return frame, info
