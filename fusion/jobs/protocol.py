"""What travels between the server and a worker: tasks, events, outcomes and messages.

The server sends a worker a :class:`TrainTask`; the worker (:func:`fusion.worker.run_task`)
reports as it trains through ``emit(kind, payload)`` events, which
:meth:`fusion.jobs.handle.Progress.apply` folds into a job's progress, and ends with an
:class:`Outcome`: a :class:`RunSummary` and the run's files, or an error's catalogue key.

Events (``kind``: payload):

- ``WORKER``: :class:`WorkerInfo`, the process that trains the job;
- ``START``: :class:`StartInfo`, sent once the data and the model are ready;
- ``STEPS``: a list of step rows (``step``, ``epoch`` and the loss parts), in batches;
- ``EPOCH``: one epoch's row of validation metrics;
- any other kind (e.g. ``fusion.live.FRAME``): a live view's event, kept by kind.

A local pool's worker process (:func:`fusion.worker.worker_main`) and its server talk in
tuples over a pipe whose first item is one of the message names below.

A job's checkpoint folder (``TrainTask.checkpoint_dir``) holds the kept epoch's weights
(``CHECKPOINT_WEIGHTS``) and which epoch that is (``CHECKPOINT_INFO``), so a pool whose
worker died can save the run from it (:func:`checkpoint_epoch`).

This module is a leaf of the jobs package: the worker and the executors import it, and it
imports no other module of ``fusion.jobs``, no executor and not the worker. No torch.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

from fusion.config import RunConfig
from fusion.data import PairedData

# Catalogue keys of the messages a job ends with when its worker could not finish it
OOM_FAILED_KEY = "messages.jobs.out_of_memory"
WORKER_DIED_KEY = "messages.jobs.worker_died"
WORKER_DIED_KEPT_KEY = "messages.jobs.worker_died_kept"  # ... and its checkpoint was kept
SALVAGING_KEY = "messages.jobs.salvaging"
SHUTDOWN_KEY = "messages.jobs.server_shutdown"
SHUTDOWN_KEPT_KEY = "messages.jobs.server_shutdown_kept"  # saved from the kept epoch at once
FAILED_KEY = "messages.jobs.failed_unexpectedly"
SHUTDOWN = "shutdown"  # the stop reason of jobs stopped because the server shuts down
THREAD_NAME = "fusion-training"  # at most 15 bytes: Linux truncates longer OS thread names

# Event kinds a worker emits (see the module docstring)
WORKER = "worker"
START = "start"
STEPS = "steps"
EPOCH = "epoch"
MAP_EVENT = "map"  # progress of the map of all validation rows made after training

# A local pool's messages. Server to worker: (RUN, job_id, task, threads),
# (SALVAGE, job_id, task, exitcode, steps), (STOP, job_id, reason), (EXIT,).
# Worker to server: (READY, info), (EVENTS, job_id, [(kind, payload), ...]),
# (DONE, job_id, outcome).
RUN = "run"
SALVAGE = "salvage"
STOP = "stop"
EXIT = "exit"
READY = "ready"
EVENTS = "events"
DONE = "done"

CHECKPOINT_WEIGHTS = "weights.pt"  # in TrainTask.checkpoint_dir: the kept epoch's state_dict
CHECKPOINT_INFO = "checkpoint.json"  # which epoch that is, and the epoch rows so far


class WorkerInfo(TypedDict):
    """The payload of a ``WORKER`` event."""

    pid: int
    host: str
    threads: int  # torch threads (0: torch's default)


class StartInfo(TypedDict, total=False):
    """The payload of a ``START`` event (``n_val`` may be missing)."""

    epochs: int
    batches_per_epoch: int
    device: str
    n_val: int  # validation rows in all


def checkpoint_epoch(folder: str | os.PathLike) -> int:
    """The epoch whose weights a job's checkpoint folder holds (0: none, or unreadable)."""
    path = Path(folder)
    try:
        epoch = int(json.loads((path / CHECKPOINT_INFO).read_text())["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0
    return epoch if (path / CHECKPOINT_WEIGHTS).is_file() else 0


class StopEvent(threading.Event):
    """A job's stop event, with why it was set (``reason``: "" for the user, ``SHUTDOWN``)."""

    def __init__(self) -> None:
        super().__init__()
        self.reason = ""

    def stop(self, reason: str = "") -> None:
        if not self.is_set():
            self.reason = reason
        self.set()


@dataclass
class TrainTask:
    """One training, as sent to a worker: the config and the data (or how to make it)."""

    config: RunConfig
    data: PairedData | None = None
    generator: str = ""  # with ``params``: generate the data in the worker instead
    params: dict[str, Any] = field(default_factory=dict)
    run_name: str | None = None  # the run folder's name (default: from the config)
    save: bool = True  # send the run's files back to be saved
    keep_result: bool = False  # thread executor: keep the whole RunResult (notebooks)
    live_pace: float = 0.0  # > 0: at least this many seconds per evaluation (a demo's live map)
    # A folder the worker keeps the kept epoch's weights in as training goes (local pool:
    # a job whose worker is killed is saved from it); "" writes no checkpoint.
    checkpoint_dir: str = ""
    # With folds > 0: train only fold ``fold`` of a ``folds``-fold cross-validation and send
    # back its test rows' outcomes (Outcome.fold; fusion.evaluation) instead of a run.
    fold: int = -1
    folds: int = 0

    def dataset(self) -> PairedData:
        if self.data is not None:
            return self.data
        from fusion.generators import generate

        return generate(self.generator, **self.params)


@dataclass
class HistorySummary:
    """The parts of :class:`fusion.train.History` a page shows once a job has ended."""

    status: str = "failed"
    message: str = ""
    message_key: str = ""
    message_params: dict[str, Any] = field(default_factory=dict)
    completed_epochs: int = 0
    seconds: float = 0.0
    device: str = ""
    device_reason: str = ""
    epochs: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0  # the epoch whose weights the run kept (0: the last one trained)


@dataclass
class RunSummary:
    """A finished job's result without torch: config, history summary and metrics."""

    config: RunConfig
    history: HistorySummary
    metrics: dict[str, float]
    verdicts: dict[str, Any] = field(default_factory=dict)  # fusion.verdicts, as dicts


def summary_of(result: Any) -> RunSummary:
    """The :class:`RunSummary` of a :class:`fusion.experiment.RunResult`."""
    h = result.history
    return RunSummary(
        result.config,
        HistorySummary(
            h.status,
            h.message,
            h.message_key,
            dict(h.message_params),
            h.completed_epochs,
            float(h.seconds),
            h.device,
            h.device_reason,
            [dict(r) for r in h.epochs],
            int(getattr(h, "best_epoch", 0) or 0),
        ),
        dict(result.metrics),
        dict(getattr(result, "verdicts", {})),
    )


@dataclass
class Outcome:
    """What a worker returns: a summary and the run's files, or an error's catalogue key."""

    summary: RunSummary | None = None
    name: str = ""
    files: dict[str, bytes] | None = None
    error_key: str = ""
    error_params: dict[str, Any] = field(default_factory=dict)
    run_result: Any = None  # thread executor with TrainTask.keep_result only
    fold: Any = None  # a fold task's test outcomes (fusion.evaluation.FoldOutcome)
