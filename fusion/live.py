"""The live map and live attention while training: frames made in the training worker.

:func:`live_callbacks` gives the training worker its live views. After every
evaluation (epoch 0 and each epoch's end) :class:`LiveMap` takes the validation
embeddings the task already computed (``emb:<modality>`` on the fixed snapshot rows,
:meth:`fusion.train.Callback.on_evaluate`), keeps a deterministic subsample of whole
samples (at most :data:`LIVE_MAX_POINTS` points), and hands them to its own frame thread,
which maps them into 2-D and sends each frame to the server through ``emit``:

- ``points`` (once): who the points are (sample, modality, label, reliability), the
  attention rows' labels and reliability mask, and how many points were left out;
- ``frame`` (per evaluation, and every :data:`PEEK_SECONDS` of a long epoch, where
  ``partial`` is True and ``epoch`` fractional: 2.5 is half of epoch 3 trained; these are
  drawn live but not saved): the epoch and float32 coordinates (P, 2) for PCA and, while
  it keeps up, UMAP, each aligned to the previous frame with
  :func:`fusion.projection.next_frame` (UMAP warm-started from the last layout, then
  orthogonal Procrustes; PCA rotated onto the last frame with its scale kept, so a
  collapsing cloud shrinks on fixed axes), plus the cloud's spread;
- ``attention`` (attention fusion): the per-sample modality weights (float16, (S, M)).

The frame thread stays out of training's way and sends each frame at once:

- it works on the newest evaluation only (older ones waiting are dropped);
- it makes the PCA frame itself (~10 ms at 5k points, numpy's LAPACK without the GIL) and
  sends it; UMAP is made in the projection process (:mod:`fusion.projector`: one BLAS and
  numba thread, niced), and when it is ready the frame is sent again with it (``update``:
  :func:`add_frame` replaces the frame the page keeps), so an epoch's PCA frame never
  waits behind a UMAP;
- it keeps a budget (:data:`FRAME_SHARES`): after a frame that took c seconds, the next
  one of that map waits c * (1/share - 1), so PCA frames take at most 5 % and UMAP frames
  15 % of the wall time. Every frame has PCA; UMAP only those the budget allows (and one
  at a time; the page shows the newest frame with UMAP). When UMAP frames take longer
  than :data:`UMAP_SLOW_SECONDS` several times in a row, UMAP is dropped and PCA carries
  on (``umap_fallback`` in the frames).

A paced training (``pace`` > 0: the Home demos, whose epochs take a fraction of a second)
waits after each evaluation until its frame is sent and ``pace`` seconds have passed since
the previous one, so each epoch is on the page long enough to be seen; it mostly waits, so
UMAP may take a larger share of the wall time (:data:`PACED_SHARES`).

The last evaluation is never dropped: training waits for its frame (with UMAP) before it
ends. The frames are left on the history (``History.live_frames``) and saved with the run
as :data:`FRAMES_FILE` (UMAP with its own epochs), so Explore replays the same frames
(:func:`load_frames`, :func:`explore_view`).

Torch-free: pages read saved frames without importing torch; the callback is duck-typed
to :class:`fusion.train.Callback`.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from fusion.metrics import spread

if TYPE_CHECKING:
    from fusion.config import RunConfig
    from fusion.data import PairedData
    from fusion.rundata import MapData

Emit = Callable[[str, Any], None]
LIVE_MAX_POINTS = 5000  # points drawn live (all modalities), whole samples kept
UMAP_SLOW_SECONDS = 1.0  # a UMAP frame slower than this cannot give a frame a second...
FALLBACK_AFTER = 3  # ...this many times in a row: the live map carries on with PCA only
FRAMES_FILE = "live_frames.npz"
# After training, Explore's UMAP slider should step through the run as it formed, not jump
# from one frame to the last: epochs whose live frame had no UMAP (the budget) get one now,
# at most CATCH_UP_FRAMES of them, evenly spread, within CATCH_UP_SECONDS (a demo's map
# waits this long at most). Their inputs are kept meanwhile (float16, thinned when full).
CATCH_UP_FRAMES = 10
CATCH_UP_SECONDS = 3.0
# The frame thread's budget: each map's frames take at most this share of the wall time
# (UMAP ~0.85 s at 5k points on a busy 2-core CPU: one every ~5.7 s; PCA ~10 ms).
FRAME_SHARES = {"pca": 0.05, "umap": 0.15}
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
# The live map shows the newest PCA frame instead of an older UMAP one when the newest UMAP
# frame is more than this many epochs, or seconds, behind the newest frame.
STALE_UMAP_EPOCHS = 3.0
STALE_UMAP_SECONDS = 10.0
POINTS, FRAME, ATTENTION = "points", "frame", "attention"  # event kinds
ENV_SWITCH = "FUSION_LIVE_MAP"  # "0" turns the live views off (benchmarks compare both)


def enabled() -> bool:
    return os.environ.get(ENV_SWITCH, "1") != "0"


def live_callbacks(config: RunConfig, emit: Emit, pace: float = 0.0) -> list[Any]:
    """The training callbacks of the live views for ``config`` ([] when turned off);
    ``pace`` > 0: at least that many seconds per evaluation (see :class:`LiveMap`)."""
    if not enabled():
        return []
    shares = PACED_SHARES if pace > 0 else None
    return [LiveMap(emit, seed=config.train.seed, pace=pace, shares=shares)]


def _frame_thread_setup() -> None:
    """The projection process (:mod:`fusion.projector`: it compiles UMAP while epoch 0
    runs); without one, umap-learn's import and compilation here, and numba on one thread
    in this thread (the setting is per thread), so frames take one core at most."""
    from fusion import projector

    if not projector.start():
        projector.prepare_thread()


def live_rows(n_samples: int, n_modalities: int, max_points: int, seed: int) -> np.ndarray:
    """Sorted sample indices kept for the live view: all, or a seeded subset of whole samples."""
    keep = max(1, max_points // max(n_modalities, 1))
    if n_samples <= keep:
        return np.arange(n_samples)
    return np.sort(np.random.default_rng(seed).choice(n_samples, keep, replace=False))


class _Eval(NamedTuple):
    """One look at the model for the frame thread."""

    epoch: int  # the evaluation's epoch (a peek: the epoch in progress)
    X: np.ndarray  # (P, d) the kept points' embeddings, modality blocks stacked
    t: float  # perf_counter when it was taken
    at: float | None = None  # a peek within an epoch: the fractional epoch (not saved)


class _UmapJob(NamedTuple):
    """A UMAP frame being made for ``item`` (whose PCA ``frame`` was sent)."""

    item: _Eval
    frame: dict[str, Any]  # the frame as sent, which its update repeats with UMAP
    prev: np.ndarray | None  # the UMAP layout it is warm-started from
    future: Any  # concurrent.futures.Future of the (P, 2) layout
    started: float  # perf_counter
    warm: bool  # UMAP was compiled when it started (else its time is the compile's)


class LiveMap:
    """Training callback: live map frames and attention weights, sent through ``emit``."""

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
        self._sent_epoch = -1  # the newest evaluation whose frame was sent (pacing waits on it)
        self._sent = threading.Condition()  # not _cond: the frame thread alone waits on that
        self.peek_seconds = peek_seconds  # fusion.train calls on_peek this often in an epoch
        self.catch_up_s = catch_up_s  # after training: UMAP for epochs that had none
        self.shares = {**FRAME_SHARES, **(shares or {})}  # of the wall time, per map
        self._next_at = {"pca": 0.0, "umap": 0.0}  # perf_counter: next frame allowed
        self.rows: np.ndarray | None = None  # kept samples (indices into the snapshot rows)
        self.names: list[str] = []  # the modalities on the map, in row-block order
        self.n_val = 0
        self.use_umap = True
        self.slow = 0  # UMAP frames in a row slower than UMAP_SLOW_SECONDS
        self.epochs: list[int] = []  # every frame's epoch (each has PCA)
        self.umap_epochs: list[int] = []  # the frames with UMAP too
        self.coords: dict[str, list[np.ndarray]] = {"pca": [], "umap": []}
        self._last: _Eval | None = None  # the newest evaluation framed
        self._prev_epoch_umap: int | None = None
        self.spread0: float | None = None
        self._prev: dict[str, np.ndarray | None] = {"pca": None, "umap": None}
        self._cond = threading.Condition()
        self._pending: _Eval | None = None
        self._closing = False
        self._thread: threading.Thread | None = None
        self._inputs: list[tuple[int, np.ndarray]] = []  # epochs without UMAP, for later
        self._umap_job: _UmapJob | None = None  # the UMAP frame being made
        self._close_by = float("inf")  # after training: how long a UMAP frame is waited for
        self._newest: tuple[_Eval, dict[str, Any]] | None = None  # the newest frame sent

    # -- fusion.train.Callback

    def on_train_start(self, info: dict[str, Any]) -> None:
        self.n_val = int(info.get("n_val", 0))
        self._thread = threading.Thread(target=self._loop, name="fusion-live-map", daemon=True)
        self._thread.start()

    def on_step(self, info: dict[str, float]) -> None: ...

    def on_epoch_end(self, info: dict[str, float], history: Any) -> None: ...

    def on_evaluate(self, epoch: int, arrays: dict[str, np.ndarray], data: PairedData) -> None:
        embs = {k[4:]: v for k, v in arrays.items() if k.startswith("emb:")}
        if not embs:
            return
        if self.rows is None:
            self.names = list(embs)
            self.rows = live_rows(data.n, len(embs), self.max_points, self.seed)
            self.emit(POINTS, self._points(data))
        X = self._stack(embs)
        if self.spread0 is None and np.isfinite(X).all():  # the first evaluation, even when
            self.spread0 = spread(X)["spread"]  # its frame is dropped: collapse is "since epoch 0"
        self._offer(_Eval(int(epoch), X, time.perf_counter()))
        if "weights" in arrays:
            w = np.asarray(arrays["weights"])[self.rows].astype(np.float16)
            self.emit(ATTENTION, {"epoch": int(epoch), "weights": w})
        if self.pace > 0:
            self._keep_pace(int(epoch))

    def _keep_pace(self, epoch: int) -> None:
        """Wait until ``epoch``'s frame is sent (at most PACE_FRAME_WAIT_SECONDS) and
        ``pace`` seconds have passed since the previous evaluation went on (the first
        evaluation: PACE_FIRST_SECONDS since its frame was sent)."""
        wait = PACE_FRAME_WAIT_SECONDS if self._paced_at else PACE_FIRST_WAIT_SECONDS
        with self._sent:
            self._sent.wait_for(lambda: self._sent_epoch >= epoch, wait)
        if not self._paced_at:
            self._paced_at = time.perf_counter() + max(PACE_FIRST_SECONDS - self.pace, 0.0)
        rest = self._paced_at + self.pace - time.perf_counter()
        if rest > 0:
            time.sleep(rest)
        self._paced_at = time.perf_counter()

    def on_peek(self, at: float, arrays: dict[str, np.ndarray], data: PairedData) -> None:
        """A look within a long epoch: a frame drawn live, not saved (Explore replays epochs)."""
        embs = {k[4:]: v for k, v in arrays.items() if k.startswith("emb:")}
        if self.rows is None or list(embs) != self.names:
            return
        self._offer(_Eval(math.ceil(at), self._stack(embs), time.perf_counter(), float(at)))

    def _stack(self, embs: dict[str, np.ndarray]) -> np.ndarray:
        return np.concatenate(
            [np.asarray(embs[m], dtype=np.float32)[self.rows] for m in self.names]
        )

    def _offer(self, item: _Eval) -> None:
        """Hand ``item`` to the frame thread; the newest replaces one still waiting (dropped)."""
        with self._cond:
            dropped, self._pending = self._pending, item
            self._cond.notify()
        if dropped is not None and dropped.at is None and np.isfinite(dropped.X).all():
            self._keep_input(dropped.epoch, dropped.X)  # framed after training (_catch_up)

    def on_train_end(self, history: Any) -> None:
        from fusion.projector import FRAME_TIMEOUT_SECONDS

        with self._cond:
            self._closing = True
            self._close_by = time.perf_counter() + FRAME_TIMEOUT_SECONDS
            self._cond.notify()
        if self._thread is not None:
            self._thread.join()
        if self.epochs:
            history.live_frames = self.saved()

    # -- the frame thread

    def _points(self, data: PairedData) -> dict[str, Any]:
        rows, M = self.rows, len(self.names)
        assert rows is not None
        S = len(rows)
        labels = None if data.labels is None else np.asarray(data.labels)[rows].astype(np.int32)
        mask = None if data.mask is None else np.asarray(data.mask)[rows].astype(np.float16)
        rel = np.full(S * M, np.nan, dtype=np.float16)
        if mask is not None:
            for j, m in enumerate(self.names):
                if m in data.names:
                    rel[j * S : (j + 1) * S] = mask[:, data.names.index(m)]
        return {
            "sample": np.tile(rows.astype(np.int32), M),
            "modality": np.repeat(np.arange(M, dtype=np.int8), S),
            "modalities": list(self.names),
            "labels": labels,
            "label_names": list(data.label_names or []),
            "reliability": rel,
            "mask": mask,  # (S, data modalities): the attention rows' reliability
            "mask_names": list(data.names),
            "n_rows": int(data.n),  # validation rows evaluated (the snapshot rows)
            "n_val": self.n_val or int(data.n),  # validation rows in all
        }

    def _loop(self) -> None:
        from fusion.child import name_os_thread
        from fusion.projection import lower_priority
        from fusion.projector import THREAD_NAME
        from fusion.train import _one_blas_thread  # the worker has torch loaded already

        name_os_thread(THREAD_NAME)  # not "fusion-training", inherited from its creator
        lower_priority()  # frames take the cores the training leaves

        with contextlib.suppress(Exception), _one_blas_thread():
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
        if self.use_umap and self._last is not None and self._prev_epoch_umap != self._last.epoch:
            self._safely(self._final_umap, self._last.epoch)  # the last frame always has UMAP
        if self._inputs and self.catch_up_s > 0:
            self._safely(self._catch_up, -1)

    def _next_work(self) -> str | None:
        """What the frame thread does next (holding the lock): "umap" (a UMAP frame is ready),
        "pca" (frame the waiting evaluation), "end", or None (wait)."""
        job = self._umap_job
        if job is not None and job.future.done():
            return "umap"
        if self._pending is not None and (
            self._closing or time.perf_counter() >= self._next_at["pca"]
        ):
            return "pca"
        if self._closing and job is not None and time.perf_counter() >= self._close_by:
            self._umap_job, self.use_umap = None, False  # stuck: the run ends without it
            job = None
        if self._closing and self._pending is None and job is None:
            return "end"
        return None

    def _wait_seconds(self) -> float | None:
        if self._closing:  # a UMAP frame ready notifies; a stuck one is given up
            return max(self._close_by - time.perf_counter(), 0.0)
        if self._pending is None:
            return None  # an evaluation or a UMAP frame ready notifies
        return max(self._next_at["pca"] - time.perf_counter(), 0.0)

    def _wake(self, _future: Any = None) -> None:
        with self._cond:
            self._cond.notify()

    def _safely(self, fn: Callable[..., None], epoch: int, *args: Any) -> None:
        from fusion.train import _one_blas_thread

        try:
            with _one_blas_thread():
                fn(*args)
        except Exception as exc:  # the map must never end a training
            self.emit(FRAME + "_error", {"epoch": epoch, "error": str(exc)[:200]})

    def _spend(self, method: str, seconds: float) -> None:
        """Frames of ``method`` may take at most its share of the wall time: the next one
        starts no earlier than ``seconds`` * (1 / share - 1) after this one ended."""
        share = self.shares[method]
        self._next_at[method] = time.perf_counter() + seconds * (1.0 / share - 1.0)

    def _start_umap(self, item: _Eval, frame: dict[str, Any], closing: bool) -> None:
        """Start ``item``'s UMAP frame in the projection process (or frames thread) when it
        is due and none is being made; the PCA frames go on meanwhile."""
        from fusion.projector import is_warm, submit

        due = closing or time.perf_counter() >= self._next_at["umap"]
        if not (self.use_umap and due and self._umap_job is None):
            return
        prev = self._prev["umap"]
        future = submit(item.X, prev, "umap", seed=self.seed)
        job = _UmapJob(item, frame, prev, future, time.perf_counter(), is_warm())
        with self._cond:
            self._umap_job = job
        future.add_done_callback(self._wake)

    def _umap_done(self, job: _UmapJob, closing: bool) -> None:
        """A UMAP frame is ready: keep it, send it as an update of its frame, and start the
        newest frame's UMAP when due."""
        from fusion.projector import result

        umap = result(job.future, job.item.X, job.prev, "umap", seed=self.seed)
        took = time.perf_counter() - job.started
        if job.warm:  # numba's one-off compile is not a frame's cost: no spacing, not "slow"
            self._spend("umap", took)
        self.slow = self.slow + 1 if took > UMAP_SLOW_SECONDS and job.warm else 0
        self.use_umap = self.slow < FALLBACK_AFTER
        self._prev["umap"] = umap
        item = job.item
        if item.at is None:
            self._keep_umap(item.epoch, umap)
            self._inputs = [(e, X) for e, X in self._inputs if e != item.epoch]  # framed
        update = {**job.frame, "umap": umap, "update": True, "umap_fallback": not self.use_umap}
        self._send(update, job.started, item.t)
        if self._newest is not None and self._newest[0] is not item:  # framed meanwhile
            self._start_umap(*self._newest, closing)

    def _keep_umap(self, epoch: int, umap: np.ndarray) -> None:
        self.coords["umap"].append(umap)
        self.umap_epochs.append(epoch)
        self._prev_epoch_umap = epoch

    def _frame_dict(
        self, item: _Eval, pca: np.ndarray, umap: np.ndarray | None, update: bool = False
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
            "umap_fallback": not self.use_umap,
        }

    def _frame(self, item: _Eval, closing: bool) -> None:
        """Send ``item``'s PCA frame at once and start its UMAP when due; an evaluation's
        frame is kept for the run (a peek's only drawn)."""
        from fusion.projection import next_frame  # PCA here: ~10 ms, never behind a UMAP

        t0 = time.perf_counter()
        if not np.isfinite(item.X).all():  # a diverging model: no frame, the last one stays
            self._mark_sent(item)
            return
        pca = self._prev["pca"] = next_frame(item.X, self._prev["pca"], "pca")
        self._spend("pca", time.perf_counter() - t0)
        if item.at is None:
            self._last = item
            self._keep_input(item.epoch, item.X)  # until its UMAP frame comes (_catch_up)
            self.epochs.append(item.epoch)
            self.coords["pca"].append(pca)
        frame = self._frame_dict(item, pca, None)
        self._newest = (item, frame)
        self._send(frame, t0, item.t)
        self._mark_sent(item)
        self._start_umap(item, frame, closing)

    def _mark_sent(self, item: _Eval) -> None:
        """An evaluation's frame is sent (or has none): a paced training goes on."""
        if item.at is None:
            with self._sent:
                self._sent_epoch = max(self._sent_epoch, item.epoch)
                self._sent.notify_all()

    def _final_umap(self) -> None:
        """The last evaluation's frame again, with UMAP (its frame had none)."""
        from fusion.projector import next_frame

        assert self._last is not None
        item, t0 = self._last, time.perf_counter()
        # the last evaluation's PCA, not a later peek's (its layout is the one saved)
        pca = self.coords["pca"][self.epochs.index(item.epoch)]
        umap = self._prev["umap"] = next_frame(item.X, self._prev["umap"], "umap", seed=self.seed)
        self._keep_umap(item.epoch, umap)
        self._send(self._frame_dict(item, pca, umap, update=True), t0, item.t)

    def _keep_input(self, epoch: int, X: np.ndarray) -> None:
        """Keep an epoch's input for :meth:`_catch_up`. When full, every other input of a
        frame already drawn is let go first (a dropped evaluation has no frame at all),
        then every other one (at most 4 * CATCH_UP_FRAMES inputs, float16)."""
        self._inputs.append((epoch, X.astype(np.float16)))
        if len(self._inputs) > 2 * CATCH_UP_FRAMES:
            drawn = set(self.epochs)
            framed = [i for i, (e, _) in enumerate(self._inputs) if e in drawn]
            let_go = set(framed[1::2])
            self._inputs = [x for i, x in enumerate(self._inputs) if i not in let_go]
        if len(self._inputs) > 4 * CATCH_UP_FRAMES:
            self._inputs = self._inputs[::2]

    def _catch_up(self) -> None:
        """Frames for kept epochs after training, evenly spread, within the time allowed:
        a PCA frame for an evaluation that was dropped (the budget, a busy machine), and a
        UMAP frame for each that has none, so Explore's slider steps through the run.

        Each is aligned to (UMAP: warm-started from) the frame of the nearest earlier epoch;
        the frames the live map drew are left as they were (Explore opens on the last).
        """
        from fusion import projection, projector

        end = time.perf_counter() + self.catch_up_s
        for epoch, X16 in self._inputs:  # PCA (milliseconds) for every dropped evaluation
            if epoch not in self.epochs and time.perf_counter() < end:
                prev = _nearest_before(self.epochs, self.coords["pca"], epoch)
                pca = projection.next_frame(X16.astype(np.float32), prev, "pca")
                self.coords["pca"].append(pca)
                self.epochs.append(epoch)
        todo = [(e, X) for e, X in self._inputs if e not in set(self.umap_epochs)]
        if len(todo) > CATCH_UP_FRAMES:
            pick = np.linspace(0, len(todo) - 1, CATCH_UP_FRAMES).round().astype(int)
            todo = [todo[i] for i in pick]
        for epoch, X16 in todo:
            if time.perf_counter() > end:
                break
            X = X16.astype(np.float32)
            if self.use_umap:
                prev = _nearest_before(self.umap_epochs, self.coords["umap"], epoch)
                self.coords["umap"].append(projector.next_frame(X, prev, "umap", seed=self.seed))
                self.umap_epochs.append(epoch)
        self._inputs = []

    def _send(self, frame: dict[str, Any], t0: float, t_eval: float) -> None:
        now = time.perf_counter()
        frame["seconds"], frame["lag"], frame["sent"] = now - t0, now - t_eval, time.time()
        self.emit(FRAME, frame)

    def saved(self) -> dict[str, np.ndarray]:
        """The frames as arrays for :data:`FRAMES_FILE` (UMAP with its own epochs)."""
        assert self.rows is not None
        S = len(self.rows)
        by_epoch = np.argsort(self.epochs, kind="stable")  # catch-up frames come last
        out = {
            "epochs": np.asarray(self.epochs, dtype=np.int32)[by_epoch],
            "pca": np.stack([self.coords["pca"][i] for i in by_epoch]).astype(np.float32),
            "sample": np.tile(self.rows.astype(np.int32), len(self.names)),
            "modality": np.repeat(np.asarray(self.names, dtype=str), S),
        }
        if self.coords["umap"]:
            order = np.argsort(self.umap_epochs, kind="stable")  # catch-up frames come last
            out["umap"] = np.stack([self.coords["umap"][i] for i in order]).astype(np.float32)
            out["umap_epochs"] = np.asarray(self.umap_epochs, dtype=np.int32)[order]
        return out


