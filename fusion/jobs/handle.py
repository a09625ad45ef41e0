"""The server's handle on one training: :class:`TrainingJob` and its :class:`Progress`.

A job validates its config in the caller, hands itself to an executor
(:func:`fusion.jobs.executors.get_executor`) and is then driven by it through the
executor's side of its API (:class:`fusion.jobs.executors.base.Job`): events folded into
its progress, the worker's :class:`~fusion.jobs.protocol.Outcome` written into the runs
folder, or the reason it ended without one. This module also keeps the jobs of this process
that have not ended (:func:`active_jobs`, :func:`stop_all`, :func:`shutdown_executors`).
No torch, no streamlit.
"""

from __future__ import annotations

import collections
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
from fusion.jobs import executors
from fusion.jobs.protocol import (
    EPOCH,
    SALVAGING_KEY,
    SHUTDOWN,
    START,
    STEPS,
    WORKER,
    WORKER_DIED_KEY,
    Outcome,
    RunSummary,
    StopEvent,
    TrainTask,
)

# The live map's frames kept in memory (peeks come twice a second; see fusion.live)
MAX_LIVE_FRAMES = 240
MAX_LIVE_STEPS = 4000  # the live curve keeps at most this many step points, over the whole run

_active_lock = threading.Lock()
_active: set[TrainingJob] = set()

# The expected seconds of a job whose data is generated in the worker (its size unknown
# here): the mean of this process's latest trainings, else this.
DEFAULT_EXPECTED_S = 30.0
_recent_seconds: collections.deque[float] = collections.deque(maxlen=20)


