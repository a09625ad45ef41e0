"""The live map's projections in a process of their own, beside the training.

A live frame maps the validation points with :func:`fusion.projection.next_frame` (PCA,
warm-started UMAP). The live map makes PCA itself (milliseconds) and hands UMAP (up to a
second at 5,000 points) to one child process, ``python -m fusion.projector``
(:func:`fusion.child.start_module`: exec'd, never a fork, the parent's main module not
re-run), started on first use and kept for the process's next trainings (a local worker
trains many jobs). UMAP's imports, memory and the GIL its neighbour graph holds stay out of
the training process; the benchmark (``--only live``, frames here vs in the child) measured
no throughput difference between the two beyond the machine's noise, so no speed is
claimed for it. The child:

- compiles UMAP once when it starts (:func:`fusion.projection.warm_up`) and says
  ``ready``; runs numpy's BLAS and numba on one thread, at a lower CPU priority, so on a
  small machine it takes the core the training leaves; ends when its pipe closes or its
  parent is gone; ignores SIGINT (a Ctrl-C in the server's terminal is the server's to
  handle: it ends its workers, and each worker ends its projection process).

Here:

- :func:`submit` returns a :class:`concurrent.futures.Future` of the frame, so the live
  map sends PCA frames while a UMAP frame is being made; :func:`next_frame` waits for one;
- if the child cannot start or dies, frames are made in this process (one niced thread
  for :func:`submit`, the caller for :func:`next_frame`) and the training goes on.

``FUSION_FRAME_PROCESS=0`` keeps frames in this process (the benchmark compares).
Torch-free to import (a frame made in this process is a training's, where torch is loaded).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from fusion.errors import FusionError

ENV_SWITCH = "FUSION_FRAME_PROCESS"
PARENT_CHECK_SECONDS = 1.0  # how often the child checks that its parent is alive
CLOSE_SECONDS = 1.0  # a closed child that has not exited by then (mid-frame) is killed
THREAD_NAME = "fusion-frames"  # the OS name of this module's threads (ps -L, /proc)
FRAME_TIMEOUT_SECONDS = 60.0  # a frame waited for longer than this is given up
# Every numeric library in the child on one thread from the start: threadpoolctl limits
# only the libraries loaded when it is called, and scipy's own OpenBLAS (loaded later,
# with UMAP) left two threads spinning after each call, taking the training's core
# (benchmark --only live: throughput 0.74x with the map on, 0.93x with frames in a thread).
ONE_THREAD = {
    k: "1"
    for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
}


class ProjectorGone(FusionError):
    """The projection process ended before it answered (frames are then made here)."""


class _Child:
    """The projection process, its pipe, and the frames it owes (futures by request id)."""

    def __init__(self) -> None:
        from fusion.child import start_module

        self.process, self.conn = start_module("fusion.projector", ONE_THREAD)
        self.ready: Future = Future()  # the child's pid, once UMAP is compiled there
        self.owed: dict[int, Future] = {}
        self.ids = itertools.count()
        self.lock = threading.Lock()
        self.gone = False
        threading.Thread(target=self._read, name="fusion-projector-reader", daemon=True).start()

    def submit(self, args: tuple) -> Future:
        future: Future = Future()
        with self.lock:
            if self.gone:
                raise ProjectorGone("the projection process has ended")
            rid = next(self.ids)
            self.owed[rid] = future
            try:
                self.conn.send(("frame", rid, *args))
            except (OSError, ValueError) as exc:
                self.owed.pop(rid, None)
                raise ProjectorGone("the projection process has ended") from exc
        return future

    def _read(self) -> None:
        from fusion.child import messages, name_os_thread

        name_os_thread(THREAD_NAME)  # not the training's name it inherited (tests count those)
        for msg in messages(self.conn):
            if msg[0] == "ready":
                self.ready.set_result(msg[1])
                continue
            _, rid, ok, value = msg
            with self.lock:
                future = self.owed.pop(rid, None)
            if future is not None and ok:
                future.set_result(value)
            elif future is not None:
                future.set_exception(value)
        with self.lock:
            self.gone, owed, self.owed = True, list(self.owed.values()), {}
        gone = ProjectorGone("the projection process ended before it answered")
        for future in [*owed, self.ready]:
            if not future.done():
                future.set_exception(gone)
        with contextlib.suppress(OSError):
            self.conn.close()
        with contextlib.suppress(Exception):
            self.process.wait(5)

    def close(self) -> None:
        """End the child (its pipe is hung up: it exits, and the reader closes the pipe; one
        busy with a frame or with UMAP's compile is killed after :data:`CLOSE_SECONDS`: it
        holds nothing to save) and reap it."""
        from fusion.child import hang_up

        hang_up(self.conn)
        try:
            self.process.wait(CLOSE_SECONDS)
        except Exception:
            self.process.kill()
            self.process.wait()


_lock = threading.Lock()
_child: _Child | None = None
_failed = False  # the child could not start or died: frames are made in this process
_thread_pool: ThreadPoolExecutor | None = None  # without a child: UMAP frames made here


def enabled() -> bool:
    return os.environ.get(ENV_SWITCH, "1") != "0" and not _failed


def _give_up() -> None:
    """The child failed: frames are made in this process from now on."""
    global _failed
    _failed = True
    shutdown()


def start() -> bool:
    """Start the child (it compiles UMAP) unless it runs; False when frames are made in
    this process (switched off, or the child failed)."""
    global _child
    if not enabled():
        return False
    with _lock:
        gone = _child is not None and _child.gone
        if _child is None:
            try:
                _child = _Child()
            except OSError:
                gone = True
    if gone:  # it died (or could not start): not started again, frames are made here
        _give_up()
        return False
    return True


def wait_ready(timeout: float | None = None) -> bool:
    """Start the child and wait until it has compiled UMAP; False without a child."""
    child = _child if start() else None
    if child is None:
        return False
    try:
        child.ready.result(timeout)
    except Exception:  # ended, or not yet: frames are made here meanwhile
        return False
    return True


def is_warm() -> bool:
    """True once frames are made without waiting for UMAP's compile."""
    child = _child
    if child is not None and not child.gone:
        return child.ready.done()
    from fusion.projection import is_warm as here

    return here()


