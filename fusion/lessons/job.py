"""Train a lesson's runs in the background: :class:`LessonJob` and its :class:`LessonProgress`.

:class:`LessonJob` trains a list of runs one after another in one background thread and
saves each under ``lesson-<lesson>-<key>`` in a runs folder. It reuses
:class:`fusion.jobs.TrainingJob` for every run, so the cap on concurrent trainings, the
executor (worker processes, a thread or Ray) and the fault handling are those of every
other training; :meth:`LessonJob.stop` ends the current run within one batch and
skips the rest. It offers the interface of a ``TrainingJob`` (``running``, ``progress``,
``stop``, ``result``, ``config``, ``saved_path``, ``error``), so a page's training slot can
own it and the shared sidebar can show it. Its threads never touch the UI.

Each run trains on the job's executor (worker processes by default; the data is generated
in the worker from the spec), so this module does not import torch.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fusion import jobs
from fusion.config import RunConfig
from fusion.errors import ConfigError, FusionError
from fusion.lessons.specs import Lesson, RunSpec

THREAD_NAME = "fusion-lesson"  # the coordinator thread; each run trains in a TrainingJob


@dataclass
class LessonProgress:
    """Where a lesson's training stands (a consistent copy; see :meth:`LessonJob.lesson_progress`)."""

    state: str  # waiting | running | done | failed | stopped
    index: int  # 0-based index of the run being trained (== n_runs when all are done)
    n_runs: int
    label: tuple[str, dict[str, Any]] | None  # display name of the current run
    epoch: int
    epochs: int
    fraction: float  # of all the lesson's steps
    waiting_for_slot: bool  # the current run waits for a free server slot
    message: str = ""