def _nearest_before(epochs: list[int], coords: list[np.ndarray], epoch: int):
    """The frame of the latest epoch before ``epoch`` (None when there is none)."""
    before = [i for i, e in enumerate(epochs) if e < epoch]
    return coords[max(before, key=epochs.__getitem__)] if before else None


# ---------------------------------------------------------------------------
# Drawing the events (pages call these with what the worker sent)


def points_frame(points: dict[str, Any], coords: np.ndarray) -> Any:
    """The table :func:`fusion.plots.shared_space` takes, from a ``points`` event and a
    frame's (P, 2) coordinates: u, v, sample, modality, label, label_name, reliability."""
    import pandas as pd

    names = np.asarray(points["modalities"], dtype=object)
    M = len(names)
    df = pd.DataFrame(
        {
            "u": coords[:, 0].astype(float),
            "v": coords[:, 1].astype(float),
            "sample": points["sample"],
            "modality": names[points["modality"]],
        }
    )
    labels = points.get("labels")
    if labels is not None:
        lab = np.tile(labels, M)
        names_l = np.asarray(points.get("label_names") or [], dtype=object)
        df["label"] = lab
        df["label_name"] = names_l[lab] if len(names_l) > lab.max(initial=0) else lab.astype(str)
    df["reliability"] = np.asarray(points["reliability"], dtype=float)
    return df