def child_pid() -> int | None:
    """The child's process id once it is ready (None: frames are made in this process)."""
    child = _child
    if child is None or child.gone or not child.ready.done() or child.ready.exception():
        return None
    return int(child.ready.result())


def _here(X: np.ndarray, prev: np.ndarray | None, method: str, kw: dict[str, Any]) -> np.ndarray:
    """A frame made in this process (a training's: torch is loaded), on one BLAS thread."""
    from fusion import projection
    from fusion.runtime import one_blas_thread

    with one_blas_thread():
        return projection.next_frame(X, prev, method, **kw)


def prepare_thread() -> None:
    """Ready the calling thread of a training process to make frames beside the training:
    a lower CPU priority, numba on one thread (a per-thread setting), UMAP compiled."""
    from fusion.projection import lower_priority, warm_up

    lower_priority()
    with contextlib.suppress(ImportError):
        import numba

        numba.set_num_threads(1)
    warm_up()


def _thread_setup() -> None:
    from fusion.child import name_os_thread

    name_os_thread(THREAD_NAME)
    prepare_thread()


def submit(X: np.ndarray, prev: np.ndarray | None, method: str, **kw: Any) -> Future:
    """A future of :func:`fusion.projection.next_frame`, made in the child when it runs,
    else in this process's one frames thread (never the caller's)."""
    global _thread_pool
    child = _child if start() else None
    if child is not None:
        try:
            return child.submit((X, prev, method, kw))
        except ProjectorGone:
            _give_up()
    with _lock:
        if _thread_pool is None:
            _thread_pool = ThreadPoolExecutor(
                1, thread_name_prefix="fusion-frames", initializer=_thread_setup
            )
    return _thread_pool.submit(_here, X, prev, method, kw)


def result(future: Future, X: np.ndarray, prev: np.ndarray | None, method: str, **kw: Any):
    """The frame of a :func:`submit` future; made here when the child died meanwhile.
    Raises TimeoutError after :data:`FRAME_TIMEOUT_SECONDS` (a stuck child never holds a
    training's end)."""
    try:
        return future.result(FRAME_TIMEOUT_SECONDS)
    except ProjectorGone:
        _give_up()
        return _here(X, prev, method, kw)


def next_frame(X: np.ndarray, prev: np.ndarray | None, method: str, **kw: Any) -> np.ndarray:
    """:func:`fusion.projection.next_frame`, made in the child when it runs (and waited for)."""
    if not start():
        return _here(X, prev, method, kw)
    return result(submit(X, prev, method, **kw), X, prev, method, **kw)


def shutdown() -> None:
    """End the child (a later frame starts a new one unless it failed)."""
    global _child
    with _lock:
        child, _child = _child, None
    if child is not None:
        child.close()


# ---------------------------------------------------------------------------
# The child


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)  # the training process is gone: nothing left to draw for


def child_main(conn: Any, parent: int) -> None:
    """The projection process: niced, UMAP compiled, then frames until the pipe closes
    (every numeric library on one thread: :data:`ONE_THREAD`, set in its environment).
    Messages in: ``("frame", id, X, prev, method, kw)``; out: ``("ready", pid)``,
    ``("done", id, ok, frame or exception)``."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # its parent decides when it ends
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    with contextlib.suppress(OSError, AttributeError):
        os.nice(10)
    from fusion import projection

    projection.warm_up()
    conn.send(("ready", os.getpid()))
    from fusion.child import messages

    for msg in messages(conn):
        _, rid, X, prev, method, kw = msg
        try:
            out: tuple = ("done", rid, True, projection.next_frame(X, prev, method, **kw))
        except Exception as exc:  # the parent's frame gets the error
            out = ("done", rid, False, exc)
        try:
            conn.send(out)
        except (OSError, ValueError):
            break


if __name__ == "__main__":  # python -m fusion.projector <socket fd> <parent pid>
    from fusion.child import child_args

    child_main(*child_args())
