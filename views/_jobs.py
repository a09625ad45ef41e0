"""The session's training job: the one place a job starts, and its lifecycle.

A session's job lives in a session-scoped resource (:func:`job_slot`); when the session
ends (tab closed, page reloaded) Streamlit releases it and the job is stopped, so nothing
keeps running for a user who is gone. The job's threads never call ``st.*``.

Every job starts through :func:`start_job` (Train's form, a Home demo, a lesson), which
moves the session's :class:`~views._state.JobState` to ``training``; adopting the ended
job's saved run (:func:`collect_finished_job`) moves it to ``done``.

:mod:`fusion.jobs` imports torch, so it is imported when a job starts or is looked at,
never when a page first paints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import streamlit as st

from fusion.data import PairedData
from fusion.errors import FusionError
from fusion.runs import save_run
from views._links import runs_dir
from views._state import (
    JobState,
    job_state,
    set_active_run,
    set_job_state,
    set_last_config,
)


@dataclass
class JobSlot:
    """Holds this session's training job; releasing the slot stops the job."""

    job: Any = None  # fusion.jobs.TrainingJob | fusion.lessons.LessonJob | None

    def stop(self) -> None:
        if self.job is not None:
            self.job.stop()


def _release_slot(slot: JobSlot) -> None:
    slot.stop()


@st.cache_resource(scope="session", on_release=_release_slot, show_spinner=False)
def job_slot() -> JobSlot:
    return JobSlot()


def start_job(
    make: Callable[[Path], Any],
    origin: str,
    *,
    config: Any = None,
    demo: str = "",
    scroll: bool = False,
) -> Any:
    """Start the job ``make(runs_dir)`` builds in this session's slot; return it.

    ``origin`` says who started it ("train", "demo", "lesson"; ``demo`` names the Home
    demo); ``config``, when given, becomes the setup the share link carries; ``scroll``
    brings the live panel into view once. Raises FusionError while another job runs.
    """
    slot = job_slot()
    if slot.job is not None and slot.job.running:
        raise FusionError("common.already_training")
    root = runs_dir()  # read here: the job's threads must not touch st.*
    slot.job = make(root).start()
    set_job_state(JobState("training", origin, demo, scroll))
    if config is not None:
        set_last_config(config)  # the shareable setup follows the latest training
    return slot.job


def start_training(
    data: PairedData, config: Any, *, origin: str = "train", demo: str = "", scroll: bool = False
) -> Any:
    """Train ``config`` on ``data`` (:func:`start_job`); the run is saved when it ends.

    Raises FusionError (an invalid config, another job running) before anything starts.
    """
    from fusion.jobs import TrainingJob  # imports torch

    def make(root: Path) -> Any:
        def on_done(result):
            keep = result.history.steps or result.config.method == "cca"
            return save_run(result, root=root) if keep else None

        return TrainingJob(data, config, on_done=on_done)

    return start_job(make, origin, config=config, demo=demo, scroll=scroll)


def current_job() -> Any:
    return job_slot().job


def training_running() -> bool:
    job = current_job()
    return job is not None and job.running


def stop_current_job() -> None:
    job = current_job()
    if job is not None:
        job.stop()


def job_ended_unseen() -> bool:
    """Whether the job has ended but no page has adopted its run yet."""
    job = current_job()
    return job is not None and not job.running and job_state().phase == "training"


def collect_finished_job() -> str | None:
    """If this session's job just ended with a saved run, make it the active run; return its path."""
    if not job_ended_unseen():
        return None
    set_job_state(replace(job_state(), phase="done"))
    job = current_job()
    if job.saved_path:
        set_active_run(job.saved_path)
        return str(job.saved_path)
    return None


def waiting_for_slot(p: Any) -> bool:
    """True when the job really waits for a server slot (not just preparing its data/model).

    Before training starts a job reports "waiting" even while it holds a slot and builds
    its model; it is queued only when more job threads are alive than there are slots.
    """
    from fusion.jobs import MAX_CONCURRENT, active_jobs  # imports torch (a job exists)

    return p.state in ("queued", "waiting") and active_jobs() > MAX_CONCURRENT
