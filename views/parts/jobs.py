"""The workspace's training job: the one place a job starts, and its lifecycle.

A job belongs to the visitor's *workspace* (``?ws=``), not to the browser's websocket:
closing the tab, a dropped connection, a reload or the workspace's link opened in another
browser does not stop it, and coming back re-attaches to its live progress
(:func:`attach`). The server keeps one :class:`JobSlot` per workspace in a
:class:`JobBoard`; a job stops only when its user stops it, when it ends, or when its
workspace has had no visitor (no open session) for ``FUSION_ABANDON_MINUTES`` (default
30): a reaper thread stops it then, keeping what it learned.

Every job starts through :func:`start_job` (Train's form, a Home demo, a lesson), which
moves the session's :class:`~views.parts.state.JobState` to ``training``; adopting the ended
job's saved run (:func:`collect_finished_job`) moves it to ``done``. Training runs on
:func:`fusion.jobs.get_executor` (worker processes by default), so this process never
imports torch; the pool is started with the server (:func:`executor`), and a clean
shutdown stops the jobs, saves what they learned and ends the workers: on SIGINT (a
Ctrl-C in the terminal) or SIGTERM the jobs are told at once (:func:`_take_signals`), and
the server exits within seconds (:func:`_shut_down`).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from fusion import jobs
from fusion.data import PairedData
from fusion.errors import FusionError
from views.parts.classroom import limit_training, watch_job
from views.parts.links import runs_dir, workspace
from views.parts.state import (
    JobState,
    job_state,
    set_active_run,
    set_job_state,
    set_last_config,
)

ABANDON_MINUTES = float(os.environ.get("FUSION_ABANDON_MINUTES", "30"))
REAP_EVERY_S = 10.0
# After sessions leave, their memory is freed once Streamlit forgets them (after
# server.disconnectedSessionTTL); this many seconds later, once no other session has left
# meanwhile, the freed memory goes back to the system (fusion.runtime.trim_memory). A
# steady stream of departures is trimmed at most every TRIM_EVERY_S. A trim runs a full
# garbage collection, which holds the interpreter for a moment: never more often.
TRIM_DELAY_S = 2.0
TRIM_EVERY_S = 60.0


@dataclass
class JobSlot:
    """A workspace's training job, who started it, and which sessions are looking."""

    job: Any = None  # fusion.jobs.TrainingJob | fusion.lessons.LessonJob | None
    origin: str = ""  # "train", "demo" or "lesson"
    demo: str = ""
    sessions: set[str] = field(default_factory=set)  # open sessions of this workspace
    left_at: float | None = None  # monotonic time the last session left (None: someone is here)

    def stop(self) -> None:
        if self.job is not None:
            self.job.stop()


class JobBoard:
    """The server's slots, one per workspace, and the reaper of abandoned jobs."""

    def __init__(self, abandon_s: float):
        self.abandon_s = abandon_s
        self.lock = threading.Lock()
        self.slots: dict[str, JobSlot] = {}
        self.last_leave: float | None = None  # monotonic time a session last left
        threading.Thread(target=self._reap_forever, name="fusion-reaper", daemon=True).start()
        threading.Thread(target=self._trim_forever, name="fusion-trim", daemon=True).start()

    def slot(self, ws: str) -> JobSlot:
        with self.lock:
            return self.slots.setdefault(ws, JobSlot())

    def visit(self, ws: str, session: str) -> None:
        with self.lock:
            slot = self.slots.setdefault(ws, JobSlot())
            slot.sessions.add(session)
            slot.left_at = None

    def leave(self, ws: str, session: str) -> None:
        with self.lock:
            slot = self.slots.get(ws)
            if slot is not None:
                slot.sessions.discard(session)
                if not slot.sessions:
                    slot.left_at = time.monotonic()
            self.last_leave = time.monotonic()

    def reap(self) -> list[str]:
        """Stop the jobs of workspaces nobody has visited for ``abandon_s``; their names."""
        now = time.monotonic()
        with self.lock:
            gone = [
                (ws, s)
                for ws, s in self.slots.items()
                if s.left_at is not None and now - s.left_at >= self.abandon_s
            ]
        for ws, slot in gone:
            slot.stop()
            if slot.job is None or not slot.job.running:
                with self.lock:
                    if self.slots.get(ws) is slot and slot.left_at is not None:
                        del self.slots[ws]
        return [ws for ws, _ in gone]

    def _reap_forever(self) -> None:
        while True:
            time.sleep(min(REAP_EVERY_S, max(self.abandon_s / 4, 0.5)))
            self.reap()

    def trim_due(self, now: float, ttl_s: float, trimmed: float | None, last: float) -> bool:
        """Whether to return freed memory now: sessions left since the departure trimmed
        after (``trimmed``), and Streamlit has forgotten them (``ttl_s``) with no one
        leaving for TRIM_DELAY_S since, or the last trim (``last``) is TRIM_EVERY_S old."""
        left = self.last_leave
        if left is None or left == trimmed:
            return False
        return now - left >= ttl_s + TRIM_DELAY_S or now - last >= TRIM_EVERY_S

    def _trim_forever(self) -> None:
        from fusion.runtime import trim_memory

        trimmed, last = None, time.monotonic()
        while True:
            time.sleep(1.0)
            now = time.monotonic()
            if self.trim_due(now, _session_ttl(), trimmed, last):
                trimmed, last = self.last_leave, now
                trim_memory()


