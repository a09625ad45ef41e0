"""The Learn page's Lessons tab: six guided lessons, each started with one click.

The list shows a card per lesson (:data:`fusion.lessons.LESSONS`). "Start lesson" opens it
and trains its runs in one background :class:`fusion.lessons.LessonJob`, owned by the
session's training slot (started through ``jobs.start_job``, like every job): it respects the server's cap on concurrent
trainings, stops when the session ends, and its threads never call ``st.*``. A fragment
polls its progress; when it ends, the page reruns and shows the lesson's steps, built
from the runs saved in this session's runs folder (``lesson-<id>-<key>``), so a lesson
trained once opens at once, also after a reload. ``?lesson=<id>`` opens a lesson.

Presenter mode (``text.presenter``) hides the set-up details and the run list, and
draws text and figures larger.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from fusion.errors import FusionError
from fusion.i18n import localized_message
from views.parts.dataset import dataset_title, generate
from views.parts.jobs import current_job, start_job, training_running
from views.parts.lesson_content import figure, findings, found_runs, question, runs_list, steps
from views.parts.live_map import live_view
from views.parts.state import open_lesson, set_dataset, set_open_lesson
from views.parts.text import language, presenter, t
from views.site import TRAIN

TAB_DEFAULT = "lesson_tab_default"  # session key: whether Learn opens on the Lessons tab


def lessons_tab_default(labels: list[str]) -> str | None:
    """The tab Learn opens on: the Lessons tab (last label) when the session came with ?lesson=.

    Decided once per session, so the tabs never remount (and jump) on a later rerun.
    """
    if TAB_DEFAULT not in st.session_state:
        st.session_state[TAB_DEFAULT] = bool(st.query_params.get("lesson"))
    return labels[-1] if st.session_state[TAB_DEFAULT] else None


# ---------------------------------------------------------------------------
# State


def _size() -> str:
    from fusion.lessons import lesson_size

    return lesson_size()


def _requested_lesson() -> str | None:
    """The open lesson: ``?lesson=`` (valid ids only), else the session's choice."""
    from fusion.lessons import LESSONS

    given = st.query_params.get("lesson")
    if given:
        if given in LESSONS:
            set_open_lesson(given)
        else:
            st.warning(t("lessons.tab.unknown", lesson=given), icon=":material/help:")
            del st.query_params["lesson"]
    return open_lesson()


def _open(lesson_id: str | None) -> None:
    set_open_lesson(lesson_id)
    if lesson_id:
        st.query_params["lesson"] = lesson_id
    elif "lesson" in st.query_params:
        del st.query_params["lesson"]


def _lesson_job(lesson_id: str | None = None) -> Any:
    """This session's job if it is a lesson job (of ``lesson_id``, when given)."""
    job = current_job()
    if getattr(job, "kind", None) != "lesson":
        return None
    return job if lesson_id is None or job.lesson.id == lesson_id else None


def _start(lesson: Any, specs: list[Any], purpose: str) -> None:
    """Train ``specs`` in a LessonJob, started like every job (``jobs.start_job``)."""
    from fusion.lessons import LessonJob  # imports torch

    primary = next((s for s in specs if s.key == lesson.primary), specs[0])
    # The shared link follows the latest training: the lesson's main run on its data.
    config = primary.config if purpose == "start" else None
    try:
        start_job(
            lambda root: LessonJob(lesson, specs, root, purpose=purpose), "lesson", config=config
        )
    except FusionError:
        return  # the buttons are disabled while busy; a double click lands here
    if purpose == "start":
        params = {k: v for k, v in primary.params.items() if v is not None}
        set_dataset(generate(primary.generator, params), dataset_title(primary.generator, params))


# ---------------------------------------------------------------------------
# The list


def lessons_tab() -> None:
    """The Lessons tab: the list of lessons, or the open lesson."""
    from fusion.lessons import LESSONS

    lesson_id = _requested_lesson()
    if lesson_id in LESSONS:
        _lesson_view(LESSONS[lesson_id])
        return
    st.markdown(t("lessons.tab.intro"))
    _cards()
    st.divider()
    st.caption(t("lessons.tab.own"))
    if st.button(t("lessons.tab.to_train"), key="learn_to_train", icon=":material/model_training:"):
        st.switch_page(TRAIN.script)


