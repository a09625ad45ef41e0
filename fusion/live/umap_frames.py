"""The live map's UMAP layouts, made in the projection process (:mod:`fusion.projector`:
one BLAS and numba thread, niced) one at a time, each warm-started from the last layout.

When UMAP frames take longer than :data:`UMAP_SLOW_SECONDS` :data:`FALLBACK_AFTER` times
in a row, UMAP is given up and the map carries on with PCA (``umap_fallback`` in the
frames).
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

import numpy as np

from fusion.live.events import Evaluation

UMAP_SLOW_SECONDS = 1.0  # a UMAP frame slower than this cannot give a frame a second...
FALLBACK_AFTER = 3  # ...this many times in a row: the live map carries on with PCA only


class UmapJob(NamedTuple):
    """A UMAP frame being made for ``item`` (whose PCA ``frame`` was sent)."""

    item: Evaluation
    frame: dict[str, Any]  # the frame as sent, which its update repeats with UMAP
    prev: np.ndarray | None  # the UMAP layout it is warm-started from
    future: Any  # concurrent.futures.Future of the (P, 2) layout
    started: float  # perf_counter
    warm: bool  # UMAP was compiled when it started (else its time is the compile's)


class UmapRunner:
    """Makes the UMAP layouts, keeps the last one to warm-start the next, and decides when
    UMAP cannot keep up (:attr:`use_umap` turns False)."""

    def __init__(self, seed: int):
        self.seed = seed
        self.use_umap = True
        self.slow = 0  # UMAP frames in a row slower than UMAP_SLOW_SECONDS
        self.prev: np.ndarray | None = None  # the newest layout

    def submit(self, item: Evaluation, frame: dict[str, Any]) -> UmapJob:
        """Start ``item``'s layout in the projection process (or this thread without one)."""
        from fusion.projector import is_warm, submit

        prev = self.prev
        future = submit(item.X, prev, "umap", seed=self.seed)
        return UmapJob(item, frame, prev, future, time.perf_counter(), is_warm())

    def result(self, job: UmapJob) -> tuple[np.ndarray, float]:
        """The finished job's layout and the seconds it took; a slow one counts towards
        giving UMAP up (numba's one-off compile, before UMAP is warm, does not)."""
        from fusion.projector import result

        umap = result(job.future, job.item.X, job.prev, "umap", seed=self.seed)
        took = time.perf_counter() - job.started
        self.slow = self.slow + 1 if took > UMAP_SLOW_SECONDS and job.warm else 0
        self.use_umap = self.slow < FALLBACK_AFTER
        self.prev = umap
        return umap, took

    def now(self, X: np.ndarray) -> np.ndarray:
        """A layout of ``X`` made at once, warm-started from the newest."""
        from fusion.projector import next_frame

        self.prev = next_frame(X, self.prev, "umap", seed=self.seed)
        return self.prev
