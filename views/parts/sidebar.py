"""The sidebar every page shares: language, presenter mode, the share link, the active
data set and run, the training status and the device."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import streamlit as st

from fusion.classroom import DEFAULT_HOURS
from fusion.i18n import LANGUAGES
from views.parts.dataset import dataset_label
from views.parts.demo import demo_kind
from views.parts.device import device_line
from views.parts.jobs import (
    attach,
    collect_finished_job,
    current_job,
    waiting_for_slot,
)
from views.parts.links import get_active_run, link_note, share_popover
from views.parts.state import LANGUAGE_CHOICE, PRESENTER_CHOICE, get_dataset, open_lesson
from views.parts.text import language, presenter, set_language, set_presenter, t
from views.site import CLASS, EXPLORE, HOME, LEARN, TRAIN

# Every page: a metric's chance note wraps instead of ending in "…" ("chance 0.125 (majority …").
METRIC_CSS = """
<style>
[data-testid="stMetricDelta"], [data-testid="stMetricDelta"] * {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
  height: auto !important;
}
</style>
"""
PRESENTER_CSS = """
<style>
/* Presenter mode, laid out for a projector (1024×768, 1280×720 and up). Streamlit sizes
   text in rem, so the root font scales the page: 18 px at 1024 px wide, 22 px from 1400. */
html { font-size: clamp(18px, 1.6vw, 22px); }
[data-testid="stSidebar"] { font-size: 0.9rem; }
/* The page's width goes to the content, not to wide side margins. */
[data-testid="stMainBlockContainer"] {
  padding-left: 1.5rem !important; padding-right: 1.5rem !important;
  padding-top: 4.5rem !important;
}
/* Columns too narrow for large text wrap onto the next row instead of breaking words
   ("Alignmen t") and cutting controls ("Class labe…"). */
[data-testid="stMain"] [data-testid="stHorizontalBlock"] { flex-wrap: wrap; }
[data-testid="stMain"] [data-testid="stColumn"] { min-width: min(100%, 12rem); }
/* Explore's map takes the whole width; the selected points' panel goes below it. */
[data-testid="stHorizontalBlock"]:has(> [data-testid="stColumn"] .st-key-explore_map)
  > [data-testid="stColumn"] { min-width: 100%; }
/* Charts side by side (a lesson's, Compare's) go one per row below 24rem each. */
[data-testid="stHorizontalBlock"]:has(> [data-testid="stColumn"] .stPlotlyChart)
  > [data-testid="stColumn"] { min-width: min(100%, 24rem); }
/* Numbers are whole on one line; labels wrap between words. */
[data-testid="stMetricValue"] { font-size: 2.1rem; }
[data-testid="stMetricValue"], [data-testid="stMetricValue"] * {
  white-space: nowrap !important; overflow: visible !important; text-overflow: clip !important;
  height: auto !important;
}
[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] * {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
  height: auto !important; overflow-wrap: normal !important; word-break: normal !important;
}
/* Segmented controls and buttons show their whole text, wrapping onto a second row. */
[data-testid="stMain"] [data-testid="stButtonGroup"] > div { flex-wrap: wrap; }
[data-testid="stMain"] [data-testid="stButtonGroup"] button,
[data-testid="stMain"] [data-testid="stButtonGroup"] button *,
[data-testid="stMain"] [data-testid="stButton"] button,
[data-testid="stMain"] [data-testid="stButton"] button * {
  max-width: none !important; overflow: visible !important; text-overflow: clip !important;
}
/* An open lesson's text (Learn's Lessons tab). */
.st-key-lesson_body p, .st-key-lesson_body li { font-size: 1.3rem; line-height: 1.55; }
.st-key-lesson_body h3 { font-size: 2.1rem; }
</style>
"""


# Streamlit's notice for a timed fragment rerun that arrives after its fragment is gone.
STALE_FRAGMENT_LOGGER = "streamlit.runtime.app_session"
STALE_FRAGMENT_TEXT = "exist anymore"  # from "… does not exist anymore - …"
STALE_FRAGMENT_QUIET_S = 60.0


class StaleFragmentOnce(logging.Filter):
    """Lets Streamlit's "fragment … does not exist anymore" notice through once a minute per
    fragment. A tab's polling fragments (training progress, twice a second) keep their
    timers in the browser; a burst of their queued reruns, e.g. when a tab reconnects after
    its session was dropped, was logged line by line (dozens of lines per tab)."""

    def __init__(self) -> None:
        super().__init__()
        self._last: dict[object, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if STALE_FRAGMENT_TEXT not in str(record.msg):
            return True
        fragment = record.args[0] if isinstance(record.args, tuple) and record.args else None
        now = time.monotonic()
        if now - self._last.get(fragment, -STALE_FRAGMENT_QUIET_S) < STALE_FRAGMENT_QUIET_S:
            return False
        if len(self._last) > 10_000:  # fragment ids are per session: forget old ones
            self._last.clear()
        self._last[fragment] = now
        return True


def quiet_stale_fragment_log() -> None:
    """Install :class:`StaleFragmentOnce` on Streamlit's session logger (once per server)."""
    logger = logging.getLogger(STALE_FRAGMENT_LOGGER)
    if not any(isinstance(f, StaleFragmentOnce) for f in logger.filters):
        logger.addFilter(StaleFragmentOnce())


