"""Training jobs: one API for the pages, the lessons, the command line and the benchmarks.

A :class:`TrainingJob` is the server's handle on one training. The training itself runs
elsewhere, on an *executor* chosen by ``FUSION_EXECUTOR`` (:func:`get_executor`):

- ``local`` (the app's default): a pool of worker processes on this machine, each a fresh
  ``python -m fusion.worker`` (:class:`fusion.jobs.executors.local.LocalExecutor`); the web
  server never imports torch.
- ``thread``: a thread in this process
  (:class:`fusion.jobs.executors.thread.ThreadExecutor`), for notebooks and as the
  benchmarks' baseline; ``job.run_result`` then holds the whole
  :class:`~fusion.experiment.RunResult`.
- ``ray``: a Ray cluster (:class:`fusion.jobs.executors.ray.RayExecutor`); ``RAY_ADDRESS``
  says which, as in every Ray program.

The worker (:func:`fusion.worker.run_task`) streams events that :meth:`Progress.apply`
folds into the same :class:`Progress` the pages poll, and ends with an :class:`Outcome`:
a :class:`RunSummary` and the run's files, which :meth:`TrainingJob.finish` writes into
the job's runs folder (:func:`fusion.runs.place_run`). :meth:`TrainingJob.stop` ends the
training within one batch and keeps what was learned; ``stop(SHUTDOWN)`` says the server
shuts down (:func:`shutdown_executors`), and the run's message says so. A worker that dies
(killed, out of memory) affects only its own job: on a local pool it is saved as a stopped
run from the weights the worker kept as it trained (``TrainTask.checkpoint_dir``,
``messages.jobs.worker_died_kept``), else it fails with ``messages.jobs.worker_died``; the
curves streamed so far stay either way.

Caps: at most ``FUSION_MAX_TRAININGS`` trainings at once (default: one per core); a job
waiting for a slot says so. This package imports neither torch nor streamlit.

Messages are English (``Progress.message``, ``TrainingJob.error``) with a catalogue key
and parameters beside them; :func:`fusion.i18n.localized_message` shows them in a page's
language.

The package, from the bottom up:

- :mod:`fusion.jobs.protocol`: what travels between the server and a worker (tasks, events,
  outcomes, a pool's messages); a leaf.
- :mod:`fusion.jobs.executors`: the :class:`~fusion.jobs.executors.base.Executor` protocol,
  the executors, and the name -> class table :data:`EXECUTORS`.
- :mod:`fusion.jobs.handle`: :class:`TrainingJob`, :class:`Progress` and this process's jobs.

Its public names are importable from ``fusion.jobs`` itself.
"""

from __future__ import annotations

from fusion.jobs.executors import (
    DEFAULT_EXECUTOR,
    EXECUTORS,
    JOB_THREADS,
    MAX_CONCURRENT,
    Executor,
    executor_name,
    get_executor,
)
from fusion.jobs.handle import (
    MAX_LIVE_FRAMES,
    MAX_LIVE_STEPS,
    Progress,
    TrainingJob,
    active_jobs,
    shutdown_executors,
    stop_all,
)
from fusion.jobs.protocol import (
    CHECKPOINT_INFO,
    CHECKPOINT_WEIGHTS,
    OOM_FAILED_KEY,
    SALVAGING_KEY,
    SHUTDOWN,
    SHUTDOWN_KEPT_KEY,
    SHUTDOWN_KEY,
    THREAD_NAME,
    WORKER_DIED_KEPT_KEY,
    WORKER_DIED_KEY,
    HistorySummary,
    Outcome,
    RunSummary,
    StopEvent,
    TrainTask,
    checkpoint_epoch,
    summary_of,
)

__all__ = [
    "CHECKPOINT_INFO",
    "CHECKPOINT_WEIGHTS",
    "DEFAULT_EXECUTOR",
    "EXECUTORS",
    "JOB_THREADS",
    "MAX_CONCURRENT",
    "MAX_LIVE_FRAMES",
    "MAX_LIVE_STEPS",
    "OOM_FAILED_KEY",
    "SALVAGING_KEY",
    "SHUTDOWN",
    "SHUTDOWN_KEPT_KEY",
    "SHUTDOWN_KEY",
    "THREAD_NAME",
    "WORKER_DIED_KEPT_KEY",
    "WORKER_DIED_KEY",
    "Executor",
    "HistorySummary",
    "Outcome",
    "Progress",
    "RunSummary",
    "StopEvent",
    "TrainTask",
    "TrainingJob",
    "active_jobs",
    "checkpoint_epoch",
    "executor_name",
    "get_executor",
    "shutdown_executors",
    "stop_all",
    "summary_of",
]
