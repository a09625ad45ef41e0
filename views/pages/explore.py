"""Explore one run: its shared-space map through training, metrics, losses and attention.

The map stacks every modality's embeddings into one UMAP or PCA projection (McInnes et
al. 2018; Pearson 1901), aligned across training snapshots so the epoch slider and the
play button scrub through them. The projection is cached per (run folder, its mtime,
method, parameters): recolouring, toggling pair lines or scrubbing only rebuilds the
figure. Selecting points shows those samples and their nearest neighbours in the other
modality by cosine similarity at that epoch (cross-modal retrieval on the user's pairs).
"""

from __future__ import annotations

from functools import partial

import numpy as np
import streamlit as st

from fusion import plots
from fusion.metrics import COLLAPSE_FACTOR, spread, spread_factor
from fusion.rundata import MapData, points_frame
from fusion.runs import LoadedRun, RunInfo
from fusion.selection import event_rows
from views.parts.baselines import baselines_section
from views.parts.demo import demo_panel, demo_training, take_demo_replay
from views.parts.explore_asis import pretrained_section
from views.parts.explore_bigmap import big_map_section, choose_view
from views.parts.explore_helpers import (
    PROJECTION_LABELS,
    default_run,
    map_data,
    mark_selected,
    no_runs_state,
    projection,
    run_option_label,
    runs_listing,
    safe_load,
    trace_rows,
)
from views.parts.explore_sections import (
    all_metrics_section,
    attention_section,
    export_section,
    losses_section,
    metrics_section,
    run_header,
)
from views.parts.explore_selection import (
    neighbours_panel,
    selection_panel,
    store_rows,
    stored_rows,
)
from views.parts.live_map import explore_frames
from views.parts.selection_actions import restore_link_selection, selection_actions
from views.parts.state import set_active_run
from views.parts.text import presenter, t
from views.parts.widgets import chart, choice, scroll_into_view

RUN_KEY = "explore_run"
EPOCH_KEY = "explore_epoch"
METHOD_KEY = "explore_method"
METHOD_RUN_KEY = "explore_method_run"  # the run whose default projection METHOD_KEY holds
PLAY_KEY = "explore_playing"
MAP_KEY = "explore_map"
MAP_ROWS_KEY = "explore_map_rows"  # per trace of the map shown, its points' rows
PLAY_SECONDS = 0.9  # one snapshot per tick while playing


# ---------------------------------------------------------------------------
# Run picker and header


def _make_active() -> None:
    """A run picked here becomes the active run (before the sidebar is drawn)."""
    path = st.session_state.get(RUN_KEY)
    if path:
        set_active_run(path)


def pick_run(infos: list[RunInfo]) -> RunInfo:
    paths = [str(i.path) for i in infos]
    by_path = dict(zip(paths, infos, strict=True))
    default = default_run(infos)
    if st.session_state.get(RUN_KEY) not in by_path:
        st.session_state[RUN_KEY] = str(default.path) if default else paths[0]
    chosen = st.selectbox(
        t("explore.run"),
        paths,
        format_func=lambda p: run_option_label(by_path[p]),
        key=RUN_KEY,
        on_change=_make_active,
        help=t("explore.runs_runs_folder_newest"),
    )
    return by_path[chosen]


# ---------------------------------------------------------------------------
# Map, animation and selection


def _toggle_play(epochs: list[int]) -> None:
    playing = not st.session_state.get(PLAY_KEY, False)
    st.session_state[PLAY_KEY] = playing
    if playing and st.session_state.get(EPOCH_KEY) == epochs[-1]:
        st.session_state[EPOCH_KEY] = epochs[0]  # replay from the start


def _store_selection(path: str) -> None:
    """on_select callback: only a person's selection changes what is stored."""
    state = st.session_state.get(MAP_KEY)
    points = state.selection.points if state is not None else []
    rows = event_rows(points, st.session_state.get(MAP_ROWS_KEY) or [], row_in_customdata=2)
    store_rows(path, rows)


def map_controls(data: MapData) -> dict:
    c1, c2, c3 = st.columns([1.2, 2, 1.2], vertical_alignment="bottom")
    method = c1.segmented_control(
        t("explore.projection"),
        ["umap", "pca"],
        required=True,
        format_func=lambda m: PROJECTION_LABELS[m],
        key=METHOD_KEY,
        help=t("explore.umap_keeps_neighbourhoods_who"),
    )
    has_rel = bool(np.isfinite(data.meta["reliability"].to_numpy(dtype=float)).any())
    options = ["modality", "label"] + (["reliability"] if has_rel else [])
    color_by = choice(
        c2, t("explore.colour"), options, "explore_color", labels="explore.color_labels."
    )
    pairs = c3.toggle(
        t("explore.lines_joining_pairs"),
        value=False,
        key="explore_pairs",
        help=t("explore.thin_line_joins_points"),
    )
    n_neighbors = st.session_state.get("explore_nn", 15)
    min_dist = st.session_state.get("explore_md", 0.1)
    if not presenter():  # a projector shows the map, not UMAP's knobs
        n_neighbors, min_dist = advanced_map_settings()
    return {
        "method": method or "umap",
        "color_by": color_by if color_by in options else "modality",
        "pairs": pairs,
        "n_neighbors": n_neighbors,
        "min_dist": min_dist,
    }


