"""Session state: every key the pages share, each with what it holds, and small accessors.

``st.session_state`` is per browser session. Only this module names the shared keys;
pages read and write them through the functions below, so no page touches another
page's keys. A page's own keys (its widgets, what it alone remembers) sit at the top of
that page. The session's training job itself lives in a session-scoped resource
(``jobs.job_slot``), not here: releasing it stops the job.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import streamlit as st

from fusion.data import PairedData

# The keys. Tests read a few of them by name (dataset, dataset_label, active_run, lang,
# workspace): they are part of the session's contract.
DATASET = "dataset"  # PairedData the pages work on (made on Data, by a demo, a lesson, a link)
DATASET_LABEL = "dataset_label"  # its name when it was uploaded (generated data is named anew)
ACTIVE_RUN = "active_run"  # folder of the run Explore opens (str), None: no run yet
LANG = "lang"  # interface language ("en" or "zh")
PRESENTER = "presenter"  # presenter mode: a projector in front of a room
WORKSPACE = "workspace"  # this visitor's workspace token (their runs folder; kept in ?ws=)
URL_CHECKED = "url_checked"  # the session has read its first URL (a shared link, a reload)
LAST_CONFIG = "last_config"  # RunConfig of the latest training started (or loaded from a link)
LINK_CONFIG = "link_config"  # RunConfig from a shared link, not yet put into the Train form
LINK_BASE = "link_base"  # that RunConfig again: Train keeps the settings its form does not show
LINK_NOTE = "link_note"  # (kind, key, params): what a shared link loaded or why not, shown once
LINK_SELECTION = "link_selection"  # (sel= value or None: too large, n samples) the link carries
LINK_SELECTION_SET = "link_selection_set"  # LINK_SELECTION's value when the URL was last synced
LINK_SELECTION_IDS = "link_selection_ids"  # (value, ids) a link selects, until Explore shows them
LESSON_OPEN = "lesson_open"  # id of the lesson open on Learn (None: the list of lessons)
JOB_STATE = "job_state"  # JobState: the lifecycle of the session's job as the pages see it
LANGUAGE_CHOICE = "language_choice"  # the sidebar's language radio
PRESENTER_CHOICE = "presenter_choice"  # the sidebar's presenter toggle


# ---------------------------------------------------------------------------
# The job's lifecycle


@dataclass(frozen=True)
class JobState:
    """The session's training job as the pages see it: ``idle`` → ``training`` → ``done``.

    One value says which demo the job is, whether its end was adopted and whether Train
    should scroll to its panel, so no page sets or clears flags of its own for these.
    Only ``jobs`` moves it on: a start sets ``training``, adopting the ended job's run
    sets ``done``.
    """

    phase: str = "idle"  # "idle": nothing started; "training"; "done": ended, its run adopted
    origin: str = ""  # who started the job: "train", "demo" or "lesson"
    demo: str = ""  # which Home demo (a key of demo.DEMOS) when origin is "demo"
    scroll: bool = False  # bring the live panel into view once (Train: it sits above the form)

    @property
    def is_demo(self) -> bool:
        return self.origin == "demo" and bool(self.demo)


def job_state() -> JobState:
    return st.session_state.get(JOB_STATE) or JobState()


def set_job_state(state: JobState) -> None:
    st.session_state[JOB_STATE] = state


def take_scroll() -> bool:
    """Whether the live panel should be scrolled into view now (true once per start)."""
    state = job_state()
    if state.scroll:
        set_job_state(replace(state, scroll=False))
    return state.scroll


# ---------------------------------------------------------------------------
# Dataset, run, configurations, lesson


def get_dataset() -> PairedData | None:
    return st.session_state.get(DATASET)


def set_dataset(data: PairedData, label: str) -> None:
    st.session_state[DATASET] = data
    st.session_state[DATASET_LABEL] = label


def stored_dataset_label() -> str:
    return st.session_state.get(DATASET_LABEL, "")


def active_run_known() -> bool:
    """Whether this session has an active run decided (its first look picks the newest)."""
    return ACTIVE_RUN in st.session_state


def set_active_run(path: str | Path | None) -> None:
    st.session_state[ACTIVE_RUN] = str(path) if path else None


def stored_active_run() -> str | None:
    return st.session_state.get(ACTIVE_RUN)


def last_config() -> Any:
    return st.session_state.get(LAST_CONFIG)


def set_last_config(config: Any) -> None:
    """The shareable setup follows the latest training started (or a link's)."""
    st.session_state[LAST_CONFIG] = config


def set_link_config(config: Any) -> None:
    """A shared link's RunConfig, for Train's form and for the link itself."""
    st.session_state[LAST_CONFIG] = config
    st.session_state[LINK_CONFIG] = config


def take_link_config() -> Any:
    """A shared link's RunConfig not yet put into the Train form (once), else None."""
    return st.session_state.pop(LINK_CONFIG, None)


def link_base() -> Any:
    return st.session_state.get(LINK_BASE)


def set_link_base(config: Any) -> None:
    st.session_state[LINK_BASE] = config


def set_link_note(kind: str, key: str, **params: Any) -> None:
    """``kind``: "success" or "error"; ``key`` and ``params``: the message in the catalogue."""
    st.session_state[LINK_NOTE] = (kind, key, params)


def take_link_note() -> tuple[str, str, dict[str, Any]] | None:
    return st.session_state.pop(LINK_NOTE, None)


def link_selection() -> tuple[str | None, int] | None:
    """The map selection the share link carries: (its ``sel=`` value, "" when nothing is
    selected, None when too large for a link; how many samples), or None when none."""
    return st.session_state.get(LINK_SELECTION)


def set_link_selection(value: str | None, n: int) -> None:
    st.session_state[LINK_SELECTION] = (value, n)


def link_selection_set() -> str | None:
    """The selection's link value as the last full run wrote the URL and the share
    popover ("" before any)."""
    return st.session_state.get(LINK_SELECTION_SET, "")


def set_link_selection_set(value: str | None) -> None:
    st.session_state[LINK_SELECTION_SET] = value


def pending_link_selection() -> tuple[str, list[str]] | None:
    """(``sel=`` value, sample ids) a shared link selects, not yet shown on a map."""
    return st.session_state.get(LINK_SELECTION_IDS)


def set_pending_link_selection(value: str | None, ids: list[str] | None = None) -> None:
    if value is None:
        st.session_state.pop(LINK_SELECTION_IDS, None)
    else:
        st.session_state[LINK_SELECTION_IDS] = (value, list(ids or []))


def open_lesson() -> str | None:
    return st.session_state.get(LESSON_OPEN)


def set_open_lesson(lesson_id: str | None) -> None:
    st.session_state[LESSON_OPEN] = lesson_id