def _session_ttl() -> float:
    """Seconds Streamlit keeps a closed session's state (server.disconnectedSessionTTL)."""
    try:
        return float(st.get_option("server.disconnectedSessionTTL"))
    except Exception:  # an older Streamlit without the option
        return 120.0


@st.cache_resource(show_spinner=False)
def job_board() -> JobBoard:
    return JobBoard(ABANDON_MINUTES * 60)


@st.cache_resource(show_spinner=False)
def executor() -> Any:
    """This server's executor, its workers started now (``FUSION_EXECUTOR``; default local).

    Called when the app starts, so the first demo finds a warm worker. A clean shutdown
    (SIGTERM, Ctrl-C) stops every job, saves what they learned and ends the workers.
    """
    ex = jobs.get_executor()
    threading.Thread(target=ex.warm, name="fusion-warm", daemon=True).start()
    atexit.register(_shut_down)
    with contextlib.suppress(Exception):  # no server's loop (AppTest): no signals to take
        from streamlit import runtime

        runtime.get_instance().stopped.get_loop().call_soon_threadsafe(_take_signals)
    return ex


_signalled = threading.Event()  # the server got SIGINT or SIGTERM: it is shutting down


def _take_signals() -> None:
    """In the server's main thread (signal handlers are set there): on SIGINT or SIGTERM,
    tell every job to stop at once, then let Streamlit's own handler stop the server."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous = signal.getsignal(sig)
        if not callable(previous):
            continue

        def handler(signum: int, frame: Any, previous: Callable = previous) -> None:
            _signalled.set()
            # A thread takes the jobs' locks: the interrupted main thread may hold one.
            threading.Thread(target=jobs.stop_all, args=(jobs.SHUTDOWN,), daemon=True).start()
            previous(signum, frame)

        signal.signal(sig, handler)


def _shut_down() -> None:
    """At exit: stop the jobs, save their runs, end the workers. After a signal nothing is
    left to do, so the interpreter's own teardown (seconds on a busy machine) is skipped."""
    jobs.shutdown_executors()
    if _signalled.is_set():
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def _workspace_key() -> str:
    """This session's workspace (its token), or the session itself when it has none."""
    ws = workspace()
    if ws:
        return ws
    ctx = get_script_run_ctx()
    return f"session:{ctx.session_id}" if ctx else "session:?"


@dataclass
class _Visit:
    ws: str
    session: str


def _leave(visit: _Visit) -> None:
    job_board().leave(visit.ws, visit.session)


@st.cache_resource(scope="session", on_release=_leave, show_spinner=False)
def _visit(ws: str) -> _Visit:
    """This session's visit to ``ws``: while the session is open, the workspace is visited."""
    ctx = get_script_run_ctx()
    visit = _Visit(ws, ctx.session_id if ctx else "?")
    job_board().visit(ws, visit.session)
    return visit


def job_slot() -> JobSlot:
    """This workspace's slot (the session is counted as a visitor of it)."""
    ws = _workspace_key()
    _visit(ws)
    return job_board().slot(ws)


def attach() -> None:
    """Re-attach this session to its workspace's job (a reload, another browser, a new tab).

    A job still running, or ended but not yet adopted, shows its live panel again.
    """
    slot = job_slot()
    if slot.job is not None and job_state().phase == "idle" and slot.job.running:
        set_job_state(JobState("training", slot.origin, slot.demo, False))


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
    executor()
    job = make(root)
    # The workspace owns the job: the executor trains one job per workspace at a time and
    # serves the others in order of arrival (fusion.jobs.executors.fair).
    job.owner = _workspace_key()
    slot.job = job.start()
    slot.origin, slot.demo = origin, demo
    watch_job(slot.job)  # a student's run goes to the class board when it ends
    set_job_state(JobState("training", origin, demo, scroll))
    if config is not None:
        set_last_config(config)  # the shareable setup follows the latest training
    return slot.job


def start_training(
    data: PairedData,
    config: Any,
    *,
    origin: str = "train",
    demo: str = "",
    scroll: bool = False,
    pace: float = 0.0,
) -> Any:
    """Train ``config`` on ``data`` (:func:`start_job`); the run is saved when it ends.
    ``pace`` > 0: at least that many seconds per epoch, so the live map can be watched.

    Raises FusionError (an invalid config, another job running) before anything starts.
    """

    data, config = limit_training(data, config)  # a class's limits, for its students

    def make(root: Path) -> Any:
        return jobs.TrainingJob(task=jobs.TrainTask(config, data, live_pace=pace), root=root)

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
    """True when the job really waits for a free training slot (queued, not yet training)."""
    job = current_job()
    return p.state in ("queued", "waiting") and job is not None and getattr(job, "waiting", False)
