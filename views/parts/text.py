"""Text for people: the session's language, the catalogue (:func:`t`), presenter mode,
numbers and durations, and the names of methods, losses and run statuses.

Every string a page shows goes through :func:`t`; the strings live in
``fusion/locales/<lang>/*.toml``.
"""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from fusion.errors import FusionError
from fusion.i18n import DEFAULT_LANGUAGE, LANGUAGES, has, info_key, translate
from views.parts.state import LANG, PRESENTER


def language() -> str:
    """The interface language of this session.

    A session's first look reads the ``?lang=`` URL parameter (a shared link, a reload);
    after that the session's choice holds, and ``links.sync_url`` keeps it in the URL.
    """
    if LANG not in st.session_state:
        given = st.query_params.get("lang")
        st.session_state[LANG] = given if given in LANGUAGES else DEFAULT_LANGUAGE
    return st.session_state[LANG]


def set_language(lang: str) -> None:
    st.session_state[LANG] = lang


def t(key: str, **kw: Any) -> str:
    """The user-facing text for catalogue ``key`` in the session's language.

    ``kw`` fills ``{name}`` placeholders.
    """
    return translate(key, language(), **kw)


def presenter() -> bool:
    """Whether presenter mode is on: larger text and plots, advanced controls hidden.

    Set from the sidebar toggle; a session's first look reads ``?present=1`` in the URL.
    """
    if PRESENTER not in st.session_state:
        st.session_state[PRESENTER] = st.query_params.get("present") == "1"
    return st.session_state[PRESENTER]


def set_presenter(on: bool) -> None:
    st.session_state[PRESENTER] = on


def error_text(exc: FusionError) -> str:
    """A library error's message in the session's language."""
    return exc.localized(language())


def label_for(prefix: str, name: str) -> str:
    """``t(prefix + name)`` (``prefix`` ends in "."), or ``name`` itself when the catalogue
    has no such key (a run saved by a newer version, a method this version does not know)."""
    key = prefix + name
    return t(key) if has(key) else name


def method_label(method: str) -> str:
    """A fusion method's name ("joint", "attention", ...) in the session's language."""
    return label_for("common.method_labels.", method)


def loss_label(loss: str) -> str:
    """A loss's name ("info_nce", ...) in the session's language."""
    return label_for("common.loss_labels.", loss)


def status_label(status: str) -> str:
    """A run's status ("finished", "stopped", ...) in the session's language."""
    return label_for("common.run_status.", status)


def info_text(kind: str, name: str, field: str) -> str:
    """The title, help or source of a loss (``kind="loss"``) or a metric pattern
    (``kind="metric"``, a key of :data:`fusion.metric_names.METRIC_INFO`) in the session's
    language. Formulas themselves stay in the library as LaTeX."""
    return t(info_key(kind, name, field))


def fmt(x: float | None, digits: int = 3) -> str:
    """A number rounded for people: 0.873, 12.4, 1,234; '–' for missing. A small value
    keeps two significant digits (a chance level of 1/4000 is 0.00025, never "0")."""
    if x is None or x != x:  # NaN
        return "–"
    ax = abs(x)
    if ax >= 1000:
        return f"{x:,.0f}"
    if ax >= 10:
        return f"{x:.1f}"
    if 0 < ax < 10 ** (1 - digits):  # below 0.01 at 3 digits: rounding would hide it
        if ax >= 1e-4:
            return f"{x:.2g}"
        if ax >= 1e-6:  # a chance level of 1/100,000 reads 0.00001, in plain decimals
            places = 1 - math.floor(math.log10(ax))  # two significant digits
            return f"{x:.{places}f}".rstrip("0").rstrip(".")
        return f"{x:.1e}"
    return f"{x:.{digits}f}".rstrip("0").rstrip(".") if ax else "0"


def fmt_duration(seconds: float | None) -> str:
    """A duration for people: '8 s', '1 min 05 s', '1 h 02 min'; '–' when unknown."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "–"
    s = int(round(seconds))
    if s < 60:
        return t("common.duration_seconds", s=s)
    if s < 3600:
        return t("common.duration_minutes", m=s // 60, s=s % 60)
    return t("common.duration_hours", h=s // 3600, m=s % 3600 // 60)