def shown_frame(
    frames: list[dict[str, Any]],
    method: str,
    stale_epochs: float = STALE_UMAP_EPOCHS,
    stale_seconds: float = STALE_UMAP_SECONDS,
) -> tuple[dict[str, Any], str, str]:
    """The frame the live map draws when ``method`` is asked for, the map it is drawn on,
    and why it differs from the newest frame on ``method`` ("" when it does not).

    PCA: the newest frame. UMAP (the worker's budget gives UMAP to some frames only): the
    newest frame when it has UMAP; else the newest frame with UMAP ("umap_behind"), unless
    that frame's evaluation is more than ``stale_epochs`` epochs or ``stale_seconds``
    seconds older than the newest one: then the newest frame on PCA ("umap_stale"), as
    before the first UMAP frame ("umap_first") and once UMAP was given up ("umap_fallback").
    """
    newest = frames[-1]
    if method != "umap" or newest.get("umap") is not None:
        return newest, method, ""
    if newest.get("umap_fallback"):
        return newest, "pca", "umap_fallback"
    with_umap = [f for f in frames if f.get("umap") is not None]
    if not with_umap:
        return newest, "pca", "umap_first"
    last = with_umap[-1]
    behind = float(newest["epoch"]) - float(last["epoch"])
    if behind > stale_epochs or _taken(newest) - _taken(last) > stale_seconds:
        return newest, "pca", "umap_stale"
    return last, "umap", "umap_behind"


