"""The class board: who has joined and is training, the class's runs as a table, any
setting against any metric, and the class's maps as small multiples.

The board is read from the class folder (:class:`fusion.classroom.ClassStore`). A small
fragment polls the folder's listing and reruns the page only when a run arrives or
leaves; the figures are built once per board content (:func:`_figures`), so thirty
students polling a revealed board do not rebuild them.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import pandas as pd
import streamlit as st

from fusion.classroom import (
    BoardEntry,
    ClassInfo,
    board_metrics,
    numeric_settings,
    setting_value,
    setup_changes,
)
from fusion.metric_names import metric_name
from views.parts import classroom as cls
from views.parts.text import fmt, language, presenter, t

POLL_TEACHER_S = 3.0
POLL_STUDENT_S = 8.0


def _board_signature(code: str) -> tuple:
    """The board folder's listing (names and modification times): changes when a run is
    posted or withdrawn, read without opening a file."""
    folder = cls.store().root / code / "board"
    try:
        return tuple(sorted((p.name, p.stat().st_mtime_ns) for p in folder.glob("*.json")))
    except OSError:
        return ()


def setting_label(key: str) -> str:
    """A share-link parameter as a person reads it: ``c.model.temperature`` → the
    parameter's label, ``d.noise`` → "data: noise"."""
    if key.startswith("d."):
        return t("classroom.data_setting", name=key[2:])
    if key.startswith("c."):
        from fusion.config import param_at

        path = key[2:]
        try:
            p = param_at(path)
        except Exception:  # a path of another method: shown as written
            p = None
        return t(p.label) if p is not None and p.label else path
    return key


def _verdict_text(v: dict[str, Any] | None) -> str:
    if not v:
        return "—"
    lo, hi = (v.get("interval") or [math.nan, math.nan])[:2]
    return t(f"classroom.verdict_{v.get('outcome', 'level')}", low=fmt(lo), high=fmt(hi),
             rows=v.get("test_rows", "?"))  # fmt: skip


def board_table(entries: list[BoardEntry], sent_query: dict[str, str]) -> pd.DataFrame:
    """One row per run: nickname, method, what differs from the sent setup, the headline
    metrics (chance in the column's name is not possible per row, so a row shows it in
    brackets), test rows and the verdict."""
    rows = []
    for e in entries:
        changes = setup_changes(e.query, sent_query) if sent_query else {}
        changed = "; ".join(
            f"{setting_label(k)}: {a if a is not None else '—'} → {b if b is not None else '—'}"
            for k, (a, b) in changes.items()
        )
        row = {
            t("classroom.col_nickname"): e.nickname,
            t("classroom.col_method"): f"{e.method} · {e.loss}",
            t("classroom.col_changes"): changed or (t("classroom.as_sent") if sent_query else "—"),
        }
        for k in board_metrics([e]):
            chance = e.metrics.get(f"{k}_chance")
            value = fmt(e.metrics[k])
            row[metric_name(k, language())] = (
                value if chance is None else f"{value} ({fmt(chance)})"
            )
        row[t("classroom.col_test_rows")] = e.test_rows if e.test_rows is not None else "—"
        row[t("classroom.col_verdict")] = _verdict_text(e.verdict)
        rows.append(row)
    return pd.DataFrame(rows)


@functools.lru_cache(maxsize=32)
def _scatter(key: tuple, x: str, y: str, lang: str, big: bool) -> Any:
    from fusion.plots import for_projector
    from fusion.plots.board import board_scatter

    entries = _ENTRIES[key]
    pts = [(setting_value(e.query.get(x)), e.metrics.get(y), e.nickname) for e in entries]
    pts = [p for p in pts if p[0] is not None and p[1] is not None]
    chances = [e.metrics.get(f"{y}_chance") for e in entries if f"{y}_chance" in e.metrics]
    fig = board_scatter(
        [p[0] for p in pts], [p[1] for p in pts], [p[2] for p in pts],
        setting_label(x), metric_name(y, lang),
        chance=chances[0] if chances and len(set(chances)) == 1 else None, t=t,
    )  # fmt: skip
    return for_projector(fig) if big else fig


