"""The session's class: who this visitor is in a class (teacher or student), kept in the
URL, and what every page does for a class member.

- ``?class=CODE`` is a student link; ``?class=CODE&key=SECRET`` a teacher link. Both are
  written back on every run (page navigation drops query parameters), and the share
  link never carries ``key`` (:func:`views.parts.links.share_link`).
- A student's banner (:func:`class_banner`) shows what the teacher sent, with one click
  to load it; a small fragment (:func:`class_watch`) notices a new send, the reveal or the
  end of the class and reruns the page.
- Every training a student starts in the class is held to the class limits
  (:func:`limit_training`) and, unless the student withholds it, its run goes to the
  board when it ends (:func:`watch_job`), from a thread that touches no ``st.*``.
"""

from __future__ import annotations

import functools
import io
import threading
import time
from dataclasses import dataclass
from typing import Any

import streamlit as st

from fusion.classroom import (
    CODE_RE,
    SECRET_RE,
    ClassInfo,
    ClassStore,
    Student,
    apply_limits,
    limit_samples,
    student_key,
)
from fusion.errors import FusionError
from fusion.runs import runs_root
from views.parts.text import t

CLASS_STATE = "class_member"  # ClassMember of this session (None: not in a class)
SHARE_RUNS = "class_share_runs"  # the student's "send my runs to the board" choice
LOADED_SENT = "class_loaded_sent"  # id of the send this student loaded (or dismissed)
CLASS_NOTE = "class_note"  # a one-time note for the next run (the class ended, ...)
WATCH_EVERY_S = 4.0


@dataclass
class ClassMember:
    code: str
    secret: str = ""  # the teacher's secret (teacher links only)
    key: str = ""  # the student key (students only)

    @property
    def teacher(self) -> bool:
        return bool(self.secret)


def store() -> ClassStore:
    return ClassStore(runs_root())


def member() -> ClassMember | None:
    return st.session_state.get(CLASS_STATE)


def set_member(m: ClassMember | None) -> None:
    st.session_state[CLASS_STATE] = m


def class_session(workspace: str | None) -> None:
    """Read the class from the URL on a session's first run; keep it there afterwards.

    A link whose code names no open class, or whose teacher secret is wrong, leaves the
    session outside any class (the Class page says why: :func:`link_problem`)."""
    m = member()
    if m is None and "class_url_read" not in st.session_state:
        st.session_state["class_url_read"] = True
        code = (st.query_params.get("class") or "").strip().upper()
        secret = st.query_params.get("key") or ""
        if code:
            m = _from_link(code, secret, workspace)
    if m is not None and store().get(m.code) is None:  # closed or expired since
        set_member(None)
        st.session_state[CLASS_NOTE] = ("classroom.ended", {"code": m.code})
        m = None
    want = {"class": m.code, "key": m.secret} if m else {}
    for k in ("class", "key"):
        if k in want and want[k] and st.query_params.get(k) != want[k]:
            st.query_params[k] = want[k]
        elif not want.get(k) and k in st.query_params and m is not None:
            del st.query_params[k]


def _from_link(code: str, secret: str, workspace: str | None) -> ClassMember | None:
    s = store()
    if not CODE_RE.fullmatch(code) or s.get(code) is None:
        st.session_state[CLASS_NOTE] = ("classroom.no_class_link", {})
        return None
    if secret:
        if not SECRET_RE.fullmatch(secret) or not s.is_teacher(code, secret):
            st.session_state[CLASS_NOTE] = ("classroom.bad_teacher_link", {})
            return None
        m = ClassMember(code, secret=secret)
    else:  # a student link: joined once they pick a nickname (the Class page)
        m = ClassMember(code, key=student_key(workspace or "shared"))
    set_member(m)
    return m


def take_note() -> tuple[str, dict] | None:
    return st.session_state.pop(CLASS_NOTE, None)


def current_class() -> ClassInfo | None:
    m = member()
    return store().get(m.code) if m else None


def current_student() -> Student | None:
    m = member()
    return store().student(m.code, m.key) if m and not m.teacher else None


def share_runs() -> bool:
    return bool(st.session_state.get(SHARE_RUNS, True))


# ---------------------------------------------------------------------------
# Starting, joining, leaving


def start_class(hours: float) -> ClassInfo:
    info, secret = store().start(hours)
    set_member(ClassMember(info.code, secret=secret))
    st.query_params["class"], st.query_params["key"] = info.code, secret
    return info


def join_class(code: str, nickname: str, workspace: str | None) -> Student:
    """Join class ``code``; raises FusionError (translated) when there is no such class."""
    code = code.strip().upper()
    key = student_key(workspace or "shared")
    s = store().join(code, key, nickname)
    set_member(ClassMember(code, key=key))
    st.query_params["class"] = code
    return s


def leave_class() -> None:
    set_member(None)
    for k in ("class", "key"):
        if k in st.query_params:
            del st.query_params[k]


# ---------------------------------------------------------------------------
# What a page shows a class member


def signature() -> tuple:
    """What changes when the class does (a send, limits, reveal, the end): the class file's
    modification time, read without parsing anything."""
    m = member()
    if m is None:
        return ()
    try:
        return (m.code, (store().root / m.code / "class.json").stat().st_mtime_ns)
    except OSError:
        return (m.code, None)