def in_order_index(frames: list[dict[str, Any]], drawn: float | None) -> int:
    """The frame a view that draws every frame in order (a demo's, one per poll) draws
    next: the first when it has drawn none (``drawn``: the epoch it drew last), else the
    one after ``drawn``; the newest when there is none later. A paced training sends about
    one frame per poll, so such a view stays within a frame or two of the training, and a
    page that first draws late (a busy machine) still shows the space from its start."""
    if drawn is None:
        return 0
    return next((i for i, f in enumerate(frames) if float(f["epoch"]) > drawn), len(frames) - 1)


def _taken(frame: dict[str, Any]) -> float:
    """When a frame's evaluation was taken (time.time; an update's ``sent`` is later)."""
    return float(frame.get("sent", 0.0)) - float(frame.get("lag", 0.0))


def add_steps(
    curve: list[dict[str, float]], new: list[dict[str, float]], stride: int, cap: int
) -> tuple[list[dict[str, float]], int]:
    """Fold training steps ``new`` into a whole-run loss ``curve`` of at most ``cap`` points.

    The curve keeps the first step, every ``stride``-th step and the newest one (replaced
    by the next); when it is full, ``stride`` doubles and the steps off it are let go, so
    a long run keeps its whole history at one even resolution instead of its newest steps
    beside a straight line from the start. Returns (curve, stride).
    """
    for info in new:
        if len(curve) > 1 and int(curve[-1]["step"]) % stride:  # the newest: kept until the next
            curve.pop()
        curve.append(info)
        if len(curve) > cap:
            stride *= 2
            last = len(curve) - 1
            curve = [s for i, s in enumerate(curve) if i in (0, last) or s["step"] % stride == 0]
    return curve, stride


