"""The ``local`` executor: a pool of worker processes on this machine.

:class:`LocalExecutor` (the app's default) runs up to ``FUSION_MAX_TRAININGS`` worker
processes (default: one per core; one is kept warm, the others start when jobs queue and
end when idle), each a fresh ``python -m fusion.worker`` — never a ``fork`` of the
server: it has threads, and a forked copy of a locked mutex never unlocks. The kept worker
starts with the server (:meth:`LocalExecutor.warm`), so a demo does not wait for torch.
Each worker trains one job at a time (:func:`fusion.worker.worker_main`) and streams its
events through a pipe; a reader thread per worker folds them into the job. A worker that
dies is replaced; its job is saved as a stopped run from the weights the worker kept on
disk as it trained (``TrainTask.checkpoint_dir``, one folder per job in the pool's scratch
folder; :func:`fusion.worker.salvage_task` runs in the next free worker), or, with no
completed epoch to keep, fails with a clear message. A worker whose server dies ends
itself (its pipe closes; on Linux it also gets SIGKILL from ``PR_SET_PDEATHSIG``).

Waiting jobs start in order of arrival, at most one per owner at a time
(:mod:`fusion.jobs.executors.fair`).

A worker gets ``(cores - 1) // busy workers`` torch threads (at least one) when its job
starts (:func:`worker_threads`): a lone training on an 8-core machine uses seven.

No torch at import time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from typing import Any

from fusion.child import hang_up, messages, start_module
from fusion.jobs import protocol
from fusion.jobs.executors.base import MAX_CONCURRENT, Job
from fusion.jobs.executors.fair import FairQueue, owner_of

THREAD_READER = "fusion-reader"
IDLE_S = float(os.environ.get("FUSION_WORKER_IDLE_SECONDS", "120"))


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def worker_threads(busy: int) -> int:
    """Torch threads for a job starting while ``busy`` workers train (this one included):
    the cores but one, shared among them, at least one. The core left over serves the web
    server and the live map's frames: measured on 2 cores (benchmarks/bench_training.py), a
    2-thread loop beside any other busy thread ran at a third of its speed (OpenMP threads
    wait for each other), so a 2-core machine trains on one thread per worker."""
    return max(1, (_cores() - 1) // max(1, busy))


class _Worker:
    """One worker process, its pipe, and the job it trains (the pool's bookkeeping).

    The process is ``python -m fusion.worker`` (:func:`fusion.child.start_module`: exec'd
    at once, never a fork of this threaded server, and without re-running the server's
    main module as multiprocessing's spawn would), talking over a socket pair.
    """

    def __init__(self, pool: LocalExecutor):
        self.process, self.conn = start_module("fusion.worker")
        self.pool = pool
        self.ready = False
        self.idle_since = time.monotonic()
        self.job: Job | None = None
        self.send_lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, name=THREAD_READER, daemon=True)
        self.reader.start()

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def send(self, msg: tuple) -> bool:
        try:
            with self.send_lock:
                self.conn.send(msg)
            return True
        except (OSError, ValueError):  # the worker is gone; the reader says so
            return False

    def _read(self) -> None:
        for msg in messages(self.conn):
            if msg[0] == protocol.EVENTS and self.job is not None:
                self.job.events(msg[2])
            elif msg[0] == protocol.DONE and self.job is not None and self.job.id == msg[1]:
                job, self.job = self.job, None
                job.finish(msg[2])
                self.pool._forget_checkpoint(job)
                self.idle_since = time.monotonic()
                self.pool._idle(self)
            elif msg[0] == protocol.READY:
                self.ready = True
                self.pool._ready(self, msg[1])
        self.conn.close()  # here, by the thread reading it, never under a read
        self.end(5)
        self.pool._died(self, self.process.returncode)

    def end(self, wait: float) -> None:
        """Wait up to ``wait`` s for the process to exit, then kill it; always reaped."""
        try:
            self.process.wait(wait)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class LocalExecutor:
    """A pool of worker processes on this machine, one job each at a time.

    ``workers``: the most at once (default ``FUSION_MAX_TRAININGS``); ``keep``: how many
    stay started while idle (default ``FUSION_WARM_WORKERS``, 1), so the next demo finds a
    warm one; the others start when jobs queue and end after ``idle_s`` seconds without a
    job (``FUSION_WORKER_IDLE_SECONDS``, 120): a quiet server does not hold a torch
    process per core.
    """

    name = "local"

    def __init__(
        self, workers: int | None = None, keep: int | None = None, idle_s: float | None = None
    ):
        self.size = workers or MAX_CONCURRENT
        warm = int(os.environ.get("FUSION_WARM_WORKERS", "1"))
        self.keep = min(self.size, keep if keep is not None else warm)
        self.idle_s = idle_s if idle_s is not None else IDLE_S
        self._lock = threading.RLock()
        self._workers: list[_Worker] = []
        self._queue = FairQueue()  # in order of arrival, one running job per owner
        self._device: dict[str, Any] | None = None
        self._device_ready = threading.Event()
        self._closed = False
        self._retirer: threading.Thread | None = None
        self._scratch: str | None = None  # the jobs' checkpoint folders (made on first use)
        self._salvage: dict[str, tuple] = {}  # job id -> (exit code, steps): save its checkpoint

    # -- pool -----------------------------------------------------------------------

    def warm(self) -> None:
        """Start the kept workers now, so the first job need not wait for torch to load."""
        with self._lock:
            while not self._closed and len(self._workers) < self.keep:
                self._workers.append(_Worker(self))
            if self._retirer is None and self.size > self.keep:
                self._retirer = threading.Thread(
                    target=self._retire_forever, name="fusion-retire", daemon=True
                )
                self._retirer.start()

    def workers(self) -> list[int]:
        """The pids of the pool's live worker processes."""
        with self._lock:
            return [w.process.pid for w in self._workers if w.alive]

    def _ready(self, worker: _Worker, info: dict[str, Any]) -> None:
        self._device = {k: info[k] for k in ("label", "cuda", "gpu")}
        self._device_ready.set()
        self._dispatch()

    def _idle(self, worker: _Worker) -> None:
        self._dispatch()

    def _died(self, worker: _Worker, exitcode: Any) -> None:
        with self._lock:
            if worker in self._workers:
                self._workers.remove(worker)
            job, worker.job = worker.job, None
            kept = 0
            if job is not None and not self._closed and job.id not in self._salvage:
                kept = protocol.checkpoint_epoch(job.task.checkpoint_dir or os.devnull)
            if kept:  # saved from its checkpoint by the next free worker, before any new job
                self._salvage[job.id] = (exitcode, job.progress().steps)
                self._queue.appendleft(job)
        if job is not None and kept:
            job.salvaging(exitcode, kept)
        elif job is not None:
            self._salvage.pop(job.id, None)
            job.crashed(exitcode)
            self._forget_checkpoint(job)
        self.warm()  # the kept workers are kept
        self._dispatch()

    def _checkpoint_dir(self, job: Job) -> str:
        """A folder of this pool's scratch folder for ``job``'s checkpoint."""
        with self._lock:
            if self._scratch is None:
                self._scratch = tempfile.mkdtemp(prefix="fusion-jobs-")
            return os.path.join(self._scratch, job.id)

    def _forget_checkpoint(self, job: Job) -> None:
        """The job has ended: its checkpoint is no longer needed."""
        with self._lock:
            self._salvage.pop(job.id, None)
        if job.task.checkpoint_dir:
            shutil.rmtree(job.task.checkpoint_dir, ignore_errors=True)

    def retire_idle(self) -> int:
        """End workers beyond ``keep`` that have had no job for ``idle_s``; how many."""
        now = time.monotonic()
        with self._lock:
            idle = [w for w in self._workers if w.ready and w.job is None]
            extra = max(0, len(self._workers) - self.keep)
            old = [w for w in idle if now - w.idle_since >= self.idle_s][:extra]
            for w in old:
                self._workers.remove(w)
        for w in old:
            w.send((protocol.EXIT,))
        return len(old)

    def _retire_forever(self) -> None:
        while not self._closed:
            time.sleep(min(5.0, max(self.idle_s / 4, 0.2)))
            self.retire_idle()

    def _dispatch(self) -> None:
        """Give queued jobs to idle, ready workers; start workers for the rest (to the cap)."""
        with self._lock:
            if self._closed:
                return
            idle = [w for w in self._workers if w.ready and w.job is None]
            while idle:
                job = self._queue.pop_next(self._busy_owners())
                if job is None:  # nothing waiting, or only owners whose job trains
                    break
                salvage = self._salvage.pop(job.id, None)
                if salvage is None and job.stop_event.is_set():
                    job.cancelled()
                    continue
                worker = idle.pop(0)
                worker.job = job
                busy = sum(1 for w in self._workers if w.job is not None)
                threads = worker_threads(busy)
                job.dispatched()
                msg = (protocol.RUN, job.id, job.task, threads)
                if salvage is not None:
                    self._salvage[job.id] = salvage  # a second death fails the job
                    msg = (protocol.SALVAGE, job.id, job.task, *salvage)
                if not worker.send(msg):
                    worker.job = None
                    self._queue.appendleft(job)
            starting = sum(1 for w in self._workers if not w.ready)
            eligible = self._queue.eligible(self._busy_owners())
            while len(eligible) > starting and len(self._workers) < self.size:
                self._workers.append(_Worker(self))
                starting += 1
            for job in eligible[:starting]:
                job.dispatched()  # a worker is starting for it: not waiting for a slot

    def _busy_owners(self) -> list[str | None]:
        """The owners of the jobs the workers train now (under the lock)."""
        return [owner_of(w.job) for w in self._workers if w.job is not None]

    def queue_snapshot(self) -> tuple[int, list[Job], list[Job]]:
        """(slots, the jobs training, the jobs waiting in order): for
        :func:`fusion.jobs.executors.fair.plan`."""
        with self._lock:
            running = [w.job for w in self._workers if w.job is not None]
            return self.size, running, list(self._queue)

    # -- the executor API -----------------------------------------------------------

    def submit(self, job: Job) -> None:
        job.task.checkpoint_dir = self._checkpoint_dir(job) if job.task.save else ""
        with self._lock:
            self._queue.append(job)
        self.warm()
        self._dispatch()

    def cancel(self, job: Job) -> None:
        with self._lock:
            if job.id in self._salvage:  # its run is being saved from its checkpoint
                return
            if job in self._queue:
                self._queue.remove(job)
                queued = True
            else:
                queued = False
                worker = next((w for w in self._workers if w.job is job), None)
        if queued:
            job.cancelled()
        elif worker is not None:
            worker.send((protocol.STOP, job.id, job.stop_event.reason))

    def queued(self) -> int:
        with self._lock:
            return len(self._queue)

    def device_info(self, timeout: float = 0.0) -> dict[str, Any] | None:
        """The device a worker trains on, once one has started (None before)."""
        self.warm()
        self._device_ready.wait(timeout)
        return self._device

    def shutdown(self) -> None:
        """End every worker: stop their jobs' training, close pipes, reap processes."""
        with self._lock:
            self._closed = True
            workers, self._workers = list(self._workers), []
            queued = self._queue.clear()
        for job in queued:
            if job.id in self._salvage:
                job.crashed(self._salvage[job.id][0])
            else:
                job.cancelled()
        for w in workers:
            w.send((protocol.EXIT,))
        for w in workers:
            w.end(3)
            hang_up(w.conn)  # its reader ends and closes the pipe
            w.reader.join(1)
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
