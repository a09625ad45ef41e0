"""Training jobs: one API for the pages, the lessons, the command line and the benchmarks.

A :class:`TrainingJob` is the server's handle on one training. The training itself runs
elsewhere, on an *executor* chosen by ``FUSION_EXECUTOR`` (:func:`get_executor`):

- ``local`` (the app's default): a pool of worker processes on this machine, started with
  ``spawn`` (:class:`fusion.executors.LocalExecutor`); the web server never imports torch.
- ``thread``: a thread in this process (:class:`fusion.executors.ThreadExecutor`), for
  notebooks and as the benchmarks' baseline; ``job.run_result`` then holds the whole
  :class:`~fusion.experiment.RunResult`.
- ``ray``: a Ray cluster (:class:`fusion.ray_executor.RayExecutor`); ``RAY_ADDRESS``
  says which, as in every Ray program.

The worker (:func:`fusion.worker.run_task`) streams events that :meth:`Progress.apply`
folds into the same :class:`Progress` the pages poll, and ends with an :class:`Outcome`:
a :class:`RunSummary` and the run's files, which :meth:`TrainingJob._finish` writes into
the job's runs folder (:func:`fusion.runs.place_run`). :meth:`TrainingJob.stop` ends the
training within one batch and keeps what was learned; ``stop(SHUTDOWN)`` says the server
shuts down (:func:`shutdown_executors`), and the run's message says so. A worker that dies
(killed, out of memory) affects only its own job: on a local pool it is saved as a stopped
run from the weights the worker kept as it trained (``TrainTask.checkpoint_dir``,
``messages.jobs.worker_died_kept``), else it fails with ``messages.jobs.worker_died``; the
curves streamed so far stay either way.

Caps: at most ``FUSION_MAX_TRAININGS`` trainings at once (default: one per core); a job
waiting for a slot says so. This module imports neither torch nor streamlit.

Messages are English (``Progress.message``, ``TrainingJob.error``) with a catalogue key
and parameters beside them; :func:`fusion.i18n.localized_message` shows them in a page's
language.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fusion.config import RunConfig
from fusion.data import PairedData
from fusion.errors import ConfigError
from fusion.i18n import DEFAULT_LANGUAGE, translate

MAX_CONCURRENT = max(1, int(os.environ.get("FUSION_MAX_TRAININGS", os.cpu_count() or 1)))
JOB_THREADS = max(1, int(os.environ.get("FUSION_JOB_THREADS", "1")))  # thread executor
EXECUTORS = ("local", "thread", "ray")
DEFAULT_EXECUTOR = "local"
# The live map's frames kept in memory (peeks come twice a second; see fusion.live)
MAX_LIVE_FRAMES = 240
MAX_LIVE_STEPS = 4000  # the live curve keeps at most this many step points, over the whole run
OOM_FAILED_KEY = "messages.jobs.out_of_memory"
WORKER_DIED_KEY = "messages.jobs.worker_died"
WORKER_DIED_KEPT_KEY = "messages.jobs.worker_died_kept"  # ... and its checkpoint was kept
SALVAGING_KEY = "messages.jobs.salvaging"
SHUTDOWN_KEY = "messages.jobs.server_shutdown"
SHUTDOWN_KEPT_KEY = "messages.jobs.server_shutdown_kept"  # saved from the kept epoch at once
SHUTDOWN = "shutdown"  # the stop reason of jobs stopped because the server shuts down
THREAD_NAME = "fusion-training"  # at most 15 bytes: Linux truncates longer OS thread names

_slots = threading.BoundedSemaphore(MAX_CONCURRENT)  # the thread executor's training slots
_active_lock = threading.Lock()
_active: set[TrainingJob] = set()


def active_jobs() -> int:
    """How many jobs started in this process have not ended (any executor)."""
    with _active_lock:
        return sum(1 for j in _active if j.running)


CHECKPOINT_WEIGHTS = "weights.pt"  # in TrainTask.checkpoint_dir: the kept epoch's state_dict
CHECKPOINT_INFO = "checkpoint.json"  # which epoch that is, and the epoch rows so far


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


# ---------------------------------------------------------------------------
# What travels between the server and a worker


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


@dataclass
class Progress:
    state: str = "queued"  # queued | waiting | running | done | failed
    message: str = ""
    epoch: int = 0
    epochs: int = 0
    step: int = 0
    total_steps: int = 0
    started: float = 0.0
    elapsed: float = 0.0
    eta: float | None = None
    steps: list[dict[str, float]] = field(default_factory=list)
    epoch_rows: list[dict[str, float]] = field(default_factory=list)
    message_key: str = ""  # catalogue key of ``message`` (see fusion.i18n.localized_message)
    message_params: dict[str, Any] = field(default_factory=dict)
    worker: dict[str, Any] = field(default_factory=dict)  # pid, host, threads of the worker
    live: dict[str, list] = field(default_factory=dict)  # live views' events, by kind
    n_val: int = 0  # validation rows in all (an epoch's metrics use at most snapshot_rows)
    step_stride: int = 1  # ``steps`` keeps every step_stride-th step (fusion.live.add_steps)

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0

    def say(self, key: str, /, **params: Any) -> None:
        """Set the message from catalogue ``key`` (English text, key and params)."""
        self.message = translate(key, DEFAULT_LANGUAGE, **params)
        self.message_key, self.message_params = key, params

    def apply(self, kind: str, payload: Any) -> None:
        """Fold one worker event into the progress (see :mod:`fusion.worker`)."""
        if kind == "steps":
            from fusion.live import add_steps  # torch-free

            if payload:
                self.step, self.epoch = int(payload[-1]["step"]), int(payload[-1]["epoch"])
            self.steps, self.step_stride = add_steps(
                self.steps, payload, self.step_stride, MAX_LIVE_STEPS
            )
            self.elapsed = time.perf_counter() - self.started
            if self.step:
                self.eta = self.elapsed / self.step * max(self.total_steps - self.step, 0)
        elif kind == "epoch":
            self.epoch_rows.append(payload)
        elif kind == "start":
            self.state, self.epochs = "running", int(payload["epochs"])
            self.total_steps = int(payload["epochs"]) * int(payload["batches_per_epoch"])
            self.n_val = int(payload.get("n_val", 0))
            self.started = time.perf_counter()
            self.say("messages.jobs.training_on", device=payload["device"])
        elif kind == "worker":
            self.worker = dict(payload)
        elif kind == "frame":  # fusion.live.FRAME
            from fusion.live import add_frame, thin_frames  # torch-free

            events = self.live.setdefault(kind, [])
            add_frame(events, payload)
            if len(events) > MAX_LIVE_FRAMES:
                self.live[kind] = thin_frames(events, MAX_LIVE_FRAMES)
        else:
            self.live.setdefault(kind, []).append(payload)

    def copy(self) -> Progress:
        running = self.state == "running"
        return Progress(
            **{
                **self.__dict__,
                "elapsed": time.perf_counter() - self.started if running else self.elapsed,
                "steps": list(self.steps),
                "epoch_rows": list(self.epoch_rows),
                "message_params": dict(self.message_params),
                "worker": dict(self.worker),
                "live": {k: list(v) for k, v in self.live.items()},
            }
        )


# ---------------------------------------------------------------------------
# The server's handle on a training


class TrainingJob:
    """Train ``config`` on ``data`` on an executor; poll :meth:`progress`; :meth:`stop` it.

    ``root``: the runs folder the finished run is written to (none: not saved); ``name``:
    the run's folder name. ``executor``: an executor or its name (default:
    ``FUSION_EXECUTOR``, else ``local``). ``task`` replaces ``data``/``config`` when the
    data is to be generated in the worker (lessons).
    """

    def __init__(
        self,
        data: PairedData | None = None,
        config: RunConfig | None = None,
        *,
        root: str | os.PathLike | None = None,
        name: str | None = None,
        executor: Any = None,
        task: TrainTask | None = None,
        keep_result: bool = False,
    ):
        if task is None:
            if config is None:
                raise ConfigError("errors.jobs.no_config")
            task = TrainTask(config, data, run_name=name, save=root is not None)
        task.keep_result = task.keep_result or keep_result
        self.task, self.config, self.data = task, task.config, task.data
        self.root = Path(root) if root is not None else None
        self.executor = executor
        self.id = uuid.uuid4().hex[:12]
        self.stop_event = StopEvent()
        self.result: RunSummary | None = None
        self.run_result: Any = None  # the whole RunResult (thread executor, keep_result)
        self.fold: Any = None  # a fold task's test outcomes (TrainTask.folds > 0)
        self.error: str | None = None  # English; error_key/error_params for other languages
        self.error_key: str = ""
        self.error_params: dict[str, Any] = {}
        self.saved_path: Path | None = None
        self.started = False
        self._queued = True
        self._lock = threading.Lock()
        self._ended = threading.Event()
        self._progress = Progress(epochs=task.config.train.epochs)

    # -- the page's side ----------------------------------------------------------

    def start(self) -> TrainingJob:
        """Validate the config here (a bad one raises ConfigError) and hand the job over."""
        if self.task.data is not None:
            self.config.validate(self.task.data)
        else:
            self.config.validate()
        self.executor = get_executor(self.executor)
        with self._lock:
            self._progress.state = "waiting"
            self._progress.say("messages.jobs.waiting")
        self.started = True
        with _active_lock:
            _active.add(self)
        self.executor.submit(self)
        return self

    def stop(self, reason: str = "") -> None:
        """Ask the job to stop within one batch; what was learned is kept. ``reason``:
        ``SHUTDOWN`` when the server shuts down (the run's message says so)."""
        self.stop_event.stop(reason)
        if self.started and not self._ended.is_set():
            self.executor.cancel(self)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the job to end; True when it has."""
        return self._ended.wait(timeout)

    @property
    def running(self) -> bool:
        return self.started and not self._ended.is_set()

    @property
    def waiting(self) -> bool:
        """Queued for a free training slot (not yet handed to a worker)."""
        return self.running and self._queued

    def progress(self) -> Progress:
        """A consistent copy of the progress, safe to read from any thread."""
        with self._lock:
            return self._progress.copy()

    # -- the executor's side ------------------------------------------------------

    def _events(self, events: list[tuple[str, Any]]) -> None:
        with self._lock:
            for kind, payload in events:
                self._progress.apply(kind, payload)

    def _say(self, key: str, **params: Any) -> None:
        with self._lock:
            self._progress.say(key, **params)

    def _dispatched(self, key: str = "messages.jobs.starting") -> None:
        """A worker has taken the job (it prepares its data and model, then trains)."""
        self._queued = False
        with self._lock:
            if self._progress.state in ("queued", "waiting"):
                self._progress.say(key)

    def _finish(self, outcome: Outcome) -> None:
        """The worker's outcome: write the run into ``root``, then end the job."""
        try:
            if outcome.error_key:
                self._fail(outcome.error_key, outcome.error_params)
                return
            self.result, self.run_result = outcome.summary, outcome.run_result
            self.fold = outcome.fold
            if outcome.files and self.root is not None:
                from fusion.runs import place_run

                self.saved_path = place_run(self.root, outcome.name, outcome.files)
            h = outcome.summary.history
            with self._lock:
                self._progress.state = "done"
                if h.message_key:
                    self._progress.say(h.message_key, **h.message_params)
                else:
                    self._progress.message = h.message
        except OSError as exc:  # the workspace's disk: say so, keep the server up
            self._fail("errors.runs.write_failed", {"error": str(exc)[:200]})
        finally:
            self._end()

    def _cancelled(self) -> None:
        """Stopped while still queued: nothing was trained."""
        with self._lock:
            self._progress.state = "failed"
            self._progress.say("messages.jobs.cancelled")
        self._end()

    def _crashed(self, exitcode: Any) -> None:
        """The worker process died under this job (killed, out of memory, crashed)."""
        self._fail(WORKER_DIED_KEY, {"code": exitcode})
        self._end()

    def _salvaging(self, exitcode: Any, kept: int) -> None:
        """The worker died, but its checkpoint of epoch ``kept`` is being saved as a run."""
        self._say(SALVAGING_KEY, code=exitcode, epoch=kept)

    def _fail(self, key: str, params: dict[str, Any] | None = None) -> None:
        params = dict(params or {})
        self.error = translate(key, DEFAULT_LANGUAGE, **params)
        self.error_key, self.error_params = key, params
        with self._lock:
            self._progress.state = "failed"
            self._progress.say(key, **params)

    def _end(self) -> None:
        self._ended.set()
        with _active_lock:
            _active.discard(self)


# ---------------------------------------------------------------------------
# Executors


_executors: dict[str, Any] = {}
_executors_lock = threading.Lock()


def executor_name(name: str | None = None) -> str:
    """The executor to use: ``name``, else ``$FUSION_EXECUTOR``, else ``local``."""
    chosen = (name or os.environ.get("FUSION_EXECUTOR") or DEFAULT_EXECUTOR).strip().lower()
    if chosen not in EXECUTORS:
        raise ConfigError("errors.jobs.unknown_executor", name=chosen, choices=", ".join(EXECUTORS))
    return chosen


def get_executor(executor: Any = None) -> Any:
    """This process's executor of that name (made once), or ``executor`` itself."""
    if executor is not None and not isinstance(executor, str):
        return executor
    name = executor_name(executor)
    with _executors_lock:
        if name not in _executors:
            if name == "ray":
                from fusion.ray_executor import RayExecutor

                _executors[name] = RayExecutor()
            else:
                from fusion.executors import LocalExecutor, ThreadExecutor

                _executors[name] = LocalExecutor() if name == "local" else ThreadExecutor()
        return _executors[name]


def stop_all(reason: str = "") -> list[TrainingJob]:
    """Ask every job of this process to stop (without waiting); the jobs asked."""
    with _active_lock:
        running = list(_active)
    for job in running:
        job.stop(reason)
    return running


def shutdown_executors(wait: float = 3.0) -> None:
    """Stop every job, let stopped runs be saved (up to ``wait`` s), end the workers.

    The server's exit (SIGTERM, Ctrl-C): a local pool's worker answers at once with the
    job's kept weights; ``wait`` bounds the rest, so the server exits within seconds."""
    with _executors_lock:
        made = list(_executors.values())
        _executors.clear()
    running = stop_all(SHUTDOWN)
    end = time.monotonic() + wait
    for job in running:
        job.join(max(0.0, end - time.monotonic()))
    for ex in made:
        ex.shutdown()