def epoch_label(frame: dict[str, Any]) -> str:
    """A frame's epoch as the map says it: "3", or "2.4" for a peek within epoch 3."""
    if frame.get("partial"):
        return f"{math.floor(float(frame['epoch']) * 10) / 10:.1f}"
    return str(int(frame["epoch"]))


def add_frame(frames: list[dict[str, Any]], frame: dict[str, Any]) -> None:
    """Add a ``frame`` event to the frames a page keeps: a new frame is appended; an
    ``update`` (the same frame with its UMAP, made after it) replaces its frame, so the
    list stays one frame per evaluation or peek, in order."""
    if not frame.get("update"):
        frames.append(frame)
        return
    key = (frame["epoch"], bool(frame.get("partial")))
    for i in range(len(frames) - 1, -1, -1):
        if (frames[i]["epoch"], bool(frames[i].get("partial"))) == key:
            frames[i] = frame
            return
    if not frames or frames[-1]["epoch"] <= frame["epoch"]:  # its frame was thinned away
        frames.append(frame)


def thin_frames(frames: list[dict[str, Any]], cap: int) -> list[dict[str, Any]]:
    """At most about ``cap`` frame events for a page to keep: every other peek dropped
    first (oldest half), then every other frame; the first (the scale a collapse shrinks
    from) and the newest always stay."""
    if len(frames) <= cap:
        return frames
    half = len(frames) // 2
    old = [f for i, f in enumerate(frames[:half]) if not f.get("partial") or i % 2 == 0]
    out = old + frames[half:]
    return out if len(out) <= cap else [out[0], *out[-1:0:-2][::-1]]


