"""Class: a teacher starts a class and runs it from here; students join and see the board
once the teacher reveals it.

Nobody in a class: join with a code, or start a class. A teacher (a link with the class
secret): the class code large with its QR code, the links, what to send the class, the
class limits, reveal and close, and the board. A student: their nickname, what the
teacher sent, whether their runs go to the board (and their runs on it), and the board
after the reveal. Everything the board computes lives in :mod:`fusion.classroom` and
:mod:`views.parts.board`.
"""

from __future__ import annotations

import streamlit as st

from fusion.classroom import DEFAULT_HOURS, MAX_HOURS, Limits, Sent
from fusion.errors import FusionError
from views.parts import classroom as cls
from views.parts.board import board_view
from views.parts.job_panel import queue_note
from views.parts.jobs import current_job, waiting_for_slot
from views.parts.links import current_setup, workspace
from views.parts.state import open_lesson
from views.parts.text import presenter, t
from views.site import TRAIN


def _nobody() -> None:
    st.title(t("classroom.title"))
    st.caption(t("classroom.intro"))
    join, teach = st.columns(2, gap="large")
    with join.container(border=True):
        st.subheader(t("classroom.join_title"))
        with st.form("class_join_code"):
            code = st.text_input(
                t("classroom.code_label"), max_chars=6, placeholder=t("classroom.code_placeholder")
            )
            nickname = st.text_input(t("classroom.nickname_label"), max_chars=24,
                                     help=t("classroom.nickname_help"))  # fmt: skip
            if st.form_submit_button(t("classroom.join"), type="primary"):
                _join(code, nickname)
    with teach.container(border=True):
        st.subheader(t("classroom.teach_title"))
        st.caption(t("classroom.teach_help"))
        hours = st.number_input(t("classroom.hours_label"), 0.5, MAX_HOURS, DEFAULT_HOURS, 0.5)
        if st.button(t("classroom.start"), key="class_start", icon=":material/co_present:"):
            try:
                cls.start_class(hours)
            except FusionError as exc:
                st.error(t(exc.key, **exc.params))
            else:
                st.rerun()


def _join(code: str, nickname: str) -> None:
    try:
        cls.join_class(code, nickname, workspace())
    except FusionError as exc:
        st.error(t(exc.key, **exc.params))
    else:
        st.rerun()


# ---------------------------------------------------------------------------
# The teacher


def _links(info) -> tuple[str, str]:
    base = (st.context.url or "").split("?")[0]
    m = cls.member()
    return f"{base}?class={info.code}", f"{base}?class={info.code}&key={m.secret}"


def _teacher(info) -> None:
    student_link, teacher_link = _links(info)
    head, qr = st.columns([3, 1], vertical_alignment="center")
    with head:
        st.caption(t("classroom.code_caption"))
        st.markdown(cls.code_html(info.code, presenter()), unsafe_allow_html=True)
        st.markdown(t("classroom.student_link"))
        st.code(student_link, language=None, wrap_lines=True)
        st.caption(t("classroom.expires", minutes=cls.minutes_left(info)))
    qr.image(cls.qr_png(student_link), caption=t("classroom.qr_caption"), width=220)

    send, control = st.columns(2, gap="large")
    with send.container(border=True):
        _send_panel(info)
    with control.container(border=True):
        _control_panel(info, teacher_link)
    st.divider()
    board_view(info, teacher=True)


def _send_panel(info) -> None:
    st.subheader(t("classroom.send_title"))
    if info.sent is not None:
        st.caption(t("classroom.sent_now", what=cls.sent_label(info)))
    what = st.radio(t("classroom.send_what"), ["setup", "lesson"], horizontal=True,
                    format_func=lambda k: t(f"classroom.send_{k}"), key="class_send_what")  # fmt: skip
    s = cls.store()
    m = cls.member()
    if what == "setup":
        query = current_setup()
        if not query:
            st.info(t("classroom.nothing_to_send"))
            st.page_link(
                TRAIN.script, label=t("classroom.open_train"), icon=":material/model_training:"
            )
            return
        st.caption(t("classroom.setup_preview", n=len(query)))
        st.code("\n".join(f"{k} = {v}" for k, v in query.items()), language=None)
        sent = Sent("setup", query=query)
    else:
        from fusion.lessons import LESSONS

        ids = list(LESSONS)
        current = open_lesson()
        lesson = st.selectbox(t("classroom.lesson_label"), ids,
                              index=ids.index(current) if current in ids else 0,
                              format_func=lambda i: t(f"lessons.{i}.title"), key="class_lesson")  # fmt: skip
        steps = max(1, len(LESSONS[lesson].steps))
        step = st.number_input(t("classroom.step_label"), 1, steps, 1, key="class_step")
        sent = Sent("lesson", lesson=lesson, step=int(step) - 1)
    if st.button(t("classroom.send"), type="primary", key="class_send", icon=":material/send:"):
        try:
            s.send(info.code, m.secret, sent)
        except FusionError as exc:
            st.error(t(exc.key, **exc.params))
        else:
            st.toast(t("classroom.sent_toast"), icon=":material/send:")
            st.rerun()