def _cards() -> None:
    from fusion.lessons import LESSONS

    busy = training_running()
    size = _size()
    lessons = list(LESSONS.values())
    for start in range(0, len(lessons), 3):
        cols = st.columns(3, gap="medium")
        for col, lesson in zip(cols, lessons[start : start + 3], strict=False):
            with col, st.container(border=True, height="stretch"):
                _card(lesson, lessons.index(lesson) + 1, busy, size)


def _card(lesson: Any, number: int, busy: bool, size: str) -> None:
    from fusion.lessons import missing_base

    st.subheader(f"{lesson.icon} {number}. {t(f'lessons.{lesson.id}.title')}")
    st.markdown(t(f"lessons.{lesson.id}.summary"))
    st.space("stretch")
    base = lesson.base_runs(size)
    trained = not missing_base(lesson, found_runs(lesson), size)
    if not presenter():
        st.caption(
            t(
                "lessons.tab.card_meta",
                runs=len(base),
                generator=", ".join(dict.fromkeys(s.generator for s in base)),
            )
        )
    if trained:
        st.caption(t("lessons.tab.card_trained"))
    label = t("lessons.tab.open") if trained else t("lessons.tab.start")
    if st.button(
        label,
        key=f"lesson_start_{lesson.id}",
        type="primary",
        icon=":material/play_arrow:",
        disabled=busy and not trained and _lesson_job(lesson.id) is None,
        help=t("lessons.tab.start_help"),
        width="stretch",
    ):
        _open(lesson.id)
        if not trained and not training_running():
            _start(lesson, base, "start")
        st.rerun()


# ---------------------------------------------------------------------------
# One lesson


def _lesson_view(lesson: Any) -> None:
    from fusion.lessons import LESSONS, missing_base

    size = _size()
    big = presenter()  # the sidebar's PRESENTER_CSS enlarges the lesson's text
    if st.button(t("lessons.tab.back"), key="lesson_back", icon=":material/arrow_back:"):
        _open(None)
        st.rerun()
    with st.container(key="lesson_body"):
        number = list(LESSONS).index(lesson.id) + 1
        st.subheader(f"{lesson.icon} {number}. {t(f'lessons.{lesson.id}.title')}")
        st.markdown(t(f"lessons.{lesson.id}.summary"))
        if not big:
            with st.expander(t("lessons.tab.setup"), icon=":material/tune:"):
                st.markdown("\n".join(f"- {_setup_line(s)}" for s in lesson.base_runs(size)))
        job = _lesson_job(lesson.id)
        found = found_runs(lesson)
        missing = missing_base(lesson, found, size)
        if job is not None and job.running and job.purpose == "start":
            st.caption(t("lessons.tab.running_note"))
            _progress(lesson.id)
            return
        _other_training(lesson)
        if missing:
            _not_trained(lesson, job, size)
            return
        _job_outcome(job)
        steps(lesson, found)
        _try_this(lesson, found, size, big)
        question(lesson, found)
        if not big:
            runs_list(lesson, found, _size())
            if st.button(
                t("lessons.tab.train_again"),
                key=f"lesson_retrain_{lesson.id}",
                icon=":material/refresh:",
                disabled=training_running(),
            ):
                _start(lesson, lesson.base_runs(size), "start")
                st.rerun()


def _setup_line(spec: Any) -> str:
    label = t(spec.label[0], **spec.label[1])
    key = "lessons.tab.setup_run_cca" if spec.config.method == "cca" else "lessons.tab.setup_run"
    return t(
        key,
        label=label,
        generator=f"`{spec.generator}`",
        n=f"{spec.n_samples:,}",
        epochs=spec.config.train.epochs,
    )


def _other_training(lesson: Any) -> None:
    """Say so when another training (a lesson or not) holds this session's slot."""
    job = current_job()
    if job is None or not job.running:
        return
    other = _lesson_job()
    if other is not None and other.lesson.id == lesson.id:
        return
    if other is not None:
        st.info(
            t("lessons.tab.busy_lesson", title=t(f"lessons.{other.lesson.id}.title")),
            icon=":material/hourglass_top:",
        )
    else:
        st.info(t("lessons.tab.busy"), icon=":material/hourglass_top:")
    st.button(
        t("lessons.tab.stop_other"),
        key=f"lesson_stop_other_{lesson.id}",
        icon=":material/stop:",
        on_click=job.stop,
    )