@functools.lru_cache(maxsize=16)
def _maps(key: tuple, colour: str, lang: str, big: bool) -> Any:
    from fusion.plots import for_projector
    from fusion.plots.board import board_maps

    entries = [e for e in _ENTRIES[key] if e.map]
    fig = board_maps([e.map for e in entries], [e.nickname for e in entries], colour, t=t)
    return for_projector(fig) if big else fig


_ENTRIES: dict[tuple, list[BoardEntry]] = {}  # the cached figures' inputs, by board key


def _key(code: str, entries: list[BoardEntry]) -> tuple:
    key = (code, tuple(e.id for e in entries))
    if key not in _ENTRIES:
        if len(_ENTRIES) > 64:
            _ENTRIES.clear()
        _ENTRIES[key] = entries
    return key


def board_view(info: ClassInfo, teacher: bool) -> None:
    """The board of class ``info``: for its teacher always, for students after the reveal."""
    with st.container(key="class_board"):
        _board(info, teacher)


def _board(info: ClassInfo, teacher: bool) -> None:
    st.header(t("classroom.board_title"))
    if teacher and not info.revealed:
        st.caption(t("classroom.board_private"))
    _live_counts(info.code, teacher)
    entries = cls.store().board(info.code)
    if not entries:
        st.info(t("classroom.board_empty"))
        return
    sent_query = info.sent.query if info.sent and info.sent.kind == "setup" else {}
    st.dataframe(board_table(entries, sent_query), hide_index=True, width="stretch")
    st.caption(t("classroom.table_caption"))
    key = _key(info.code, entries)
    settings = numeric_settings(entries)
    metrics = board_metrics(entries)
    if settings and metrics:
        a, b = st.columns(2)
        varied = [s for s in settings if len({e.query.get(s) for e in entries}) > 1]
        x = a.selectbox(t("classroom.scatter_x"), settings, format_func=setting_label,
                        index=settings.index(varied[0]) if varied else 0, key="board_x")  # fmt: skip
        y = b.selectbox(t("classroom.scatter_y"), metrics,
                        format_func=lambda k: metric_name(k, language()), key="board_y")  # fmt: skip
        st.plotly_chart(_scatter(key, x, y, language(), presenter()), key="board_scatter")
    if any(e.map for e in entries):
        colour = st.segmented_control(
            t("classroom.maps_colour"), ["label", "modality"], default="label",
            format_func=lambda c: t(f"classroom.colour_{c}"), key="board_colour",
        ) or "label"  # fmt: skip
        st.plotly_chart(_maps(key, colour, language(), presenter()), key="board_maps")
        st.caption(t("classroom.maps_caption"))


def _counts(code: str) -> None:
    """Joined, training and waiting, and the runs on the board; reruns the page when a
    run arrives or leaves (polled by the fragments below)."""
    now = _board_signature(code)
    before = st.session_state.get("board_signature")
    st.session_state["board_signature"] = now
    if before is not None and before != now:
        st.rerun(scope="app")
    c = cls.store().activity(code)
    a, b, d, e = st.columns(4)
    a.metric(t("classroom.joined"), c["joined"])
    b.metric(t("classroom.running"), c["running"])
    d.metric(t("classroom.waiting"), c["waiting"])
    e.metric(t("classroom.on_board"), len(now))


@st.fragment(run_every=POLL_TEACHER_S)
def _teacher_counts(code: str) -> None:
    _counts(code)


@st.fragment(run_every=POLL_STUDENT_S)
def _student_counts(code: str) -> None:
    _counts(code)


def _live_counts(code: str, teacher: bool) -> None:
    (_teacher_counts if teacher else _student_counts)(code)