def active_jobs() -> int:
    """How many jobs started in this process have not ended (any executor)."""
    with _active_lock:
        return sum(1 for j in _active if j.running)


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
    # While the job waits for a slot (:meth:`TrainingJob.progress`): its place in line
    # (1 = next; 0 = not waiting) and the estimated seconds until it starts
    # (fusion.jobs.executors.fair.plan).
    place: int = 0
    wait_s: float | None = None

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0

    def say(self, key: str, /, **params: Any) -> None:
        """Set the message from catalogue ``key`` (English text, key and params)."""
        self.message = translate(key, DEFAULT_LANGUAGE, **params)
        self.message_key, self.message_params = key, params

    def apply(self, kind: str, payload: Any) -> None:
        """Fold one worker event into the progress (see :mod:`fusion.worker`)."""
        if kind == STEPS:
            from fusion.live import add_steps  # torch-free

            if payload:
                self.step, self.epoch = int(payload[-1]["step"]), int(payload[-1]["epoch"])
            self.steps, self.step_stride = add_steps(
                self.steps, payload, self.step_stride, MAX_LIVE_STEPS
            )
            self.elapsed = time.perf_counter() - self.started
            if self.step:
                self.eta = self.elapsed / self.step * max(self.total_steps - self.step, 0)
        elif kind == EPOCH:
            self.epoch_rows.append(payload)
        elif kind == START:
            self.state, self.epochs = "running", int(payload["epochs"])
            self.total_steps = int(payload["epochs"]) * int(payload["batches_per_epoch"])
            self.n_val = int(payload.get("n_val", 0))
            self.started = time.perf_counter()
            self.say("messages.jobs.training_on", device=payload["device"])
        elif kind == WORKER:
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
    data is to be generated in the worker (lessons). ``owner`` (e.g. the workspace that
    started it): an executor trains at most one job per owner at a time, the others wait
    in order of arrival (:mod:`fusion.jobs.executors.fair`); None: no such limit. The owner
    stays in this process: it is never sent to a worker.
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
        owner: str | None = None,
    ):
        if task is None:
            if config is None:
                raise ConfigError("errors.jobs.no_config")
            task = TrainTask(config, data, run_name=name, save=root is not None)
        task.keep_result = task.keep_result or keep_result
        self.task, self.config, self.data = task, task.config, task.data
        self.root = Path(root) if root is not None else None
        self.executor = executor
        self.owner = owner or None
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
        self._expected_s: float | None = None
        self._began = 0.0  # monotonic time the job started (for this process's mean)

    # -- the page's side ----------------------------------------------------------

    def start(self) -> TrainingJob:
        """Validate the config here (a bad one raises ConfigError) and hand the job over."""
        if self.task.data is not None:
            self.config.validate(self.task.data)
        else:
            self.config.validate()
        self.executor = executors.get_executor(self.executor)
        self._expected_s = self._estimate()
        self._began = time.monotonic()
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
        """A consistent copy of the progress, safe to read from any thread; while the job
        waits for a slot, with its place in line and estimated wait (:meth:`queue_place`)."""
        with self._lock:
            p = self._progress.copy()
        if self.waiting:
            place = self.queue_place()
            if place is not None:
                p.place, p.wait_s = place.place, place.wait_s
        return p

    def queue_place(self) -> Any:
        """While the job waits for a slot: its :class:`~fusion.jobs.executors.fair.Place`
        (``place``: 1 = next to start; ``wait_s``: estimated seconds until then; ``ahead``),
        from the running jobs' progress and the expected seconds of the jobs ahead; None
        when it does not wait, or its executor does not say (the Ray cluster's own queue)."""
        if not self.waiting:
            return None
        snapshot = getattr(self.executor, "queue_snapshot", None)
        if snapshot is None:
            return None
        from fusion.jobs.executors.fair import owner_of, plan

        capacity, running, queued = snapshot()
        if self not in queued:
            return None
        places = plan(
            capacity,
            [(owner_of(j), _seconds_left(j)) for j in running],
            [(j, owner_of(j), _expected(j)) for j in queued],
        )
        return places.get(self)

    def expected_seconds(self) -> float:
        """How long this job should train, all told (:func:`fusion.estimate.estimate_run`
        on its data; for data made in the worker, this process's recent mean)."""
        if self._expected_s is None:
            self._expected_s = self._estimate()
        return self._expected_s

    def seconds_left(self) -> float:
        """Estimated seconds until this job ends: its progress's ETA once it trains, else
        its expected seconds (less those already spent preparing)."""
        with self._lock:
            p = self._progress
            state, eta, started = p.state, p.eta, p.started
        if state == "running" and eta is not None:
            return eta
        if state == "running" and started:
            return max(0.0, self.expected_seconds() - (time.perf_counter() - started))
        return self.expected_seconds()

    def _estimate(self) -> float:
        data = self.task.data
        if data is not None:
            try:
                from fusion.estimate import estimate_run

                return estimate_run(
                    data.n,
                    data.input_shapes(),
                    self.config,
                    has_labels=data.labels is not None,
                    device="cpu"
                    if self.config.train.device == "auto"
                    else self.config.train.device,
                ).seconds
            except Exception:  # an estimate only: never stop a job for it
                pass
        recent = list(_recent_seconds)
        return sum(recent) / len(recent) if recent else DEFAULT_EXPECTED_S

    # -- the executor's side (fusion.jobs.executors.base.Job) ------------------------

    def events(self, events: list[tuple[str, Any]]) -> None:
        """Fold the worker's events into the progress."""
        with self._lock:
            for kind, payload in events:
                self._progress.apply(kind, payload)

    def say(self, key: str, **params: Any) -> None:
        """Show catalogue ``key`` as the progress message."""
        with self._lock:
            self._progress.say(key, **params)

    def dispatched(self, key: str = "messages.jobs.starting") -> None:
        """A worker has taken the job (it prepares its data and model, then trains)."""
        self._queued = False
        with self._lock:
            if self._progress.state in ("queued", "waiting"):
                self._progress.say(key)

    def finish(self, outcome: Outcome) -> None:
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

    def cancelled(self) -> None:
        """Stopped while still queued: nothing was trained."""
        with self._lock:
            self._progress.state = "failed"
            self._progress.say("messages.jobs.cancelled")
        self._end()

    def crashed(self, exitcode: Any) -> None:
        """The worker process died under this job (killed, out of memory, crashed)."""
        self._fail(WORKER_DIED_KEY, {"code": exitcode})
        self._end()

    def salvaging(self, exitcode: Any, kept: int) -> None:
        """The worker died, but its checkpoint of epoch ``kept`` is being saved as a run."""
        self.say(SALVAGING_KEY, code=exitcode, epoch=kept)

    def _fail(self, key: str, params: dict[str, Any] | None = None) -> None:
        params = dict(params or {})
        self.error = translate(key, DEFAULT_LANGUAGE, **params)
        self.error_key, self.error_params = key, params
        with self._lock:
            self._progress.state = "failed"
            self._progress.say(key, **params)

    def _end(self) -> None:
        with self._lock:
            trained = self._progress.state == "done" and self._progress.started
            # What only a running job needs goes now: a page keeps an ended job (its
            # outcome, its curves) for as long as its workspace is visited, and the live
            # map's frames (up to MAX_LIVE_FRAMES of every validation point) and the data
            # it trained on are then the bulk of it; the run on disk has both.
            self._progress.live = {}
        if trained and self.task.data is None:
            _recent_seconds.append(time.monotonic() - self._began)
        if not self.task.keep_result:
            self.task.data = self.data = None
        self._ended.set()
        with _active_lock:
            _active.discard(self)


def _seconds_left(job: Any) -> float:
    fn = getattr(job, "seconds_left", None)
    return fn() if fn is not None else DEFAULT_EXPECTED_S


def _expected(job: Any) -> float:
    fn = getattr(job, "expected_seconds", None)
    return fn() if fn is not None else DEFAULT_EXPECTED_S


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
    made = executors.release_all()
    running = stop_all(SHUTDOWN)
    end = time.monotonic() + wait
    for job in running:
        job.join(max(0.0, end - time.monotonic()))
    for ex in made:
        ex.shutdown()
