"""The frames made after training, in the worker: epochs the live map left without a frame
or a UMAP layout get one, so Explore's UMAP slider steps through the run as it formed
instead of jumping from one frame to the last.

Their inputs are kept meanwhile (float16, thinned when full); at most
:data:`CATCH_UP_FRAMES` UMAP frames, evenly spread, are made within
:data:`CATCH_UP_SECONDS` (a demo's map waits this long at most).
"""

from __future__ import annotations

import time

import numpy as np

from fusion.live.store import FrameRecord

CATCH_UP_FRAMES = 10
CATCH_UP_SECONDS = 3.0


class CatchUp:
    """The inputs of epochs that may still need a frame, and the frames made for them after
    training (added to ``record``)."""

    def __init__(self, record: FrameRecord, seed: int, seconds: float = CATCH_UP_SECONDS):
        self.record, self.seed, self.seconds = record, seed, seconds
        self.inputs: list[tuple[int, np.ndarray]] = []  # (epoch, float16 embeddings)

    def keep(self, epoch: int, X: np.ndarray) -> None:
        """Keep an epoch's input for :meth:`run`. When full, every other input of a frame
        already drawn is let go first (a dropped evaluation has no frame at all), then
        every other one (at most 4 * CATCH_UP_FRAMES inputs, float16)."""
        self.inputs.append((epoch, X.astype(np.float16)))
        if len(self.inputs) > 2 * CATCH_UP_FRAMES:
            drawn = set(self.record.epochs)
            framed = [i for i, (e, _) in enumerate(self.inputs) if e in drawn]
            let_go = set(framed[1::2])
            self.inputs = [x for i, x in enumerate(self.inputs) if i not in let_go]
        if len(self.inputs) > 4 * CATCH_UP_FRAMES:
            self.inputs = self.inputs[::2]

    def framed(self, epoch: int) -> None:
        """``epoch`` has its UMAP frame: its input is not needed any more."""
        self.inputs = [(e, X) for e, X in self.inputs if e != epoch]

    def due(self) -> bool:
        return bool(self.inputs) and self.seconds > 0

    def run(self, use_umap: bool) -> None:
        """Frames for kept epochs after training, evenly spread, within the time allowed:
        a PCA frame for an evaluation that was dropped (the budget, a busy machine), and a
        UMAP frame (``use_umap``) for each that has none, so Explore's slider steps through
        the run.

        Each is aligned to (UMAP: warm-started from) the frame of the nearest earlier epoch;
        the frames the live map drew are left as they were (Explore opens on the last).
        """
        from fusion import projection, projector

        record = self.record
        end = time.perf_counter() + self.seconds
        for epoch, X16 in self.inputs:  # PCA (milliseconds) for every dropped evaluation
            if epoch not in record.epochs and time.perf_counter() < end:
                prev = _nearest_before(record.epochs, record.coords["pca"], epoch)
                record.add("pca", epoch, projection.next_frame(X16.astype(np.float32), prev, "pca"))
        todo = [(e, X) for e, X in self.inputs if e not in set(record.umap_epochs)]
        if len(todo) > CATCH_UP_FRAMES:
            pick = np.linspace(0, len(todo) - 1, CATCH_UP_FRAMES).round().astype(int)
            todo = [todo[i] for i in pick]
        for epoch, X16 in todo:
            if time.perf_counter() > end:
                break
            X = X16.astype(np.float32)
            if use_umap:
                prev = _nearest_before(record.umap_epochs, record.coords["umap"], epoch)
                record.add("umap", epoch, projector.next_frame(X, prev, "umap", seed=self.seed))
        self.inputs = []


def _nearest_before(epochs: list[int], coords: list[np.ndarray], epoch: int):
    """The frame of the latest epoch before ``epoch`` (None when there is none)."""
    before = [i for i, e in enumerate(epochs) if e < epoch]
    return coords[max(before, key=epochs.__getitem__)] if before else None
