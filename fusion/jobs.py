"""Background training jobs: one thread per job, a server-wide cap, thread-safe progress.

The dashboard starts a :class:`TrainingJob` per browser session and polls
:meth:`TrainingJob.progress` from the page; the job's thread never touches the
UI. A :class:`threading.BoundedSemaphore` caps how many trainings run at once
on the server (default: the number of CPU cores); a job waiting for a slot says
so in its progress. :meth:`TrainingJob.stop` sets the stop event, which ends
training within one batch and keeps what was learned.

Measured on a 2-core CPU (benchmarks/): a training loop in a non-main thread
with torch's default intra-op threads runs far slower than in the main thread
(OpenMP workers waking for tiny ops), so a job runs with a small, fixed number
of torch threads (``JOB_THREADS``).

Each job's thread is named ``fusion-training`` for the operating system too (Linux,
:func:`_name_os_thread`), so the number of training threads of a running server can be
counted from outside it (``/proc/<pid>/task/*/comm``), as the browser and load tests do.

Messages are English (``Progress.message``, ``TrainingJob.error``) with a catalogue key
and parameters beside them (``message_key``/``message_params``, ``error_key``/
``error_params``); ``fusion.train.localized_message(progress, lang)`` and
``localized_message(job, lang, "error")`` show them in a page's language.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fusion.data import PairedData
from fusion.errors import FusionError
from fusion.experiment import RunConfig, RunResult, run_experiment
from fusion.i18n import DEFAULT_LANGUAGE, translate
from fusion.train import Callback, History, _is_oom

MAX_CONCURRENT = max(1, int(os.environ.get("FUSION_MAX_TRAININGS", os.cpu_count() or 1)))
JOB_THREADS = max(1, int(os.environ.get("FUSION_JOB_THREADS", "1")))
_slots = threading.BoundedSemaphore(MAX_CONCURRENT)
_active_lock = threading.Lock()
_active: set[TrainingJob] = set()
MAX_LIVE_STEPS = 4000  # the live curve keeps at most this many step points (older ones thinned)
# When the device runs out of memory where ``fit`` cannot catch it (e.g. again in the final
# evaluation after an out-of-memory step), the run is lost; the advice is the same.
OOM_FAILED_KEY = "messages.jobs.out_of_memory"
THREAD_NAME = "fusion-training"  # at most 15 bytes: Linux truncates longer OS thread names


def _name_os_thread(name: str) -> None:
    """Give the calling thread ``name`` at the OS level (Linux; elsewhere a no-op).

    Python 3.11's ``threading.Thread(name=...)`` is only known inside Python; the OS name
    is what ``/proc/<pid>/task/*/comm``, ``top -H`` and ``ps -L`` show. Best effort: a
    failure only leaves the thread with its inherited name.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(15, name.encode()[:15], 0, 0, 0)  # 15 = PR_SET_NAME
    except (OSError, AttributeError):
        pass


def active_jobs() -> int:
    """How many job threads are alive in this process (for tests and the load test)."""
    with _active_lock:
        return sum(1 for j in _active if j.thread is not None and j.thread.is_alive())


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
    message_key: str = ""  # catalogue key of ``message`` (see fusion.train.localized_message)
    message_params: dict[str, Any] = field(default_factory=dict)

    @property
    def fraction(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0

    def say(self, key: str, /, **params: Any) -> None:
        """Set the message from catalogue ``key`` (English text, key and params)."""
        self.message = translate(key, DEFAULT_LANGUAGE, **params)
        self.message_key, self.message_params = key, params


class _Recorder(Callback):
    def __init__(self, job: TrainingJob):
        self.job = job

    def on_train_start(self, info):
        with self.job._lock:
            p = self.job._progress
            p.state, p.epochs = "running", info["epochs"]
            p.total_steps = info["epochs"] * info["batches_per_epoch"]
            p.started = time.perf_counter()
            p.say("messages.jobs.training_on", device=info["device"])

    def on_step(self, info):
        with self.job._lock:
            p = self.job._progress
            p.step = int(info["step"])
            p.epoch = int(info["epoch"])
            p.steps.append(info)
            if len(p.steps) > MAX_LIVE_STEPS:
                p.steps = p.steps[::2]
            p.elapsed = time.perf_counter() - p.started
            if p.step:
                p.eta = p.elapsed / p.step * max(p.total_steps - p.step, 0)

    def on_epoch_end(self, info, history):
        with self.job._lock:
            self.job._progress.epoch_rows.append(dict(info))


class TrainingJob:
    """Train ``config`` on ``data`` in a background thread; poll :meth:`progress`."""

    def __init__(
        self,
        data: PairedData,
        config: RunConfig,
        on_done: Callable[[RunResult], Any] | None = None,
        threads: int | None = None,
    ):
        self.data, self.config, self.on_done = data, config, on_done
        self.threads = threads or JOB_THREADS
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        self.result: RunResult | None = None
        self.error: str | None = None  # English; error_key/error_params for other languages
        self.error_key: str = ""
        self.error_params: dict[str, Any] = {}
        self.saved_path: Any = None
        self._lock = threading.Lock()
        self._progress = Progress(epochs=config.train.epochs)

    def start(self) -> TrainingJob:
        self.config.validate(self.data)  # refuse a bad config here, in the caller's thread
        self.thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        with _active_lock:
            _active.add(self)
        self.thread.start()
        return self

    def _run(self) -> None:
        import torch

        _name_os_thread(THREAD_NAME)
        try:
            with self._lock:
                self._progress.state = "waiting"
                self._progress.say("messages.jobs.waiting")
            while not _slots.acquire(timeout=0.2):
                if self.stop_event.is_set():
                    with self._lock:
                        self._progress.state = "failed"
                        self._progress.say("messages.jobs.cancelled")
                    return
            try:
                torch.set_num_threads(self.threads)
                self.result = run_experiment(
                    self.data, self.config, [_Recorder(self)], self.stop_event
                )
                if self.on_done is not None:
                    self.saved_path = self.on_done(self.result)
                h: History = self.result.history
                with self._lock:
                    self._progress.state = "done"
                    if h.message_key:
                        self._progress.say(h.message_key, **h.message_params)
                    else:
                        self._progress.message = h.message
            finally:
                _slots.release()
        except FusionError as exc:
            self._fail(exc.key, exc.params)
        except Exception as exc:
            if _is_oom(exc):  # the user's choice of size, not a bug: say what to change
                self._fail(OOM_FAILED_KEY, {})
            else:  # a bug: keep the server alive, show a short message
                self._fail(
                    "messages.jobs.failed_unexpectedly",
                    {"error_type": exc.__class__.__name__, "error": str(exc)},
                )
                traceback.print_exc()
        finally:
            if self.error:
                with self._lock:
                    self._progress.state = "failed"
                    self._progress.say(self.error_key, **self.error_params)
            with _active_lock:
                _active.discard(self)

    def _fail(self, key: str, params: dict[str, Any]) -> None:
        self.error = translate(key, DEFAULT_LANGUAGE, **params)
        self.error_key, self.error_params = key, dict(params)

    def stop(self) -> None:
        """Ask the job to stop within one batch; what was learned is kept."""
        self.stop_event.set()

    def join(self, timeout: float | None = None) -> None:
        if self.thread is not None:
            self.thread.join(timeout)

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def progress(self) -> Progress:
        """A consistent copy of the progress, safe to read from any thread."""
        with self._lock:
            p = self._progress
            return Progress(
                p.state,
                p.message,
                p.epoch,
                p.epochs,
                p.step,
                p.total_steps,
                p.started,
                time.perf_counter() - p.started if p.state == "running" else p.elapsed,
                p.eta,
                list(p.steps),
                list(p.epoch_rows),
                p.message_key,
                dict(p.message_params),
            )