def advanced_map_settings() -> tuple[int, float]:
    """UMAP's two knobs, folded away: (n_neighbors, min_dist)."""
    with st.expander(t("explore.advanced_map_settings")):
        a1, a2 = st.columns(2)
        n_neighbors = a1.slider(
            t("explore.umap_neighbours_n_neighbors"),
            5,
            100,
            15,
            key="explore_nn",
            help=t("explore.small_values_show_local"),
        )
        min_dist = a2.slider(
            t("explore.umap_minimum_distance_min"),
            0.0,
            0.99,
            0.1,
            step=0.01,
            key="explore_md",
            help=t("explore.how_tightly_umap_may"),
        )
        st.caption(t("explore.pca_has_no_settings"))
    return n_neighbors, min_dist


def map_section(info: RunInfo, run: LoadedRun) -> None:
    data = map_data(info.path)
    if not data.epochs:
        st.info(t("explore.run_saved_no_embedding"))
        return
    if data.dropped:
        st.warning(
            t(
                "explore.snapshots_epochs_epochs_hold",
                epochs=", ".join(map(str, data.dropped)),
            )
        )
    # A large run's map of every validation row (made after training), or the snapshots.
    if choose_view(info, len(data.meta)) == "all":
        big_map_section(info, run)
        return
    playing = bool(st.session_state.get(PLAY_KEY, False))

    @st.fragment(run_every=PLAY_SECONDS if playing else None)
    def live_map() -> None:
        _live_map(info, run, data)

    live_map()


def _collapse_warning(data: MapData, factor: float, method: str) -> None:
    """Say that the cloud shrank ``factor`` times over training, and how this map shows it."""
    epochs = data.epochs
    key = "explore.collapse_pca" if method == "pca" else "explore.collapse_umap"
    st.warning(
        t(
            key,
            first=f"{spread(data.Z[0])['spread']:.3g}",  # significant digits: tiny
            last=f"{spread(data.Z[-1])['spread']:.3g}",  # spreads must not read as 0
            e0=epochs[0],
            e1=epochs[-1],
            factor=f"{factor:,.0f}" if np.isfinite(factor) else "∞",
        ),
        icon=":material/compress:",
    )


def _advance_play(epochs: list[int]) -> bool:
    """Keep the slider on a snapshot; while playing, step it on. Returns whether playing."""
    playing = bool(st.session_state.get(PLAY_KEY, False))
    if st.session_state.get(EPOCH_KEY) not in epochs:  # a replay starts at the first
        st.session_state[EPOCH_KEY] = epochs[0] if playing else epochs[-1]
        return playing
    if playing:
        i = epochs.index(st.session_state[EPOCH_KEY])
        if i + 1 < len(epochs):
            st.session_state[EPOCH_KEY] = epochs[i + 1]
        else:
            st.session_state[PLAY_KEY] = False
            st.rerun()  # the whole page, so the fragment stops ticking
    return playing