def _control_panel(info, teacher_link: str) -> None:
    s, m = cls.store(), cls.member()
    st.subheader(t("classroom.limits_title"))
    st.caption(t("classroom.limits_help"))
    with st.form("class_limits"):
        a, b = st.columns(2)
        epochs = a.number_input(t("classroom.max_epochs"), 0, 1000, info.limits.max_epochs or 0,
                                help=t("classroom.zero_is_none"), key="class_max_epochs")  # fmt: skip
        samples = b.number_input(t("classroom.max_samples"), 0, 10_000_000,
                                 info.limits.max_samples or 0, step=500,
                                 help=t("classroom.zero_is_none"), key="class_max_samples")  # fmt: skip
        if st.form_submit_button(t("classroom.set_limits")):
            s.set_limits(info.code, m.secret, Limits(int(epochs) or None, int(samples) or None))
            st.rerun()
    revealed = st.toggle(t("classroom.reveal"), value=info.revealed, key="class_reveal",
                         help=t("classroom.reveal_help"))  # fmt: skip
    if revealed != info.revealed:
        s.reveal(info.code, m.secret, revealed)
        st.rerun()
    with st.expander(t("classroom.teacher_link")):
        st.caption(t("classroom.teacher_link_help"))
        st.code(teacher_link, language=None, wrap_lines=True)
    with st.popover(t("classroom.close"), icon=":material/stop_circle:"):
        st.caption(t("classroom.close_help"))
        if st.button(t("classroom.close_confirm"), type="primary", key="class_close"):
            s.close(info.code, m.secret)
            cls.leave_class()
            st.rerun()


# ---------------------------------------------------------------------------
# A student


@st.fragment(run_every=2.0)
def _my_training() -> None:
    """The student's own training: its place in line while it waits, else how far it is."""
    job = current_job()
    if job is None or not job.running:
        st.rerun(scope="app")
    p = job.progress()
    if waiting_for_slot(p):
        from fusion.jobs import MAX_CONCURRENT

        st.info(queue_note(p, MAX_CONCURRENT), icon=":material/hourglass_top:")
    else:
        st.caption(t("common.training_pct_done", pct=f"{p.fraction:.0%}"))


def _student(info) -> None:
    m = cls.member()
    me = cls.current_student()
    if me is None:
        st.title(t("classroom.join_class", code=info.code))
        with st.form("class_join_nick"):
            nickname = st.text_input(t("classroom.nickname_label"), max_chars=24, key="class_nickname",
                                     help=t("classroom.nickname_help"))  # fmt: skip
            if st.form_submit_button(t("classroom.join"), type="primary"):
                _join(info.code, nickname)
        return
    st.title(t("classroom.welcome", nickname=me.nickname))
    st.caption(t("classroom.in_class", code=info.code, minutes=cls.minutes_left(info)))
    if info.sent is not None:
        with st.container(border=True):
            st.markdown(t("classroom.banner", what=cls.sent_label(info)))
            loaded = st.session_state.get(cls.LOADED_SENT) == info.sent.id
            label = t("classroom.load_again" if loaded else "classroom.load_sent")
            if st.button(label, key="class_load_again", type="secondary" if loaded else "primary"):
                cls.load_sent(info)
    else:
        st.info(t("classroom.nothing_sent_yet"))
    if info.limits.max_epochs or info.limits.max_samples:
        parts = (
            [t("classroom.limits_now_epochs", epochs=info.limits.max_epochs)]
            if info.limits.max_epochs
            else []
        )
        if info.limits.max_samples:
            parts.append(t("classroom.limits_now_samples", samples=info.limits.max_samples))
        st.caption(t("classroom.limits_now", limits=", ".join(parts)))
    job = current_job()
    if job is not None and job.running:
        _my_training()
    st.toggle(t("classroom.share_runs"), value=cls.share_runs(), key=cls.SHARE_RUNS,
              help=t("classroom.share_runs_help"))  # fmt: skip
    mine = [e for e in cls.store().board(info.code) if e.student == m.key]
    if mine:
        st.markdown(t("classroom.my_runs"))
        for e in mine:
            a, b = st.columns([4, 1], vertical_alignment="center")
            a.caption(e.run_name)
            if b.button(t("classroom.withdraw"), key=f"class_withdraw_{e.id}"):
                cls.store().withdraw(info.code, m.key, e.id)
                st.rerun()
    if st.button(t("classroom.leave"), key="class_leave"):
        cls.leave_class()
        st.rerun()
    st.divider()
    if info.revealed:
        board_view(info, teacher=False)
    else:
        st.info(t("classroom.board_hidden"), icon=":material/visibility_off:")


m = cls.member()
info = cls.current_class()
if m is None or info is None:
    _nobody()
elif m.teacher:
    _teacher(info)
else:
    _student(info)
