"""The ``thread`` executor: each job trains in a thread of this process.

:class:`ThreadExecutor` trains with ``FUSION_JOB_THREADS`` torch threads, under
:data:`TRAINING_SLOTS`, a semaphore of ``FUSION_MAX_TRAININGS`` slots shared by every
thread executor of this process: for notebooks, tests and as the benchmarks' baseline. It
imports torch into this process when a job trains (the local pool does not); ``job.run_result``
then holds the whole :class:`~fusion.experiment.RunResult` when the task asks for it.
No torch at import time.
"""

from __future__ import annotations

import threading
from typing import Any

from fusion.jobs.executors.base import JOB_THREADS, MAX_CONCURRENT, Job
from fusion.jobs.protocol import FAILED_KEY, THREAD_NAME, Outcome

# This process's training slots: a thread executor's job waits for one before it trains
TRAINING_SLOTS = threading.BoundedSemaphore(MAX_CONCURRENT)


class ThreadExecutor:
    """Train each job in a thread of this process (torch is imported here)."""

    name = "thread"

    def __init__(self, slots: threading.BoundedSemaphore | None = None, threads: int | None = None):
        self._slots = slots  # default: TRAINING_SLOTS
        self.threads = threads or JOB_THREADS
        self._device: dict[str, Any] | None = None

    def submit(self, job: Job) -> None:
        threading.Thread(target=self._run, args=(job,), name=THREAD_NAME, daemon=True).start()

    def _run(self, job: Job) -> None:
        from fusion.worker import run_task

        slots = self._slots or TRAINING_SLOTS
        while not slots.acquire(timeout=0.2):
            if job.stop_event.is_set():
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
        job.finish(outcome)

    def cancel(self, job: Job) -> None:
        pass  # the stop event is shared with the training thread

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
