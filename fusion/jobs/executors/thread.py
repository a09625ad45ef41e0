"""The ``thread`` executor: each job trains in a thread of this process.

:class:`ThreadExecutor` trains with ``FUSION_JOB_THREADS`` torch threads, under
:data:`TRAINING_SLOTS`, a semaphore of ``FUSION_MAX_TRAININGS`` slots shared by every
thread executor of this process: for notebooks, tests and as the benchmarks' baseline. It
imports torch into this process when a job trains (the local pool does not); ``job.run_result``
then holds the whole :class:`~fusion.experiment.RunResult` when the task asks for it.
An executor's waiting jobs take the slots in order of arrival, at most one running job per
owner (:mod:`fusion.jobs.executors.fair`). No torch at import time.
"""

from __future__ import annotations

import threading
from typing import Any

from fusion.jobs.executors.base import JOB_THREADS, MAX_CONCURRENT, Job
from fusion.jobs.executors.fair import FairQueue, owner_of
from fusion.jobs.protocol import FAILED_KEY, THREAD_NAME, Outcome

# This process's training slots: a thread executor's job waits for one before it trains
TRAINING_SLOTS = threading.BoundedSemaphore(MAX_CONCURRENT)
RECHECK_S = 0.2  # a waiting job looks again this often (another executor may free a slot)


class ThreadExecutor:
    """Train each job in a thread of this process (torch is imported here)."""

    name = "thread"

    def __init__(self, slots: threading.BoundedSemaphore | None = None, threads: int | None = None):
        self._slots = slots  # default: TRAINING_SLOTS
        self.threads = threads or JOB_THREADS
        self._device: dict[str, Any] | None = None
        self._turn = threading.Condition()
        self._queue = FairQueue()
        self._running: list[Job] = []

    def submit(self, job: Job) -> None:
        with self._turn:
            self._queue.append(job)
        threading.Thread(target=self._run, args=(job,), name=THREAD_NAME, daemon=True).start()

    def _take_slot(self, job: Job, slots: threading.BoundedSemaphore) -> bool:
        """Wait until ``job`` is the next to start and a slot is free (True), or it was
        stopped while waiting (False)."""
        with self._turn:
            while True:
                if job.stop_event.is_set():
                    self._queue.discard(job)
                    self._turn.notify_all()
                    return False
                busy = [owner_of(j) for j in self._running]
                if self._queue.next_job(busy) is job and slots.acquire(blocking=False):
                    self._queue.remove(job)
                    self._running.append(job)
                    return True
                self._turn.wait(RECHECK_S)

    def _run(self, job: Job) -> None:
        from fusion.worker import run_task

        slots = self._slots or TRAINING_SLOTS
        if not self._take_slot(job, slots):
            job.cancelled()
            return
        job.dispatched()
        try:
            outcome = run_task(
                job.task, lambda k, p: job.events([(k, p)]), job.stop_event, self.threads
            )
        except BaseException as exc:  # never leave a job running forever
            outcome = Outcome(
                error_key=FAILED_KEY,
                error_params={"error_type": exc.__class__.__name__, "error": str(exc)[:300]},
            )
        finally:
            slots.release()
            with self._turn:
                self._running.remove(job)
                self._turn.notify_all()
        job.finish(outcome)

    def cancel(self, job: Job) -> None:
        with self._turn:  # a waiting job sees its stop event at once
            self._turn.notify_all()

    def queue_snapshot(self) -> tuple[int, list[Job], list[Job]]:
        """(slots, the jobs training, the jobs waiting in order): for
        :func:`fusion.jobs.executors.fair.plan`."""
        slots = self._slots or TRAINING_SLOTS
        with self._turn:
            return (
                getattr(slots, "_initial_value", MAX_CONCURRENT),
                list(self._running),
                list(self._queue),
            )

    def device_info(self, timeout: float = 0.0) -> dict[str, Any]:
        """The device this process trains on (imports torch; ``timeout`` is not needed)."""
        if self._device is None:
            from fusion.worker import device_info

            self._device = device_info()
        return self._device

    def warm(self) -> None:
        pass

    def shutdown(self) -> None:
        pass