def axis_ranges(frames: list[np.ndarray], method: str) -> tuple[tuple[float, float], ...]:
    """Fixed axis ranges for the newest of ``frames`` ((P, 2) each).

    PCA: every frame so far, so the axes keep the first frame's scale and a collapsing
    cloud shrinks on them. UMAP (one size every frame): the last three frames, so the view
    follows the map without jumping when one frame reaches a little further.
    """
    recent = frames if method == "pca" else frames[-3:]
    pts = np.concatenate([np.asarray(f, dtype=np.float64) for f in recent])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = hi - lo
    pad = np.where(span > 1e-12, 0.05 * span, 1.0)
    return tuple((float(a - p), float(b + p)) for a, b, p in zip(lo, hi, pad, strict=True))


def attention_summary(
    events: list[dict[str, Any]], mask: np.ndarray | None
) -> tuple[list[int], np.ndarray, np.ndarray | None]:
    """(epochs, mean weight (E, M), mean weight where the mask is 0 (E, M) or None)."""
    epochs = [int(e["epoch"]) for e in events]
    W = [np.asarray(e["weights"], dtype=np.float64) for e in events]
    means = np.stack([w.mean(axis=0) for w in W])
    if mask is None:
        return epochs, means, None
    off = np.asarray(mask, dtype=float) == 0
    unrel = np.array(
        [
            [w[off[:, j], j].mean() if off[:, j].any() else np.nan for j in range(w.shape[1])]
            for w in W
        ]
    )
    return epochs, means, unrel


