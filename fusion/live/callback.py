"""The live views' training callback, in the worker: :class:`LiveMap` looks at every
evaluation, keeps a subsample of whole samples, tells the server who the points are, sends
the attention weights, and hands the embeddings to the frame thread
(:class:`fusion.live.scheduler.FrameThread`). :func:`live_callbacks` gives a worker its
live views.

A paced training (``pace`` > 0: the Home demos, whose epochs take a fraction of a second)
waits after each evaluation until its frame is sent and ``pace`` seconds have passed since
the previous one, so each epoch is on the page long enough to be seen; it mostly waits, so
UMAP may take a larger share of the wall time (:data:`PACED_SHARES`).

Duck-typed to :class:`fusion.train.Callback`, so this module imports no torch.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from fusion.live.catch_up import CATCH_UP_SECONDS
from fusion.live.events import ATTENTION, POINTS, Emit, Evaluation, enabled
from fusion.live.scheduler import FrameThread
from fusion.live.store import FrameRecord
from fusion.metrics import spread

if TYPE_CHECKING:
    from fusion.config import RunConfig
    from fusion.data import PairedData

LIVE_MAX_POINTS = 5000  # points drawn live (all modalities), whole samples kept
# Within a long epoch the worker's model is looked at this often (fusion.train's on_peek),
# so the map moves at least once a second however long an epoch takes.
PEEK_SECONDS = 0.5
# A paced training (a demo) mostly waits for its pace, so UMAP may take more of the wall time.
PACED_SHARES = {"umap": 0.5}
PACE_FRAME_WAIT_SECONDS = 2.0  # a paced evaluation waits at most this long for its frame
# A paced training's first frame (the start, before any learning) stays at least this long:
# a page that opens its map on it gets to draw it (Plotly's first chart takes a second or
# two in a busy browser) before the space starts to move.
PACE_FIRST_SECONDS = 2.0
# ...and waits this long at most for that frame (the frame thread starts the projection
# process and imports first: seconds on a busy machine).
PACE_FIRST_WAIT_SECONDS = 15.0


def live_callbacks(config: RunConfig, emit: Emit, pace: float = 0.0) -> list[Any]:
    """The training callbacks of the live views for ``config`` ([] when turned off);
    ``pace`` > 0: at least that many seconds per evaluation (see :class:`LiveMap`)."""
    if not enabled():
        return []
    shares = PACED_SHARES if pace > 0 else None
    return [LiveMap(emit, seed=config.train.seed, pace=pace, shares=shares)]


def live_rows(n_samples: int, n_modalities: int, max_points: int, seed: int) -> np.ndarray:
    """Sorted sample indices kept for the live view: all, or a seeded subset of whole samples."""
    keep = max(1, max_points // max(n_modalities, 1))
    if n_samples <= keep:
        return np.arange(n_samples)
    return np.sort(np.random.default_rng(seed).choice(n_samples, keep, replace=False))


class LiveMap:
    """Training callback: live map frames and attention weights, sent through ``emit``; the
    frames kept for the run are left on the history (``History.live_frames``)."""

    def __init__(
        self,
        emit: Emit,
        seed: int = 0,
        max_points: int = LIVE_MAX_POINTS,
        shares: dict[str, float] | None = None,
        catch_up_s: float = CATCH_UP_SECONDS,
        peek_seconds: float = PEEK_SECONDS,
        pace: float = 0.0,
    ):
        self.emit, self.seed, self.max_points = emit, int(seed), int(max_points)
        self.pace = float(pace)  # > 0: each evaluation waits for its frame and this long
        self._paced_at = 0.0  # perf_counter when the previous paced evaluation went on
        self.peek_seconds = peek_seconds  # fusion.train calls on_peek this often in an epoch
        self.n_val = 0
        self.record = FrameRecord()  # the kept points (rows, names) and frames
        self.frames = FrameThread(emit, self.record, self.seed, shares, catch_up_s)

    # -- fusion.train.Callback

    def on_train_start(self, info: dict[str, Any]) -> None:
        self.n_val = int(info.get("n_val", 0))
        self.frames.start()

    def on_step(self, info: dict[str, float]) -> None: ...

    def on_epoch_end(self, info: dict[str, float], history: Any) -> None: ...

    def on_evaluate(self, epoch: int, arrays: dict[str, np.ndarray], data: PairedData) -> None:
        embs = {k[4:]: v for k, v in arrays.items() if k.startswith("emb:")}
        if not embs:
            return
        record = self.record
        if record.rows is None:
            record.names = list(embs)
            record.rows = live_rows(data.n, len(embs), self.max_points, self.seed)
            self.emit(POINTS, self._points(data))
        X = self._stack(embs)
        if self.frames.spread0 is None and np.isfinite(X).all():  # the first evaluation, even
            self.frames.spread0 = spread(X)["spread"]  # dropped: collapse is "since epoch 0"
        self.frames.offer(Evaluation(int(epoch), X, time.perf_counter()))
        if "weights" in arrays:
            w = np.asarray(arrays["weights"])[record.rows].astype(np.float16)
            self.emit(ATTENTION, {"epoch": int(epoch), "weights": w})
        if self.pace > 0:
            self._keep_pace(int(epoch))

    def _keep_pace(self, epoch: int) -> None:
        """Wait until ``epoch``'s frame is sent (at most PACE_FRAME_WAIT_SECONDS) and
        ``pace`` seconds have passed since the previous evaluation went on (the first
        evaluation: PACE_FIRST_SECONDS since its frame was sent)."""
        wait = PACE_FRAME_WAIT_SECONDS if self._paced_at else PACE_FIRST_WAIT_SECONDS
        self.frames.wait_sent(epoch, wait)
        if not self._paced_at:
            self._paced_at = time.perf_counter() + max(PACE_FIRST_SECONDS - self.pace, 0.0)
        rest = self._paced_at + self.pace - time.perf_counter()
        if rest > 0:
            time.sleep(rest)
        self._paced_at = time.perf_counter()

    def on_peek(self, at: float, arrays: dict[str, np.ndarray], data: PairedData) -> None:
        """A look within a long epoch: a frame drawn live, not saved (Explore replays epochs)."""
        embs = {k[4:]: v for k, v in arrays.items() if k.startswith("emb:")}
        if self.record.rows is None or list(embs) != self.record.names:
            return
        self.frames.offer(
            Evaluation(math.ceil(at), self._stack(embs), time.perf_counter(), float(at))
        )

    def on_train_end(self, history: Any) -> None:
        self.frames.close()
        if self.record.epochs:
            history.live_frames = self.record.saved()

    def _stack(self, embs: dict[str, np.ndarray]) -> np.ndarray:
        rows = self.record.rows
        return np.concatenate(
            [np.asarray(embs[m], dtype=np.float32)[rows] for m in self.record.names]
        )

    def _points(self, data: PairedData) -> dict[str, Any]:
        """The ``points`` event: who the kept points are."""
        rows, names = self.record.rows, self.record.names
        assert rows is not None
        S, M = len(rows), len(names)
        labels = None if data.labels is None else np.asarray(data.labels)[rows].astype(np.int32)
        mask = None if data.mask is None else np.asarray(data.mask)[rows].astype(np.float16)
        rel = np.full(S * M, np.nan, dtype=np.float16)
        if mask is not None:
            for j, m in enumerate(names):
                if m in data.names:
                    rel[j * S : (j + 1) * S] = mask[:, data.names.index(m)]
        return {
            "sample": np.tile(rows.astype(np.int32), M),
            "modality": np.repeat(np.arange(M, dtype=np.int8), S),
            "modalities": list(names),
            "labels": labels,
            "label_names": list(data.label_names or []),
            "reliability": rel,
            "mask": mask,  # (S, data modalities): the attention rows' reliability
            "mask_names": list(data.names),
            "n_rows": int(data.n),  # validation rows evaluated (the snapshot rows)
            "n_val": self.n_val or int(data.n),  # validation rows in all
        }
