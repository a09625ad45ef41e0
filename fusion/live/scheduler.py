"""The live map's frame thread, in the training worker: which frame to make next, within its
budget of the wall time, and sending each frame at once.

- it works on the newest evaluation only (older ones waiting are dropped, their inputs
  kept for :mod:`fusion.live.catch_up`);
- it makes the PCA frame itself (~10 ms at 5k points, numpy's LAPACK without the GIL) and
  sends it; UMAP is made in the projection process (:mod:`fusion.live.umap_frames`), and
  when it is ready the frame is sent again with it (``update``), so an epoch's PCA frame
  never waits behind a UMAP;
- it keeps a budget (:class:`Budget`, :data:`FRAME_SHARES`): after a frame that took c
  seconds, the next one of that map waits c * (1/share - 1), so PCA frames take at most
  5 % and UMAP frames 15 % of the wall time. Every frame has PCA; UMAP only those the
  budget allows, one at a time;
- after training it makes the last evaluation's UMAP frame if it had none (training waits
  for it), then the catch-up frames.

Each frame is aligned to the previous one with :func:`fusion.projection.next_frame` (UMAP
warm-started from the last layout, then orthogonal Procrustes; PCA rotated onto the last
frame with its scale kept, so a collapsing cloud shrinks on fixed axes).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from fusion.live.catch_up import CATCH_UP_SECONDS, CatchUp
from fusion.live.events import FRAME, Emit, Evaluation
from fusion.live.store import FrameRecord
from fusion.live.umap_frames import UmapJob, UmapRunner
from fusion.metrics import spread

# The frame thread's budget: each map's frames take at most this share of the wall time
# (UMAP ~0.85 s at 5k points on a busy 2-core CPU: one every ~5.7 s; PCA ~10 ms).
FRAME_SHARES = {"pca": 0.05, "umap": 0.15}


def _one_thread() -> contextlib.AbstractContextManager:
    """BLAS on one thread for the ``with`` block (the frame thread's share of the cores)."""
    from fusion.runtime import one_blas_thread

    return one_blas_thread()


def _frame_thread_setup() -> None:
    """The projection process (:mod:`fusion.projector`: it compiles UMAP while epoch 0
    runs); without one, umap-learn's import and compilation here, and numba on one thread
    in this thread (the setting is per thread), so frames take one core at most."""
    from fusion import projector

    if not projector.start():
        projector.prepare_thread()


class Budget:
    """Each map's frames take at most its share of the wall time (:data:`FRAME_SHARES`)."""

    def __init__(self, shares: dict[str, float] | None = None):
        self.shares = {**FRAME_SHARES, **(shares or {})}  # of the wall time, per map
        self.next_at = {"pca": 0.0, "umap": 0.0}  # perf_counter: next frame allowed

    def spend(self, method: str, seconds: float) -> None:
        """Frames of ``method`` may take at most its share of the wall time: the next one
        starts no earlier than ``seconds`` * (1 / share - 1) after this one ended."""
        share = self.shares[method]
        self.next_at[method] = time.perf_counter() + seconds * (1.0 / share - 1.0)

    def due(self, method: str) -> bool:
        return time.perf_counter() >= self.next_at[method]

    def wait(self, method: str) -> float:
        """Seconds until the next frame of ``method`` is allowed (0 when it is)."""
        return max(self.next_at[method] - time.perf_counter(), 0.0)


class FrameThread:
    """Makes and sends the live map's frames in its own thread (:meth:`offer` hands it an
    evaluation; :meth:`close` ends it after the last frames), keeping them in ``record``."""

    def __init__(
        self,
        emit: Emit,
        record: FrameRecord,
        seed: int = 0,
        shares: dict[str, float] | None = None,
        catch_up_s: float = CATCH_UP_SECONDS,
    ):
        self.emit, self.record, self.seed = emit, record, seed
        self.budget = Budget(shares)
        self.umap = UmapRunner(seed)
        self.catch_up = CatchUp(record, seed, catch_up_s)
        self.spread0: float | None = None  # the first evaluation's spread (set by the callback)
        self._sent_epoch = -1  # the newest evaluation whose frame was sent (pacing waits on it)
        self._sent = threading.Condition()  # not _cond: the frame thread alone waits on that
        self._last: Evaluation | None = None  # the newest evaluation framed
        self._prev_pca: np.ndarray | None = None
        self._cond = threading.Condition()
        self._pending: Evaluation | None = None
        self._closing = False
        self._thread: threading.Thread | None = None
        self._umap_job: UmapJob | None = None  # the UMAP frame being made
        self._close_by = float("inf")  # after training: how long a UMAP frame is waited for
        self._newest: tuple[Evaluation, dict[str, Any]] | None = None  # the newest frame sent

    # -- called from the training thread

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="fusion-live-map", daemon=True)
        self._thread.start()

    def offer(self, item: Evaluation) -> None:
        """Hand ``item`` to the frame thread; the newest replaces one still waiting (dropped)."""
        with self._cond:
            dropped, self._pending = self._pending, item
            self._cond.notify()
        if dropped is not None and dropped.at is None and np.isfinite(dropped.X).all():
            self.catch_up.keep(dropped.epoch, dropped.X)  # framed after training

    def wait_sent(self, epoch: int, timeout: float) -> None:
        """Wait until ``epoch``'s frame is sent (or has none), at most ``timeout`` seconds."""
        with self._sent:
            self._sent.wait_for(lambda: self._sent_epoch >= epoch, timeout)

    def close(self) -> None:
        """Make the last frames (waiting at most the projector's timeout for a UMAP frame
        under way) and end the thread."""
        from fusion.projector import FRAME_TIMEOUT_SECONDS

        with self._cond:
            self._closing = True
            self._close_by = time.perf_counter() + FRAME_TIMEOUT_SECONDS
            self._cond.notify()
        if self._thread is not None:
            self._thread.join()

    # -- the frame thread

    def _loop(self) -> None:
        from fusion.child import name_os_thread
        from fusion.projection import lower_priority
        from fusion.projector import THREAD_NAME

        name_os_thread(THREAD_NAME)  # not "fusion-training", inherited from its creator
        lower_priority()  # frames take the cores the training leaves

        with contextlib.suppress(Exception), _one_thread():
            _frame_thread_setup()
        while True:
            with self._cond:  # wait for an evaluation (and the PCA budget) or a UMAP frame
                while (work := self._next_work()) is None:
                    self._cond.wait(self._wait_seconds())
                item = self._pending if work == "pca" else None
                if work == "pca":
                    self._pending = None
                done, closing = self._umap_job if work == "umap" else None, self._closing
                if work == "umap":
                    self._umap_job = None
            if work == "end":
                break
            if done is not None:
                self._safely(self._umap_done, done.item.epoch, done, closing)
            elif item is not None:
                self._safely(self._frame, item.epoch, item, closing)
        last = self._last
        if self.umap.use_umap and last is not None and self.record.umap_epochs[-1:] != [last.epoch]:
            self._safely(self._final_umap, last.epoch)  # the last frame always has UMAP
        if self.catch_up.due():
            self._safely(self.catch_up.run, -1, self.umap.use_umap)

    def _next_work(self) -> str | None:
        """What the frame thread does next (holding the lock): "umap" (a UMAP frame is ready),
        "pca" (frame the waiting evaluation), "end", or None (wait)."""
        job = self._umap_job
        if job is not None and job.future.done():
            return "umap"
        if self._pending is not None and (self._closing or self.budget.due("pca")):
            return "pca"
        if self._closing and job is not None and time.perf_counter() >= self._close_by:
            self._umap_job, self.umap.use_umap = None, False  # stuck: the run ends without it
            job = None
        if self._closing and self._pending is None and job is None:
            return "end"
        return None

    def _wait_seconds(self) -> float | None:
        if self._closing:  # a UMAP frame ready notifies; a stuck one is given up
            return max(self._close_by - time.perf_counter(), 0.0)
        if self._pending is None:
            return None  # an evaluation or a UMAP frame ready notifies
        return self.budget.wait("pca")

    def _wake(self, _future: Any = None) -> None:
        with self._cond:
            self._cond.notify()

    def _safely(self, fn: Callable[..., None], epoch: int, *args: Any) -> None:
        try:
            with _one_thread():
                fn(*args)
        except Exception as exc:  # the map must never end a training
            self.emit(FRAME + "_error", {"epoch": epoch, "error": str(exc)[:200]})

    def _start_umap(self, item: Evaluation, frame: dict[str, Any], closing: bool) -> None:
        """Start ``item``'s UMAP frame in the projection process (or frames thread) when it
        is due and none is being made; the PCA frames go on meanwhile."""
        due = closing or self.budget.due("umap")
        if not (self.umap.use_umap and due and self._umap_job is None):
            return
        job = self.umap.submit(item, frame)
        with self._cond:
            self._umap_job = job
        job.future.add_done_callback(self._wake)

    def _umap_done(self, job: UmapJob, closing: bool) -> None:
        """A UMAP frame is ready: keep it, send it as an update of its frame, and start the
        newest frame's UMAP when due."""
        umap, took = self.umap.result(job)
        if job.warm:  # numba's one-off compile is not a frame's cost: no spacing
            self.budget.spend("umap", took)
        item = job.item
        if item.at is None:
            self.record.add("umap", item.epoch, umap)
            self.catch_up.framed(item.epoch)
        fallback = not self.umap.use_umap
        update = {**job.frame, "umap": umap, "update": True, "umap_fallback": fallback}
        self._send(update, job.started, item.t)
        if self._newest is not None and self._newest[0] is not item:  # framed meanwhile
            self._start_umap(*self._newest, closing)

    def _frame_dict(
        self, item: Evaluation, pca: np.ndarray, umap: np.ndarray | None, update: bool = False
    ) -> dict[str, Any]:
        s = spread(item.X)["spread"]
        kept = item.at is None
        return {
            "epoch": item.epoch if kept else item.at,
            "partial": not kept,
            "update": update,  # the same frame again, now with its UMAP (Progress merges it)
            "spread": s,
            "spread0": self.spread0 or s,
            "pca": pca,
            "umap": umap,
            "umap_fallback": not self.umap.use_umap,
        }

    def _frame(self, item: Evaluation, closing: bool) -> None:
        """Send ``item``'s PCA frame at once and start its UMAP when due; an evaluation's
        frame is kept for the run (a peek's only drawn)."""
        from fusion.projection import next_frame  # PCA here: ~10 ms, never behind a UMAP

        t0 = time.perf_counter()
        if not np.isfinite(item.X).all():  # a diverging model: no frame, the last one stays
            self._mark_sent(item)
            return
        pca = self._prev_pca = next_frame(item.X, self._prev_pca, "pca")
        self.budget.spend("pca", time.perf_counter() - t0)
        if item.at is None:
            self._last = item
            self.catch_up.keep(item.epoch, item.X)  # until its UMAP frame comes
            self.record.add("pca", item.epoch, pca)
        frame = self._frame_dict(item, pca, None)
        self._newest = (item, frame)
        self._send(frame, t0, item.t)
        self._mark_sent(item)
        self._start_umap(item, frame, closing)

    def _mark_sent(self, item: Evaluation) -> None:
        """An evaluation's frame is sent (or has none): a paced training goes on."""
        if item.at is None:
            with self._sent:
                self._sent_epoch = max(self._sent_epoch, item.epoch)
                self._sent.notify_all()

    def _final_umap(self) -> None:
        """The last evaluation's frame again, with UMAP (its frame had none)."""
        assert self._last is not None
        item, t0 = self._last, time.perf_counter()
        # the last evaluation's PCA, not a later peek's (its layout is the one saved)
        pca = self.record.pca_of(item.epoch)
        umap = self.umap.now(item.X)
        self.record.add("umap", item.epoch, umap)
        self._send(self._frame_dict(item, pca, umap, update=True), t0, item.t)

    def _send(self, frame: dict[str, Any], t0: float, t_eval: float) -> None:
        now = time.perf_counter()
        frame["seconds"], frame["lag"], frame["sent"] = now - t0, now - t_eval, time.time()
        self.emit(FRAME, frame)