def collapse_factor(frame: dict[str, Any]) -> float:
    """How many times smaller the cloud is than in the first frame (see fusion.metrics)."""
    first, now = float(frame.get("spread0") or 0.0), float(frame.get("spread") or 0.0)
    if now <= 0.0:
        return float("inf") if first > 0.0 else 1.0
    return first / now


# ---------------------------------------------------------------------------
# Saved frames: the run's folder, and Explore


@dataclass
class SavedFrames:
    epochs: np.ndarray  # (E,) evaluation epochs with a frame
    coords: dict[str, np.ndarray]  # "pca" / "umap" -> (E_m, P, 2) float32
    sample: np.ndarray  # (P,) the point's row in the run's snapshots
    modality: np.ndarray  # (P,) its modality
    method_epochs: dict[str, np.ndarray] = field(default_factory=dict)  # E_m, if not epochs

    def epochs_of(self, method: str) -> np.ndarray:
        return self.method_epochs.get(method, self.epochs)


def save_frames(folder: str | os.PathLike, history: Any) -> None:
    """Write ``history.live_frames`` to ``folder/FRAMES_FILE`` when training kept any."""
    frames = getattr(history, "live_frames", None)
    if frames:
        np.savez_compressed(Path(folder) / FRAMES_FILE, **frames)