def _not_trained(lesson: Any, job: Any, size: str) -> None:
    if job is not None and not job.running:
        _job_outcome(job)
    else:
        st.info(t("lessons.tab.not_trained"), icon=":material/school:")
    if st.button(
        t("lessons.tab.train"),
        key=f"lesson_train_{lesson.id}",
        type="primary",
        icon=":material/play_arrow:",
        disabled=training_running(),
    ):
        _start(lesson, lesson.base_runs(size), "start")
        st.rerun()


def _job_outcome(job: Any) -> None:
    """A stopped or failed lesson job says so (a finished one shows its results)."""
    if job is None or job.running:
        return
    p = job.lesson_progress()
    if p.state == "failed":
        message = localized_message(job, language(), "error")
        st.error(t("lessons.tab.failed", message=message), icon=":material/error:")
    elif p.state == "stopped":
        st.warning(t("lessons.tab.stopped"), icon=":material/stop_circle:")


@st.fragment(run_every=0.5)
def _progress(lesson_id: str) -> None:
    """Polls the lesson's job twice a second; a full rerun shows the results when it ends."""
    job = _lesson_job(lesson_id)
    if job is None or not job.running:
        st.rerun(scope="app")
    p = job.lesson_progress()
    whole = job.progress()  # the run being trained: its live map, its place in line
    if p.waiting_for_slot:
        from fusion.jobs import MAX_CONCURRENT
        from views.parts.job_panel import queue_note

        note = queue_note(whole, MAX_CONCURRENT) if whole.place else None
        st.info(note or t("lessons.tab.waiting", n=MAX_CONCURRENT), icon=":material/hourglass_top:")
    label = t(p.label[0], **p.label[1]) if p.label else ""
    text = t("lessons.tab.progress", i=min(p.index + 1, p.n_runs), n=p.n_runs, label=label)
    if p.state == "running" and p.epochs:
        text += " · " + t("lessons.tab.progress_epoch", e=p.epoch, epochs=p.epochs)
    elif not p.waiting_for_slot:
        text += " · " + t("lessons.tab.preparing")
    st.progress(p.fraction, text=text)
    # The run being trained, live: the collapse lesson on PCA, where the cloud shrinks.
    live_view(whole, f"lesson_{lesson_id}", "pca" if lesson_id == "collapse" else "umap")
    st.button(
        t("lessons.tab.stop"),
        key=f"lesson_stop_{lesson_id}",
        icon=":material/stop:",
        on_click=job.stop,
        help=t("lessons.tab.stop_help"),
    )


def _try_this(lesson: Any, found: dict[str, Path], size: str, big: bool) -> None:
    var = lesson.variation
    st.markdown(f"### {t('lessons.tab.try_title')}")
    with st.container(border=True):
        st.markdown(t(f"lessons.{lesson.id}.try.prompt"))
        untrained = [
            v for v in var.values if any(s.key not in found for s in lesson.runs_for(v, size))
        ]
        value = st.select_slider(
            t(f"lessons.{lesson.id}.try.label"),
            options=list(var.values),
            value=untrained[0] if untrained else var.values[0],
            format_func=var.format,
            key=f"lesson_try_value_{lesson.id}",
        )
        todo = [s for s in lesson.runs_for(value, size) if s.key not in found]
        job = _lesson_job(lesson.id)
        # The step whose chart this setting joins (None: the chart is drawn here).
        in_step = next(
            (i for i, s in enumerate(lesson.steps, start=1) if lesson.try_figure in s.figures),
            None,
        )
        if job is not None and job.running and job.purpose == "try":
            _progress(lesson.id)
        elif todo and st.button(
            t("lessons.tab.try_button"),
            key=f"lesson_try_{lesson.id}",
            type="primary",
            icon=":material/science:",
            disabled=training_running(),
            help=t("lessons.tab.try_help"),
        ):
            _start(lesson, todo, "try")
            st.rerun()
        if todo and in_step:
            st.caption(t("lessons.tab.try_in_step", n=in_step))
        elif not todo:
            key = "lessons.tab.try_trained_step" if in_step else "lessons.tab.try_trained"
            st.caption(t(key, n=in_step))
        if in_step is None:
            fig = findings(lesson, found).figures.get(lesson.try_figure)
            figure(fig, f"lesson_{lesson.id}_try_{lesson.try_figure}", big)