def _live_map(info: RunInfo, run: LoadedRun, data: MapData) -> None:
    path = str(info.path)
    factor = spread_factor(data.Z[0], data.Z[-1]) if len(data.epochs) > 1 else 1.0
    collapsed = factor >= COLLAPSE_FACTOR
    if METHOD_KEY not in st.session_state or st.session_state.get(METHOD_RUN_KEY, path) != path:
        # Each run opens on its own default: a collapsed run on PCA with fixed axes, where
        # the shrinking cloud shows; UMAP would rescale it to a healthy-looking one.
        st.session_state[METHOD_KEY] = "pca" if collapsed else "umap"
    st.session_state[METHOD_RUN_KEY] = path
    opts = map_controls(data)
    # The frames drawn while training, when the run kept them: the same map, not a second.
    saved = explore_frames(info.path, data, opts["method"])
    data = data if saved is None else saved[0]
    epochs = data.epochs
    playing = _advance_play(epochs)
    if collapsed:
        _collapse_warning(data, factor, opts["method"])
    s1, s2 = st.columns([5, 2], vertical_alignment="bottom")
    if len(epochs) > 1:
        epoch = s1.select_slider(
            t("explore.training_epoch_snapshot"),
            epochs,
            key=EPOCH_KEY,
            help=t("explore.scrub_through_snapshots_saved"),
        )
        label = t("explore.pause") if playing else t("explore.play")
        if s2.button(
            label,
            key="explore_play",
            on_click=_toggle_play,
            args=(epochs,),
            type="secondary" if playing else "primary",  # the invitation to watch the replay
            width="stretch",
        ):
            st.rerun()  # start or stop the fragment's timer
    else:
        epoch = epochs[0]
        s1.caption(t("explore.one_snapshot_only_epoch", e=epoch))

    coords = (
        saved[1]
        if saved is not None
        else projection(info.path, opts["method"], opts["n_neighbors"], opts["min_dist"])
    )  # (E, n, 2), cached
    e_idx = epochs.index(epoch)
    points = points_frame(data, coords[e_idx])
    restore_link_selection(path, data)  # a shared link's ?sel=, once
    selected = stored_rows(path)
    method_name = PROJECTION_LABELS[opts["method"]]
    fig = plots.shared_space(
        points,
        color_by=opts["color_by"],
        show_pairs=opts["pairs"],
        title=t("explore.shared_space_epoch_e", e=epoch, method=method_name),
        colors=plots.modality_color_map(list(dict.fromkeys(points["modality"]))),
        axis_labels=(t("explore.m_1", m=method_name), t("explore.m_2", m=method_name)),
        t=t,
    )
    if opts["method"] == "pca":
        # A fixed frame for the whole run: a collapsing model visibly shrinks.
        lo, hi = coords.reshape(-1, 2).min(0), coords.reshape(-1, 2).max(0)
        pad = 0.05 * (hi - lo + 1e-9)
        fig.update_xaxes(range=[lo[0] - pad[0], hi[0] + pad[0]])
        fig.update_yaxes(range=[lo[1] - pad[1], hi[1] + pad[1]])
    mark_selected(fig, set(selected))
    st.session_state[MAP_ROWS_KEY] = trace_rows(fig)  # what a selection event refers to
    # Dragging pans, so a click picks a point: Streamlit turns click-selection off while
    # the lasso or box tool is active. Each selection's rerun brings the map back to pan, so
    # a lasso from the toolbar can be followed by a click.
    fig.update_layout(height=620, dragmode="pan")

    left, right = st.columns([3, 2], gap="medium")
    with left:
        chart(
            fig,
            key=MAP_KEY,
            on_select=partial(_store_selection, path),
            selection_mode=("points", "box", "lasso"),
            width="stretch",
            config={"displaylogo": False},
        )
        st.caption(
            t(
                "explore.n_points_s_samples",
                n=f"{len(points):,}",
                s=f"{points['sample'].nunique():,}",
                m=points["modality"].nunique(),
            )
        )
        selection_actions(run, data, selected, path, e_idx, coords[e_idx])
    with right:
        queries = selection_panel(run, data, selected, path)
    if queries:
        neighbours_panel(run, data, e_idx, epoch, queries)


# ---------------------------------------------------------------------------


def main() -> None:
    st.title(t("explore.explore_run"))
    if demo_training():  # a Home demo lands here at once; its run follows when it is saved
        demo_panel("explore")
        return
    infos = runs_listing()
    if not infos:
        no_runs_state("explore")
    info = pick_run(infos)
    replay = take_demo_replay(info.path)
    if replay:  # a Home demo's run opens replaying the space forming from its first frame
        st.session_state[PLAY_KEY] = True
        st.session_state.pop(EPOCH_KEY, None)
    run = safe_load(info)
    if run is None:
        st.stop()
    run_header(run)
    metrics_section(run)
    baselines_section(run)  # logistic regression on the same split, and the verdict
    names = [
        t("explore.shared_space"),
        t("explore.training"),
        t("explore.all_metrics"),
        t("explore.export"),
    ]
    has_attention = run.attention is not None and len(run.attention) > 0
    if has_attention:
        names.insert(1, t("explore.attention_2"))
    if run.run.get("method") == "asis":  # pretrained vectors as they are: gap shift, adapter
        names.insert(1, t("pretrained.tab"))
    # Lazy tabs: only the open tab's content runs (the map's play timer included).
    tabs = dict(zip(names, st.tabs(names, key="explore_tab", on_change="rerun"), strict=True))
    sections = {
        names[0]: lambda: map_section(info, run),
        t("explore.attention_2"): lambda: attention_section(run),
        t("pretrained.tab"): lambda: pretrained_section(info, run),
        t("explore.training"): lambda: losses_section(run),
        t("explore.all_metrics"): lambda: all_metrics_section(run),
        t("explore.export"): lambda: export_section(info, run),
    }
    for name, tab in tabs.items():
        if tab.open:
            with tab:
                sections[name]()
    if replay:  # the replay in view: its controls at the top of the window
        scroll_into_view(METHOD_KEY)


main()
