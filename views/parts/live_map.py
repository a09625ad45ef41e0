"""The live map and live attention while a job trains, and the saved frames Explore replays.

:func:`live_view` draws what the training worker sent (:mod:`fusion.live`): the newest
map frame of the validation points in the shared space, coloured like Explore's map, and
for attention fusion the attention weights. It runs inside the training panel's polling
fragment (``job_panel._live_progress``, the lessons' progress), so it only draws: the
2-D coordinates were computed in the worker, never here. The chart keeps one key, so
each new frame reaches the browser as a Plotly update with a transition, not a new chart.

:func:`explore_frames` gives Explore the frames saved with a run (``live_frames.npz``):
its map opens on the last live frame and its epoch slider replays the same frames.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import streamlit as st

from fusion import live
from fusion.metrics import COLLAPSE_FACTOR
from views.parts.text import presenter, t
from views.parts.widgets import chart, choice

if TYPE_CHECKING:  # fusion.rundata imports pandas: Home's first paint goes without it
    from fusion.rundata import MapData

METHOD_LABELS = {"umap": "UMAP", "pca": "PCA"}
ATTENTION_VIEWS = ("distribution", "by_class", "reliability")


def live_view(
    p: Any,
    key: str,
    default_method: str = "umap",
    height: int | None = None,
    in_order: bool = False,
) -> None:
    """The live map (and attention, for attention fusion) of progress ``p``'s events;
    ``height``: the map's, in pixels, when it must fit a window with the progress above;
    ``in_order``: every frame from the first, in order, catching up when behind (a demo:
    its first frames are the point, and a busy page may first draw when they are past)."""
    events = getattr(p, "live", None) or {}
    points = events.get(live.POINTS)
    if not points:
        st.caption(t("live.waiting"))
        return
    meta, frames = points[-1], events.get(live.FRAME) or []
    attention = events.get(live.ATTENTION) or []
    with st.container(key=f"{key}_live"):
        if attention and not presenter():
            left, right = st.columns([3, 2], gap="medium")
        else:
            left = right = st.container()
        with left:
            _map(meta, frames, key, default_method, height, in_order)
        if attention:
            with right:
                _attention(meta, attention, key)


def _controls(meta: dict[str, Any], key: str, default_method: str) -> tuple[str, str, bool]:
    c1, c2, c3 = st.columns([1.2, 2, 1.2], vertical_alignment="bottom")
    method = choice(
        c1,
        t("live.projection"),
        list(METHOD_LABELS),
        f"{key}_live_method",
        format_func=METHOD_LABELS.get,
        default=default_method,
        help=t("live.projection_help"),
    )
    has_rel = bool(np.isfinite(np.asarray(meta["reliability"], dtype=float)).any())
    options = ["modality"] + (["label"] if meta.get("labels") is not None else [])
    options += ["reliability"] if has_rel else []
    color_by = choice(
        c2, t("live.colour"), options, f"{key}_live_color", labels="explore.color_labels."
    )
    pairs = c3.toggle(t("live.pairs"), value=False, key=f"{key}_live_pairs")
    return method or default_method, color_by if color_by in options else "modality", pairs


def _map(
    meta: dict[str, Any],
    frames: list[dict[str, Any]],
    key: str,
    default: str,
    height: int | None,
    in_order: bool,
) -> None:
    from fusion.plots.live import live_map

    method, color_by, pairs = _controls(meta, key, default)
    if not frames:
        st.caption(t("live.preparing"))
        return
    newest = live.epoch_label(frames[-1])
    if in_order:
        frames = frames[: _next_in_order(frames, key) + 1]
    frame, shown, why = live.shown_frame(frames, method)
    fallback = why == "umap_fallback"
    history = [f[shown] for f in frames if f.get(shown) is not None]
    name = METHOD_LABELS[shown]
    fig = live_map(
        live.points_frame(meta, frame[shown]),
        live.axis_ranges(history, shown),
        color_by=color_by,
        show_pairs=pairs,
        title=t("live.title", e=live.epoch_label(frame), method=name),
        axis_labels=(t("live.axis", method=name, i=1), t("live.axis", method=name, i=2)),
        revision=f"{key}-{shown}",
        t=t,
    )
    if height:
        fig.update_layout(height=height)
    chart(fig, key=f"{key}_live_map_chart", config={"displaylogo": False})
    _captions(meta, frame, shown, fallback)
    if live.epoch_label(frames[-1]) != newest:  # drawing in order, behind the training
        st.caption(t("live.in_order", e=live.epoch_label(frames[-1]), newest=newest))
    elif why == "umap_behind" and live.epoch_label(frame) != newest:  # UMAP frames are rarer
        st.caption(t("live.umap_behind", e=live.epoch_label(frame), newest=newest))
    elif why == "umap_stale":  # the newest UMAP frame is too old to stand for the training
        umap_epoch = live.epoch_label([f for f in frames if f.get("umap") is not None][-1])
        st.caption(t("live.umap_stale", e=umap_epoch, newest=newest))
    elif why == "umap_first":
        st.caption(t("live.umap_first"))


def _next_in_order(frames: list[dict[str, Any]], key: str) -> int:
    """The index of the frame to draw now when drawing in order (fusion.live.in_order_index),
    remembering it for the next poll; a new training's frames start from the first."""
    mark = f"{key}_live_drawn"
    first = frames[0]
    run = round(float(first.get("sent", 0.0)) - float(first.get("lag", 0.0)), 2)  # its start
    last = st.session_state.get(mark)
    i = live.in_order_index(frames, last[1] if last and last[0] == run else None)
    st.session_state[mark] = (run, float(frames[i]["epoch"]))
    return i