def _on_language() -> None:  # the rerun's sync_url puts the choice into the URL
    set_language(st.session_state[LANGUAGE_CHOICE])


def _on_presenter() -> None:
    set_presenter(st.session_state[PRESENTER_CHOICE])


def view_controls(page: str = "") -> None:
    """Sidebar: language, presenter mode and the share-this-setup link (``page``: the URL
    path of the page shown)."""
    st.session_state[LANGUAGE_CHOICE] = language()
    st.radio(
        t("common.language"),
        list(LANGUAGES),
        format_func=LANGUAGES.get,
        horizontal=True,
        key=LANGUAGE_CHOICE,
        on_change=_on_language,
    )
    st.session_state[PRESENTER_CHOICE] = presenter()
    st.toggle(
        t("common.presenter_mode"),
        key=PRESENTER_CHOICE,
        on_change=_on_presenter,
        help=t("common.presenter_mode_help"),
    )
    share_popover()
    link_note(page)
    st.markdown(METRIC_CSS, unsafe_allow_html=True)
    if presenter():
        st.markdown(PRESENTER_CSS, unsafe_allow_html=True)


def shows_training_panel(page: str) -> bool:
    """Whether the page at URL path ``page`` shows this session's live training panel:
    Train always, Home and Explore while the job is a Home demo, Learn while the job is
    the open lesson's."""
    if page == LEARN.url_path:
        lesson = getattr(current_job(), "lesson", None)
        return lesson is not None and open_lesson() == lesson.id
    demo_pages = (HOME.url_path, EXPLORE.url_path)
    return page == TRAIN.url_path or (page in demo_pages and demo_kind() is not None)


def sidebar(page: str = "") -> None:
    """The sidebar every page shares: active dataset, active run, training status, device.

    ``page`` is the URL path of the page being shown (``"train"``, ...).
    """
    quiet_stale_fragment_log()
    attach()  # a reload, a new tab or another browser of this workspace finds its job again
    job = current_job()
    collect_finished_job()  # adopt an ended job's saved run as soon as any page runs
    run = get_active_run()  # a new session's first look restores its newest run and data
    data = get_dataset()
    with st.sidebar:
        view_controls(page)
        st.divider()
        st.markdown(t("common.active_dataset"))
        if data is None:
            st.caption(t("common.none_yet_make_one"))
        else:
            st.caption(f"{dataset_label()}  \n{data.describe(lang=language())}")
        st.markdown(t("common.active_run"))
        st.caption(Path(run).name if run else t("common.none_yet_train_one"))
        if job is not None and job.running:
            if shows_training_panel(page):
                # One progress figure per screen: the panel's, polled twice as often as
                # this line could be, would run ahead of a second percentage here.
                st.caption(t("common.training_see_panel"))
            else:
                _training_status()
        st.markdown(t("common.device"))
        device_line()
        _class_line()


def _class_line() -> None:
    """The class this visitor is in (and their role), or a button that starts one."""
    from views.parts import classroom as cls

    st.divider()
    m = cls.member()
    if m is not None:
        role = "classroom.role_teacher" if m.teacher else "classroom.role_student"
        st.page_link(CLASS.script, label=t(role, code=m.code), icon=":material/groups:")
    elif st.button(t("classroom.start"), key="class_start_sidebar", icon=":material/co_present:"):
        cls.start_class(DEFAULT_HOURS)
        st.switch_page(CLASS.script)


@st.fragment(run_every=1.0)
def _training_status() -> None:
    """The sidebar's training line, kept fresh while the job runs. Once the job has ended or
    is gone, a full rerun adopts its run and draws the sidebar without this line, which
    stops its timer (a fragment's timer runs until a full rerun leaves it out)."""
    job = current_job()
    if job is None or not job.running:
        st.rerun(scope="app")
    p = job.progress()
    if waiting_for_slot(p):
        st.caption(t("common.training_waiting_free_slot"))
    elif p.state in ("queued", "waiting"):
        st.caption(t("common.training_preparing"))
    else:
        st.caption(t("common.training_pct_done", pct=f"{p.fraction:.0%}"))
