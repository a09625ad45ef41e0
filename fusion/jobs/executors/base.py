"""What an executor is: the :class:`Executor` protocol, and the :class:`Job` it drives.

An executor runs :class:`~fusion.jobs.handle.TrainingJob` s somewhere (a thread, a worker
process, a Ray actor). :meth:`TrainingJob.start` validates the config, then calls
:meth:`Executor.submit`; from then on the executor reports to the job only through the
job's executor side (:class:`Job`), from any thread:

1. ``dispatched()`` once a worker has taken the job (until then the page says it waits for
   a slot); ``say(key)`` for a message of its own while it waits;
2. ``events([(kind, payload), ...])`` as the worker reports (:mod:`fusion.jobs.protocol`);
3. exactly one end: ``finish(outcome)`` with the worker's
   :class:`~fusion.jobs.protocol.Outcome` (an error outcome fails the job),
   ``cancelled()`` when it was stopped before it trained, or ``crashed(code)`` when the
   worker died under it (``salvaging(code, epoch)`` first when a run is being saved from
   the job's checkpoint; that ends with ``finish``).

Its stop event (``job.stop_event``, a :class:`~fusion.jobs.protocol.StopEvent`) is set by
:meth:`TrainingJob.stop`, which then calls :meth:`Executor.cancel`: the training must end
within one batch and keep what it learned.

A new executor is one module: a class with the methods below, registered by name in
:data:`fusion.jobs.executors.EXECUTORS` (``FUSION_EXECUTOR`` and ``--executor`` read it).
It is made once per process with no arguments (:func:`fusion.jobs.executors.get_executor`).
Executors import this module and :mod:`fusion.jobs.protocol`, never the job handle.
"""

from __future__ import annotations

import os
from typing import Any, Protocol, runtime_checkable

from fusion.jobs.protocol import Outcome, StopEvent, TrainTask

# At most this many trainings at once in this process's executor (default: one per core)
MAX_CONCURRENT = max(1, int(os.environ.get("FUSION_MAX_TRAININGS", os.cpu_count() or 1)))
JOB_THREADS = max(1, int(os.environ.get("FUSION_JOB_THREADS", "1")))  # thread executor


class Job(Protocol):
    """The side of a :class:`~fusion.jobs.handle.TrainingJob` that an executor uses."""

    id: str  # unique in this process
    task: TrainTask  # what to train (an executor may set ``checkpoint_dir``)
    config: Any  # task.config (a fusion.config.RunConfig)
    stop_event: StopEvent

    @property
    def waiting(self) -> bool:
        """Not yet handed to a worker (``dispatched`` not called)."""
        ...

    def progress(self) -> Any:
        """A copy of the job's progress (its ``steps`` so far, for a salvage)."""
        ...

    def dispatched(self, key: str = ...) -> None: ...

    def say(self, key: str, **params: Any) -> None: ...

    def events(self, events: list[tuple[str, Any]]) -> None: ...

    def finish(self, outcome: Outcome) -> None: ...

    def cancelled(self) -> None: ...

    def crashed(self, exitcode: Any) -> None: ...

    def salvaging(self, exitcode: Any, kept: int) -> None: ...


@runtime_checkable
class Executor(Protocol):
    """Where jobs train. Every method may be called from any thread."""

    name: str  # its key in fusion.jobs.executors.EXECUTORS

    def submit(self, job: Job) -> None:
        """Take ``job`` and return at once; train it (or queue it) elsewhere, and end it
        with one of the job's ends (see the module docstring)."""
        ...

    def cancel(self, job: Job) -> None:
        """``job.stop_event`` has just been set: stop it, within one batch if it trains
        (nothing to do when the training sees the event itself), or end it with
        ``job.cancelled()`` while still queued."""
        ...

    def warm(self) -> None:
        """Get ready for the first job now (start a worker); may block a while."""
        ...

    def device_info(self, timeout: float = 0.0) -> dict[str, Any] | None:
        """``{"label", "cuda", "gpu"}`` of where jobs train, waiting up to ``timeout`` s
        for it (None: not known yet)."""
        ...

    def shutdown(self) -> None:
        """End the workers; the jobs were stopped first (fusion.jobs.shutdown_executors)."""
        ...