def _captions(meta: dict[str, Any], frame: dict[str, Any], shown: str, fallback: bool) -> None:
    m = len(meta["modalities"])
    samples = len(meta["sample"]) // max(m, 1)
    total, shown_n = int(meta["n_val"]) * m, len(meta["sample"])
    key = "live.points_all" if shown_n >= total else "live.points_subset"
    st.caption(
        t(
            key,
            shown=f"{shown_n:,}",
            total=f"{total:,}",
            samples=f"{samples:,}",
            m=m,
            s=f"{frame['seconds']:.2f}",
        )
    )
    if fallback:
        st.info(t("live.umap_fallback"), icon=":material/speed:")
    factor = live.collapse_factor(frame)
    if factor >= COLLAPSE_FACTOR:
        st.warning(
            t(
                "live.collapse_umap" if shown == "umap" else "live.collapse",
                factor=f"{factor:,.0f}" if np.isfinite(factor) else "∞",
                first=f"{frame['spread0']:.3g}",
                last=f"{frame['spread']:.3g}",
            ),
            icon=":material/compress:",
        )


def _attention(meta: dict[str, Any], events: list[dict[str, Any]], key: str) -> None:
    from fusion import plots
    from fusion.plots.live import attention_distribution, attention_trend

    names, labels, mask = meta["mask_names"], meta.get("labels"), meta.get("mask")
    options = ["distribution"] + (["by_class"] if labels is not None else [])
    options += ["reliability"] if mask is not None else []
    view = choice(
        st, t("live.attention_view"), options, f"{key}_live_attention_view",
        labels="live.attention_views.",
    )  # fmt: skip
    last = events[-1]
    w = np.asarray(last["weights"], dtype=np.float64)
    if view == "by_class" and labels is not None:
        fig = plots.attention_by_class(w, labels, meta["label_names"], names, t=t)
    elif view == "reliability" and mask is not None:
        fig = plots.attention_vs_reliability(w, np.asarray(mask, dtype=float), names, t=t)
    else:
        fig = attention_distribution(w, names, t=t)
    fig.update_layout(height=300)
    chart(fig, key=f"{key}_live_attention_chart")
    epochs, means, unreliable = live.attention_summary(events, mask)
    trend = attention_trend(epochs, means, names, unreliable, t=t)
    trend.update_layout(height=260)
    chart(trend, key=f"{key}_live_attention_trend")


# ---------------------------------------------------------------------------
# Explore: the frames saved with a run


@st.cache_data(show_spinner=False, max_entries=16)
def _frames_cached(path: str, signature: str) -> live.SavedFrames | None:
    return live.load_frames(path)


def explore_frames(
    path: str | Path, data: MapData, method: str
) -> tuple[MapData, np.ndarray] | None:
    """The run's live frames for Explore's map: (map data on their points and epochs,
    coordinates (E, P, 2)), or None when the run has none for ``method``."""
    from fusion.rundata import run_signature

    frames = _frames_cached(str(path), run_signature(path))
    return None if frames is None else live.explore_view(frames, data, method)