@st.fragment(run_every=WATCH_EVERY_S)
def class_watch() -> None:
    """Rerun the page when the class changes (a new send, the reveal, its end). Costs one
    ``stat`` per tick; the page itself is only rerun on a change."""
    now = signature()
    before = st.session_state.get("class_signature")
    st.session_state["class_signature"] = now
    if before is not None and before != now:
        st.rerun(scope="app")


def sent_label(info: ClassInfo) -> str:
    """What the teacher sent, in a few words."""
    sent = info.sent
    if sent is None:
        return ""
    if sent.kind == "lesson":
        return t(
            "classroom.sent_lesson", title=t(f"lessons.{sent.lesson}.title"), step=sent.step + 1
        )
    q = sent.query
    data = t("classroom.sent_data", generator=q["data"]) if q.get("data") else ""
    method = q.get("method", "")
    parts = [data] + (
        [t("classroom.sent_training", method=method, loss=q.get("loss", ""))] if method else []
    )
    return " · ".join(p for p in parts if p)


def load_sent(info: ClassInfo) -> None:
    """Load what the teacher sent into this session and open the page it belongs on."""
    from fusion.share import parse_setup
    from views.parts.dataset import dataset_title, generate
    from views.parts.state import set_dataset, set_link_config, set_open_lesson
    from views.site import LEARN, TRAIN

    sent = info.sent
    if sent is None:
        return
    st.session_state[LOADED_SENT] = sent.id
    if sent.kind == "lesson":
        set_open_lesson(sent.lesson)
        st.switch_page(LEARN.script)
    setup = parse_setup(sent.query)
    if setup is not None and setup.generator:
        set_dataset(
            generate(setup.generator, setup.params), dataset_title(setup.generator, setup.params)
        )
    if setup is not None and setup.config is not None:
        set_link_config(setup.config)
    st.switch_page(TRAIN.script)


def class_banner(page: str = "") -> None:
    """A student's banner: what the teacher sent and a button to load it (until loaded).
    ``page``: the URL path shown (the Class page shows what was sent in its own words)."""
    note = take_note()
    if note is not None:
        key, params = note
        st.warning(t(key, **params), icon=":material/groups:")
    m = member()
    if m is None:
        return
    class_watch()
    if m.teacher or page == "class":
        return
    info = current_class()
    if info is None or info.sent is None or st.session_state.get(LOADED_SENT) == info.sent.id:
        return
    if current_student() is None:
        return  # not joined yet: the Class page asks for a nickname first
    with st.container(border=True, key="class_banner"):
        left, right = st.columns([4, 1], vertical_alignment="center")
        left.markdown(t("classroom.banner", what=sent_label(info)))
        if right.button(t("classroom.load_sent"), type="primary", key="class_load_sent"):
            try:
                load_sent(info)
            except FusionError as exc:
                st.error(t(exc.key, **exc.params))


# ---------------------------------------------------------------------------
# Trainings in a class


def limit_training(data: Any, config: Any) -> tuple[Any, Any]:
    """Hold a student's training to the class limits; say what changed."""
    m = member()
    info = current_class() if m and not m.teacher else None
    if info is None:
        return data, config
    config, keep, notes = apply_limits(config, data.n, info.limits)
    if keep is not None:
        data = limit_samples(data, keep, seed=config.train.seed)
    for key in notes:
        st.toast(t(key, epochs=info.limits.max_epochs, samples=info.limits.max_samples),
                 icon=":material/groups:")  # fmt: skip
    return data, config


def watch_job(job: Any) -> None:
    """If this session is a joined student, follow ``job`` from a thread: mark the
    student's training waiting/running on the class, and post its saved run to the
    board when it ends (unless the student withholds runs)."""
    m = member()
    if m is None or m.teacher or current_student() is None:
        return
    s, code, key, post = store(), m.code, m.key, share_runs()

    def follow() -> None:
        state = ""
        try:
            while job.running:
                now = "waiting" if getattr(job, "waiting", False) else "running"
                if now != state:
                    s.set_training(code, key, now)
                    state = now
                job.join(1.0)
            # A lesson saves several runs (``saved``), a training one (``saved_path``).
            paths = list(getattr(job, "saved", {}).values()) or [getattr(job, "saved_path", None)]
            for path in paths if post else []:
                if path:
                    s.post(code, key, path)
        finally:
            s.set_training(code, key, "")

    threading.Thread(target=follow, name=f"fusion-class-{code}", daemon=True).start()


@functools.lru_cache(maxsize=16)
def qr_png(url: str) -> bytes:
    """The QR code of ``url`` as a PNG, sized for a projector (made once per link)."""
    import segno

    buf = io.BytesIO()
    segno.make(url, error="m").save(buf, kind="png", scale=10, border=2, dark="#111111")
    return buf.getvalue()


def minutes_left(info: ClassInfo) -> int:
    return int(round(info.seconds_left(time.time()) / 60))


def code_html(code: str, big: bool) -> str:
    """The class code as the projector shows it: large, spaced letters (markup, no words)."""
    size = 6 if big else 4.5
    style = f"font-size:{size}rem;font-weight:700;letter-spacing:0.25em;line-height:1.1"
    return f"<div class='class-code' style='{style}'>{code}</div>"