def load_frames(folder: str | os.PathLike) -> SavedFrames | None:
    """A run's live frames, or None (runs before the live map, or an unreadable file)."""
    path = Path(folder) / FRAMES_FILE
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            coords = {m: z[m].astype(np.float32) for m in ("pca", "umap") if m in z.files}
            own = {m: z[f"{m}_epochs"] for m in coords if f"{m}_epochs" in z.files}
            frames = SavedFrames(z["epochs"], coords, z["sample"], z["modality"].astype(str), own)
    except (OSError, ValueError, KeyError):
        return None
    P = len(frames.sample)
    ok = all(
        c.shape == (len(frames.epochs_of(m)), P, 2) and np.isfinite(c).all()
        for m, c in coords.items()
    )
    return frames if ok and len(frames.epochs) and len(frames.modality) == P else None


def explore_view(
    frames: SavedFrames, data: MapData, method: str
) -> tuple[MapData, np.ndarray] | None:
    """The run's map data on the live frames' points and epochs, and their coordinates.

    Explore shows these instead of projecting the snapshots again, so its map is the one
    seen while training. Each live epoch's embeddings (for neighbours) are those of the
    latest snapshot at or before it. None when the frames lack ``method`` or do not match
    the run's snapshots (then Explore projects the snapshots as before).
    """
    from fusion.rundata import MapData

    if method not in frames.coords or not data.epochs:
        return None
    index = {
        (str(m), int(s)): i
        for i, (m, s) in enumerate(zip(data.meta["modality"], data.meta["sample"], strict=True))
    }
    rows = [
        index.get((str(m), int(s)), -1) for m, s in zip(frames.modality, frames.sample, strict=True)
    ]
    if min(rows) < 0:
        return None
    snap_epochs = np.asarray(data.epochs)
    live_epochs = frames.epochs_of(method)
    snap_idx = np.maximum(np.searchsorted(snap_epochs, live_epochs, side="right") - 1, 0)
    Z = data.Z[:, rows][snap_idx]  # (E_live, P, d)
    meta = data.meta.iloc[rows].reset_index(drop=True)
    epochs = [int(e) for e in live_epochs]
    return MapData(epochs, meta, Z, data.dropped), frames.coords[method]


@contextlib.contextmanager
def switched(on: bool):
    """Turn the live views on or off for the ``with`` block (benchmarks, tests)."""
    old = os.environ.get(ENV_SWITCH)
    os.environ[ENV_SWITCH] = "1" if on else "0"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(ENV_SWITCH, None)
        else:
            os.environ[ENV_SWITCH] = old