def _steps_of(spec: RunSpec) -> int:
    """Optimisation steps a run will take (as :func:`fusion.train.fit` batches), >= 1."""
    cfg = spec.config
    if cfg.method == "cca":
        return 1
    n_val = max(1, int(round(spec.n_samples * cfg.train.val_fraction)))
    n_train = spec.n_samples - n_val
    bs = cfg.train.batch_size
    return max(1, cfg.train.epochs * (n_train // bs + (1 if n_train % bs >= 2 else 0)))


class LessonJob:
    """Train a lesson's runs one after another in one background thread; poll progress.

    Each run is a :class:`fusion.jobs.TrainingJob` (so it waits for a server slot like any
    training, and releases it between runs) saved as ``lesson-<id>-<key>`` under ``root``.
    Only this job's coordinator thread waits on it; neither thread touches the UI.
    """

    kind = "lesson"

    def __init__(
        self,
        lesson: Lesson,
        specs: Sequence[RunSpec],
        root: str | os.PathLike,
        on_run_saved: Callable[[str, Path], None] | None = None,
        purpose: str = "start",
        executor: Any = None,
    ):
        if not specs:
            raise ConfigError("lessons.errors.nothing_to_train")
        self.lesson = lesson
        self.specs = list(specs)
        self.root = Path(root)
        self.on_run_saved = on_run_saved
        self.purpose = purpose  # "start" (the lesson's base runs) or "try" (a variation)
        self.executor = executor  # where its runs train (default: fusion.jobs.get_executor)
        self.owner: str | None = None  # its runs' owner (TrainingJob's; e.g. the workspace)
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None
        self.saved: dict[str, Path] = {}  # run key -> folder, as runs are saved
        self.results: dict[str, Any] = {}  # run key -> RunResult
        self.error: str | None = None  # English; error_key/error_params for other languages
        self.error_key: str = ""
        self.error_params: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._current: Any = None  # the TrainingJob of the run being trained
        self._index = 0
        self._totals = [_steps_of(s) for s in self.specs]
        self._done_steps = 0
        self._state = "waiting"
        self._started = time.perf_counter()

    # The attributes a page's training slot and the shared sidebar read from a TrainingJob.

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    @property
    def primary_key(self) -> str:
        keys = [s.key for s in self.specs]
        return self.lesson.primary if self.lesson.primary in keys else keys[0]

    @property
    def result(self) -> Any:
        return self.results.get(self.primary_key) or next(reversed(self.results.values()), None)

    @property
    def config(self) -> RunConfig:
        spec = next(s for s in self.specs if s.key == self.primary_key)
        return self.result.config if self.result is not None else spec.config

    @property
    def saved_path(self) -> Path | None:
        return self.saved.get(self.primary_key) or next(reversed(self.saved.values()), None)

    def start(self) -> LessonJob:
        for spec in self.specs:  # refuse a bad config here, in the caller's thread
            spec.config.validate()
        self.thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self.thread.start()
        return self

    def _run(self) -> None:
        try:
            for i, spec in enumerate(self.specs):
                if self.stop_event.is_set():
                    break
                task = jobs.TrainTask(
                    spec.train_config(),
                    generator=spec.generator,
                    params=dict(spec.params),
                    run_name=spec.run_name(self.lesson.id),
                )
                job = jobs.TrainingJob(
                    task=task, root=self.root, executor=self.executor, owner=self.owner
                )
                with self._lock:
                    self._index, self._current = i, job
                job.start()
                if self.stop_event.is_set():
                    job.stop()
                job.join()
                with self._lock:
                    self._current = None
                    self._done_steps += self._totals[i]
                if job.result is not None:
                    self.results[spec.key] = job.result
                if job.saved_path:
                    self.saved[spec.key] = Path(job.saved_path)
                    if self.on_run_saved is not None:
                        self.on_run_saved(spec.key, Path(job.saved_path))
                if job.error:
                    self.error = job.error
                    self.error_key = getattr(job, "error_key", "")
                    self.error_params = dict(getattr(job, "error_params", {}) or {})
                    break
                if job.result is not None and job.result.history.status not in ("finished",):
                    if job.result.history.status != "stopped":
                        self.error = job.result.history.message
                    break
        except FusionError as exc:
            self.error = str(exc)
            self.error_key, self.error_params = exc.key, dict(exc.params)
        except Exception as exc:  # a bug: keep the server alive, say what happened
            traceback.print_exc()
            self.error = f"Lesson training failed unexpectedly: {exc.__class__.__name__}: {exc}"
        finally:
            with self._lock:
                self._current = None
                if self.error:
                    self._state = "failed"
                elif self.stop_event.is_set():
                    self._state = "stopped"
                else:
                    self._state, self._index = "done", len(self.specs)

    def stop(self) -> None:
        """End the current run within one batch (its work is kept) and skip the rest."""
        self.stop_event.set()
        with self._lock:
            job = self._current
        if job is not None:
            job.stop()

    def join(self, timeout: float | None = None) -> None:
        if self.thread is not None:
            self.thread.join(timeout)

    def lesson_progress(self) -> LessonProgress:
        with self._lock:
            job, index, done, state = self._current, self._index, self._done_steps, self._state
        total = sum(self._totals)
        epoch = epochs = 0
        waiting = False
        if job is not None:
            p = job.progress()
            epoch, epochs = p.epoch, p.epochs
            done += min(p.step, self._totals[index])
            state = "running" if p.state == "running" else "waiting"
            waiting = job.waiting
        label = self.specs[index].label if index < len(self.specs) else None
        return LessonProgress(
            state=state,
            index=index,
            n_runs=len(self.specs),
            label=label,
            epoch=epoch,
            epochs=epochs,
            fraction=min(1.0, done / total) if total else 0.0,
            waiting_for_slot=waiting,
            message=self.error or "",
        )

    def progress(self) -> jobs.Progress:
        """A :class:`fusion.jobs.Progress` of the whole lesson (steps over all its runs)."""
        with self._lock:
            job, index, done, state = self._current, self._index, self._done_steps, self._state
        total = sum(self._totals)
        if job is None:
            return jobs.Progress(
                state={"stopped": "done"}.get(state, state),
                message=self.error or "",
                step=done,
                total_steps=total,
                elapsed=time.perf_counter() - self._started,
            )
        p = job.progress()
        step = done + min(p.step, self._totals[index])
        elapsed = time.perf_counter() - self._started
        p.step, p.total_steps, p.elapsed = step, total, elapsed
        p.eta = elapsed / step * (total - step) if step else None
        return p
