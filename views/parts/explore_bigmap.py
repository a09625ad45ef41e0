"""Explore's map of every validation point of a large run, and the choice between it and
the training snapshots.

A run whose snapshots keep only some validation rows (``snapshot_rows``) was given a map
of all of them after training, in its worker (:mod:`fusion.bigmap`, ``map.parquet``). This
page only reads that map; it never projects one. The view draws every point with
:func:`fusion.plots.bigmap.big_map` (WebGL, typed arrays, hover by trace name and row),
colour by modality, class or reliability, pan, zoom, box and lasso; a selection's rows go
to the same selection panel as the snapshot map's.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from fusion.bigmap import read_map
from fusion.rundata import MapData, embedding_columns, run_signature
from fusion.runs import LoadedRun, RunInfo
from fusion.selection import event_rows
from views.parts.explore_helpers import PROJECTION_LABELS
from views.parts.explore_selection import selection_panel, store_rows, stored_rows
from views.parts.selection_actions import selection_actions
from views.parts.text import fmt_duration, t
from views.parts.widgets import chart, choice

VIEW_KEY = "explore_map_view"  # "all" (every validation point) or "snapshots"
BIG_MAP_KEY = "explore_big_map"
BIG_ROWS_KEY = "explore_big_map_rows"  # per trace of the big map shown, its frame rows
BIG_SELECTION_RUN = "{path}#all"  # the selection's "run" for the big map (rows differ)


@st.cache_data(show_spinner=False, max_entries=4)
def _full_map_cached(path: str, signature: str) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    del signature  # part of the cache key: a rewritten run is read again
    return read_map(path)


def full_map(path: str | Path) -> tuple[pd.DataFrame, dict[str, Any]] | None:
    """The run's saved map of all validation points (``map.parquet``), or None."""
    p = Path(path)
    if not (p / "map.parquet").is_file():
        return None
    return _full_map_cached(str(p), run_signature(p))


@st.cache_data(show_spinner=False, max_entries=8)
def _figure_cached(path: str, signature: str, color_by: str, language: str, title: str):
    from fusion.plots.bigmap import big_map

    del language  # part of the cache key: the figure's words are in it
    loaded = _full_map_cached(path, signature)
    assert loaded is not None  # full_map found the file before asking for the figure
    frame, info = loaded
    name = PROJECTION_LABELS.get(str(info.get("method")), str(info.get("method")))
    return big_map(
        frame,
        color_by=color_by,
        title=title,
        axis_labels=(t("explore.m_1", m=name), t("explore.m_2", m=name)),
        t=t,
    )


def choose_view(info: RunInfo, n_snapshot_points: int) -> str:
    """The map view to show: "all" when the run has a map of all its validation points
    (the default), else "snapshots"; the control and the caption say which and why."""
    loaded = full_map(info.path)
    if loaded is None:
        return "snapshots"
    frame, about = loaded
    n_all = len(frame)
    labels = {
        "all": t("explore.view_all", n=f"{n_all:,}"),
        "snapshots": t("explore.view_snapshots", n=f"{n_snapshot_points:,}"),
    }
    view = choice(
        st,
        t("explore.map_view"),
        ["all", "snapshots"],
        VIEW_KEY,
        format_func=lambda v: labels[v],
        default="all",
        help=t("explore.map_view_help"),
    )
    if view == "all":
        st.caption(
            t(
                "explore.view_all_why",
                n=f"{n_all:,}",
                rows=f"{int(about.get('rows', 0)):,}",
                snap=f"{n_snapshot_points:,}",
                method=PROJECTION_LABELS.get(str(about.get("method")), "PCA"),
                seconds=fmt_duration(float(about.get("seconds", 0.0))),
                e=about.get("epoch", "–"),
            )
        )
    else:
        st.caption(t("explore.view_snapshots_why", n=f"{n_all:,}", snap=f"{n_snapshot_points:,}"))
    return view


def _store_selection(key: str) -> None:
    """on_select callback: the big map's selected rows, stored under their own run key."""
    state = st.session_state.get(BIG_MAP_KEY)
    points = state.selection.points if state is not None else []
    rows = event_rows(points, st.session_state.get(BIG_ROWS_KEY) or [])
    store_rows(key, rows)


def selection_data(frame: pd.DataFrame, about: dict[str, Any]) -> MapData:
    """The big map's rows as the selection panel reads them (``MapData.meta``): one row
    per point, ``sample`` the validation row; ``Z``: the saved final embeddings (maps saved
    without them give an empty ``Z``: the panel then lists the selection only)."""
    meta = pd.DataFrame(
        {
            "epoch": int(about.get("epoch", 0) or 0),
            "sample": frame["row"].to_numpy(dtype=int),
            "id": frame["id"].astype(str).to_numpy(),
            "modality": frame["modality"].astype(str).to_numpy(),
            "label": frame["label"].to_numpy(dtype=int),
            "label_name": frame["label_name"].astype(str).to_numpy(),
            "reliability": frame["reliability"].to_numpy(dtype=float),
            "x": frame["x"].to_numpy(dtype=float),
            "y": frame["y"].to_numpy(dtype=float),
        }
    )
    zcols = embedding_columns(frame)
    Z = frame[zcols].to_numpy(dtype=np.float64)[None] if zcols else np.empty((1, len(meta), 0))
    return MapData([int(about.get("epoch", 0) or 0)], meta, Z, [])


def big_map_section(info: RunInfo, run: LoadedRun) -> None:
    """Every validation point on one map; select with the box or lasso."""
    path = str(info.path)
    loaded = full_map(path)
    if loaded is None:
        return
    frame, about = loaded
    has_rel = bool(np.isfinite(frame["reliability"].to_numpy(dtype=float)).any())
    options = ["modality", "label"] + (["reliability"] if has_rel else [])
    color_by = choice(
        st, t("explore.colour"), options, "explore_big_color", labels="explore.color_labels."
    )
    color_by = color_by if color_by in options else "modality"
    name = PROJECTION_LABELS.get(str(about.get("method")), "PCA")
    title = t("explore.all_points_title", n=f"{len(frame):,}", method=name, e=about.get("epoch"))
    from views.parts.text import language

    fig, rows = _figure_cached(path, run_signature(path), color_by, language(), title)
    st.session_state[BIG_ROWS_KEY] = rows  # what a selection event refers to
    key = BIG_SELECTION_RUN.format(path=path)
    fig.update_layout(height=640)
    left, right = st.columns([3, 2], gap="medium")
    with left:
        chart(
            fig,
            key=BIG_MAP_KEY,
            on_select=partial(_store_selection, key),
            selection_mode=("box", "lasso"),
            width="stretch",
            config={"displaylogo": False},
        )
        st.caption(t("explore.all_points_hint"))
    selected = stored_rows(key)
    data = selection_data(frame, about)
    if data.Z.shape[-1]:  # summary, downloads and "train on these", as on the snapshot map
        with left:
            selection_actions(run, data, selected, path, 0, frame[["x", "y"]].to_numpy())
    with right:
        # The snapshots' samples are a subset of these rows: content is shown from the
        # snapshot map; here the panel lists ids and classes per modality.
        selection_panel(run, data, selected, key, content=False)
