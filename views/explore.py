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
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from fusion import plots
from fusion.metrics import COLLAPSE_FACTOR, spread, spread_factor
from fusion.runs import LoadedRun, RunInfo
from views import _explore_helpers as H
from views._export_panel import export_panel
from views._shared import (
    chart,
    demo_panel,
    demo_training,
    fmt,
    get_dataset,
    loss_label,
    method_label,
    metrics_figure,
    presenter,
    set_active_run,
    t,
)

RUN_KEY = "explore_run"
EPOCH_KEY = "explore_epoch"
METHOD_KEY = "explore_method"
METHOD_RUN_KEY = "explore_method_run"  # the run whose default projection METHOD_KEY holds
PLAY_KEY = "explore_playing"
SELECTION_KEY = "explore_selection"
MAP_KEY = "explore_map"
MAP_ROWS_KEY = "explore_map_rows"  # per trace of the map shown, its points' rows
PLAY_SECONDS = 0.9  # one snapshot per tick while playing
MAX_QUERIES = 12  # selected points described in detail (the rest are counted)


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
    default = H.default_run(infos)
    if st.session_state.get(RUN_KEY) not in by_path:
        st.session_state[RUN_KEY] = str(default.path) if default else paths[0]
    chosen = st.selectbox(
        t("explore.run"),
        paths,
        format_func=lambda p: H.run_option_label(by_path[p]),
        key=RUN_KEY,
        on_change=_make_active,
        help=t("explore.runs_runs_folder_newest"),
    )
    return by_path[chosen]


def header(run: LoadedRun) -> None:
    cfg = run.config
    source = H.data_label(cfg.get("data", {}) or {})
    train = cfg.get("train", {}) or {}
    st.caption(
        t(
            "explore.method_loss_data_source",
            method=method_label(run.run.get("method", "")),
            loss=loss_label(H.loss_key(run.run)),
            source=source,
            n=run.run.get("n_val", "?"),
            epochs=run.run.get("completed_epochs", "?"),
            lr=fmt(train.get("lr")),
            seed=train.get("seed", "?"),
            device=run.run.get("device", "?"),
            seconds=fmt(run.run.get("seconds")),
            created=run.run.get("created", "?"),
        )
    )
    H.show_status(run)


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
    rows = H.selected_rows(points, st.session_state.get(MAP_ROWS_KEY) or [])
    st.session_state[SELECTION_KEY] = {"run": path, "rows": rows}


def _stored_rows(path: str) -> list[int]:
    sel = st.session_state.get(SELECTION_KEY) or {}
    return list(sel.get("rows", [])) if sel.get("run") == path else []


def map_controls(data: H.MapData) -> dict:
    c1, c2, c3 = st.columns([1.2, 2, 1.2], vertical_alignment="bottom")
    method = c1.segmented_control(
        t("explore.projection"),
        ["umap", "pca"],
        required=True,
        format_func=lambda m: H.PROJECTION_LABELS[m],
        key=METHOD_KEY,
        help=t("explore.umap_keeps_neighbourhoods_who"),
    )
    has_rel = bool(np.isfinite(data.meta["reliability"].to_numpy(dtype=float)).any())
    options = ["modality", "label"] + (["reliability"] if has_rel else [])
    color_by = c2.segmented_control(
        t("explore.colour"),
        options,
        default="modality",
        required=True,
        format_func=lambda c: t(f"explore.color_labels.{c}"),
        key="explore_color",
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
    data = H.map_data(info.path)
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
    playing = bool(st.session_state.get(PLAY_KEY, False))

    @st.fragment(run_every=PLAY_SECONDS if playing else None)
    def live_map() -> None:
        _live_map(info, run, data)

    live_map()


def _live_map(info: RunInfo, run: LoadedRun, data: H.MapData) -> None:
    epochs = data.epochs
    path = str(info.path)
    if st.session_state.get(EPOCH_KEY) not in epochs:
        st.session_state[EPOCH_KEY] = epochs[-1]
    playing = bool(st.session_state.get(PLAY_KEY, False))
    if playing:
        i = epochs.index(st.session_state[EPOCH_KEY])
        if i + 1 < len(epochs):
            st.session_state[EPOCH_KEY] = epochs[i + 1]
        else:
            st.session_state[PLAY_KEY] = False
            st.rerun()  # the whole page, so the fragment stops ticking

    factor = spread_factor(data.Z[0], data.Z[-1]) if len(epochs) > 1 else 1.0
    collapsed = factor >= COLLAPSE_FACTOR
    if METHOD_KEY not in st.session_state or st.session_state.get(METHOD_RUN_KEY, path) != path:
        # Each run opens on its own default: a collapsed run on PCA with fixed axes, where
        # the shrinking cloud shows; UMAP would rescale it to a healthy-looking one.
        st.session_state[METHOD_KEY] = "pca" if collapsed else "umap"
    st.session_state[METHOD_RUN_KEY] = path
    opts = map_controls(data)
    if collapsed:
        key = "explore.collapse_pca" if opts["method"] == "pca" else "explore.collapse_umap"
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
    s1, s2 = st.columns([6, 1], vertical_alignment="bottom")
    if len(epochs) > 1:
        epoch = s1.select_slider(
            t("explore.training_epoch_snapshot"),
            epochs,
            key=EPOCH_KEY,
            help=t("explore.scrub_through_snapshots_saved"),
        )
        label = t("explore.pause") if playing else t("explore.play")
        if s2.button(
            label, key="explore_play", on_click=_toggle_play, args=(epochs,), width="stretch"
        ):
            st.rerun()  # start or stop the fragment's timer
    else:
        epoch = epochs[0]
        s1.caption(t("explore.one_snapshot_only_epoch", e=epoch))

    coords = H.projection(
        info.path, opts["method"], opts["n_neighbors"], opts["min_dist"]
    )  # (E, n, 2), cached
    e_idx = epochs.index(epoch)
    points = H.points_frame(data, coords[e_idx])
    selected = _stored_rows(path)
    method_name = H.PROJECTION_LABELS[opts["method"]]
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
    H.mark_selected(fig, set(selected))
    st.session_state[MAP_ROWS_KEY] = H.trace_rows(fig)  # what a selection event refers to
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
    with right:
        queries = selection_panel(run, data, selected, path)
    if queries:
        neighbours_panel(run, data, e_idx, epoch, queries)


def _spread_over_modalities(rows: list[int], modality: np.ndarray, k: int) -> list[int]:
    """Up to k rows, taken in turn from each modality so none crowds the others out."""
    groups = [[r for r in rows if modality[r] == m] for m in dict.fromkeys(modality[rows])]
    out: list[int] = []
    for i in range(max(map(len, groups), default=0)):
        out += [g[i] for g in groups if i < len(g)]
    return sorted(out[:k])


def selection_panel(run: LoadedRun, data: H.MapData, rows: list[int], path: str) -> list[int]:
    """The selected samples' content; returns the rows described (at most MAX_QUERIES)."""
    st.subheader(t("explore.selected_points"))
    if not rows:
        st.info(
            t("explore.lasso_box_select_points"),
            icon="👆",
        )
        return []
    meta = data.meta
    n_samples = meta.loc[rows, "sample"].nunique()
    c1, c2 = st.columns([3, 1], vertical_alignment="center")
    c1.caption(
        t("explore.n_points_selected_s", n=len(rows), s=n_samples)
        + (t("explore.showing_first_k", k=MAX_QUERIES) if len(rows) > MAX_QUERIES else "")
    )
    if c2.button(t("explore.clear"), key="explore_clear_sel"):
        st.session_state[SELECTION_KEY] = {"run": path, "rows": []}
        st.rerun(scope="fragment")
    queries = _spread_over_modalities(rows, meta["modality"].to_numpy(), MAX_QUERIES)
    show_samples(run, meta, queries)
    return queries


def neighbours_panel(
    run: LoadedRun, data: H.MapData, e_idx: int, epoch: int, queries: list[int]
) -> None:
    meta = data.meta
    if meta["modality"].nunique() < 2:
        return
    st.subheader(t("explore.nearest_neighbours_other_modality"))
    k = st.slider(t("explore.neighbours_k"), 1, 10, 5, key="explore_k", width=320)
    nb = H.cross_modal_neighbours(data.Z[e_idx], meta, queries, k=k)
    if nb.empty:
        return
    per_query = nb.groupby(["query_row", "target_modality"], sort=False)
    found = per_query["is_partner"].any()
    st.caption(
        t(
            "explore.cosine_similarity_stored_embeddings",
            e=epoch,
            k=k,
            hit=int(found.sum()),
            total=len(found),
        )
    )
    label_name = meta["label_name"].astype(str).to_numpy()
    ids = meta["id"].astype(str).to_numpy()
    table = []
    for (q, target), g in per_query:
        partner_rank = int(g["partner_rank"].iloc[0])
        same_class = int((label_name[g["row"].to_numpy()] == label_name[q]).sum())
        table.append(
            {
                t("explore.selected"): f"{meta.at[q, 'modality']} #{ids[q]}",
                t("explore.class"): label_name[q],
                t("explore.searched"): target,
                t("explore.partner_top_k", k=k): "✅" if g["is_partner"].any() else "❌",
                t("explore.partner_rank"): partner_rank if partner_rank > 0 else None,
                t("explore.same_class"): f"{same_class}/{len(g)}",
                t("explore.nearest_id_class_cosine"): "   ".join(
                    f"#{ids[r]}{' ✓' if p else ''} ({label_name[r]}, {s:.2f})"
                    for r, p, s in zip(g["row"], g["is_partner"], g["similarity"], strict=True)
                ),
            }
        )
    st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch")

    # One query in detail: what its neighbours look like.
    choices = list(dict.fromkeys(nb["query_row"]))
    q = st.selectbox(
        t("explore.show_what_neighbours_point"),
        choices,
        format_func=lambda r: f"{meta.at[r, 'modality']} #{ids[r]} ({label_name[r]})",
        key="explore_detail_query",
    )
    sub = nb[nb["query_row"] == q]
    for target, g in sub.groupby("target_modality", sort=False):
        marks = [t("explore.partner") if p else "" for p in g["is_partner"]]
        show_samples(
            run,
            meta,
            list(g["row"]),
            extra=[f"{m} {s:.2f}".strip() for m, s in zip(marks, g["similarity"], strict=True)],
            heading=t("explore.top_k_m", k=len(g), m=target),
        )


def show_samples(
    run: LoadedRun,
    meta: pd.DataFrame,
    rows: list[int],
    extra: list[str] | None = None,
    heading: str | None = None,
) -> None:
    """The content behind map points: images, captions or feature values, per modality."""
    samples = run.samples
    if samples is None:
        st.caption(t("explore.run_did_not_save"))
        return
    texts = samples.texts or {}
    extra = extra or [""] * len(rows)
    mods = meta.loc[rows, "modality"].to_numpy()
    for m in dict.fromkeys(mods):
        idx = [i for i, mm in enumerate(mods) if mm == m]
        r = [rows[i] for i in idx]
        s = meta.loc[r, "sample"].to_numpy(dtype=int)
        labels = meta.loc[r, "label_name"].astype(str).to_numpy()
        ids = meta.loc[r, "id"].astype(str).to_numpy()
        notes = [extra[i] for i in idx]
        st.markdown(f"**{heading or t('explore.selected_2')} · {m}**")
        arr = samples.modalities.get(m)
        if m in texts:
            st.dataframe(
                pd.DataFrame(
                    {
                        t("explore.id"): ids,
                        t("explore.label"): labels,
                        t("explore.caption"): [texts[m][i] for i in s],
                        **({t("explore.note"): notes} if any(notes) else {}),
                    }
                ),
                hide_index=True,
                width="stretch",
            )
        elif arr is not None and arr.ndim == 3:
            captions = [
                f"#{i} · {lab} {n}".strip() for i, lab, n in zip(ids, labels, notes, strict=True)
            ]
            fig = plots.image_grid(arr[s], captions, n_cols=min(5, len(s)), title=" ", t=t)
            fig.update_layout(height=max(150, 130 * -(-len(s) // 5) + 40), margin=dict(t=40))
            chart(fig, width="stretch", config={"displayModeBar": False})
        elif arr is not None:
            flat = arr[s].reshape(len(s), -1)
            n_show = min(8, flat.shape[1])
            df = pd.DataFrame(
                np.round(flat[:, :n_show], 2), columns=[f"x{j}" for j in range(n_show)]
            )
            df.insert(0, t("explore.label"), labels)
            df.insert(0, t("explore.id"), ids)
            if any(notes):
                df.insert(2, t("explore.note"), notes)
            st.dataframe(df, hide_index=True, width="stretch")
            if flat.shape[1] > n_show:
                st.caption(t("explore.first_k_d_feature", k=n_show, d=flat.shape[1]))
        else:
            st.caption(", ".join(f"#{i} ({lab})" for i, lab in zip(ids, labels, strict=True)))


# ---------------------------------------------------------------------------
# Metrics, losses, attention


def metrics_section(run: LoadedRun) -> None:
    keys = H.headline_keys(run.metrics)
    if not keys:
        st.caption(t("explore.run_has_no_evaluation"))
        return
    H.metric_cards(run.metrics, keys)
    rows = run.metrics.get("retrieval_rows")
    if rows is not None and "recall_at_1_mean" in keys:
        from fusion.metrics import RETRIEVAL_MAX_ROWS

        st.caption(
            t("explore.retrieval_rows_caption", rows=int(rows), max_rows=RETRIEVAL_MAX_ROWS)
        )


def all_metrics_section(run: LoadedRun) -> None:
    table = H.metrics_table(run.metrics)
    if table.empty:
        st.info(t("explore.run_has_no_evaluation"))
        return
    st.caption(t("explore.validation_metrics_after_training"))
    st.dataframe(table, hide_index=True, width="stretch")


def losses_section(run: LoadedRun) -> None:
    steps = run.steps
    if steps is None or steps.empty:
        st.info(t("explore.run_logged_no_optimisation"))
        return
    parts = [c for c in steps.columns if c not in ("step", "epoch")]
    parts = sorted(parts, key=lambda c: c != "loss")  # the total first
    log_y = st.toggle(t("explore.logarithmic_loss_axis"), key="explore_log_loss")
    if log_y and (steps[parts] <= 0).any().any():
        st.caption(t("explore.only_positive_values_can"))
    fig = plots.loss_curves(
        steps, parts=parts, x="step", log_y=log_y, title=t("explore.training_loss_per_step"), t=t
    )
    chart(fig, width="stretch")
    st.caption(t("explore.loss_what_optimiser_minimised"))


def attention_section(run: LoadedRun) -> None:
    att = run.attention
    mods = run.modalities
    epochs = sorted(int(e) for e in att["epoch"].unique())
    c1, c2 = st.columns([3, 2])
    with c1:
        epoch = (
            st.select_slider(t("explore.epoch"), epochs, value=epochs[-1], key="explore_att_epoch")
            if len(epochs) > 1
            else epochs[0]
        )
    sort_options = [None, "label", *mods]
    with c2:
        sort_by = st.selectbox(
            t("explore.sort_samples"),
            sort_options,
            format_func=lambda s: (
                t("explore.data_order")
                if s is None
                else t("explore.class")
                if s == "label"
                else t("explore.weight_m", m=s)
            ),
            index=2 if len(mods) else 0,  # by the first modality's weight: a clean gradient
            key="explore_att_sort",
        )
    a = att[att["epoch"] == epoch].sort_values("sample")
    W = a[[f"weight_{m}" for m in mods]].to_numpy(dtype=float)
    labels = a["label"].to_numpy()
    names = run.samples.label_names if run.samples is not None else None
    has_labels = names is not None and (labels >= 0).all()
    colors = plots.modality_color_map(mods)
    if sort_by == "label" and not has_labels:
        sort_by = None
    # (figure, caption) in reading order, laid out two per row and a last odd one across
    # the page: stacking the later charts in one column left a tall empty area beside them.
    figures: list[tuple[Any, str | None]] = [
        (
            plots.attention_heatmap(
                W,
                mods,
                sort_by=sort_by,
                labels=labels if has_labels else None,
                label_names=names,
                title=t("explore.attention_weights_per_sample", e=epoch),
                t=t,
            ),
            None,
        )
    ]
    if has_labels:
        figures.append((plots.attention_by_class(W, labels, names, mods, colors=colors, t=t), None))
    mask_cols = [f"mask_{m}" for m in mods]
    if all(c in a.columns for c in mask_cols):
        figures.append(
            (
                plots.attention_vs_reliability(
                    W, a[mask_cols].to_numpy(), mods, colors=colors, t=t
                ),
                t("explore.model_learned_which_modality"),
            )
        )
    if run.head_weights is not None:
        h_epochs, h_w = run.head_weights
        h_epochs = [int(e) for e in h_epochs]
        j = h_epochs.index(epoch) if epoch in h_epochs else len(h_epochs) - 1
        figures.append(
            (H.head_attention_figure(h_w[j], mods), t("explore.multi_head_self_attention"))
        )
    for i in range(0, len(figures), 2):
        row = figures[i : i + 2]
        for column, (fig, caption) in zip(st.columns(len(row)), row, strict=True):
            with column:
                chart(fig, width="stretch")
                if caption:
                    st.caption(caption)


# ---------------------------------------------------------------------------
# Export


def export_figures(info: RunInfo, run: LoadedRun) -> dict[str, Any]:
    """The run's main figures, for download as HTML or PNG."""
    figures: dict[str, Any] = {}
    data = H.map_data(info.path)
    if data.epochs:
        coords = H.projection(info.path, "umap", 15, 0.1)
        points = H.points_frame(data, coords[-1])
        name = H.PROJECTION_LABELS["umap"]
        figures[t("explore.shared_space")] = plots.shared_space(
            points,
            title=t("explore.shared_space_epoch_e", e=data.epochs[-1], method=name),
            colors=plots.modality_color_map(list(dict.fromkeys(points["modality"]))),
            axis_labels=(t("explore.m_1", m=name), t("explore.m_2", m=name)),
            t=t,
        )
    if run.steps is not None and not run.steps.empty:
        figures[t("explore.training")] = plots.loss_curves(
            run.steps, x="step", title=t("explore.training_loss_per_step"), t=t
        )
    bars = metrics_figure(run.metrics, title=t("explore.all_metrics"))
    if bars is not None:
        figures[t("explore.all_metrics")] = bars
    if run.attention is not None and len(run.attention) > 0:
        a = run.attention[run.attention["epoch"] == run.attention["epoch"].max()]
        mods = run.modalities
        figures[t("explore.attention_2")] = plots.attention_heatmap(
            a[[f"weight_{m}" for m in mods]].to_numpy(dtype=float), mods, t=t
        )
    return figures


def export_section(info: RunInfo, run: LoadedRun) -> None:
    export_panel(info.path, export_figures(info, run), data=get_dataset(), key="explore_export")


# ---------------------------------------------------------------------------


def main() -> None:
    st.title(t("explore.explore_run"))
    if demo_training():  # a Home demo lands here at once; its run follows when it is saved
        demo_panel("explore")
        return
    infos = H.runs_listing()
    if not infos:
        H.no_runs_state("explore")
    info = pick_run(infos)
    run = H.safe_load(info)
    if run is None:
        st.stop()
    header(run)
    metrics_section(run)
    names = [
        t("explore.shared_space"),
        t("explore.training"),
        t("explore.all_metrics"),
        t("explore.export"),
    ]
    has_attention = run.attention is not None and len(run.attention) > 0
    if has_attention:
        names.insert(1, t("explore.attention_2"))
    # Lazy tabs: only the open tab's content runs (the map's play timer included).
    tabs = dict(zip(names, st.tabs(names, key="explore_tab", on_change="rerun"), strict=True))
    sections = {
        names[0]: lambda: map_section(info, run),
        t("explore.attention_2"): lambda: attention_section(run),
        t("explore.training"): lambda: losses_section(run),
        t("explore.all_metrics"): lambda: all_metrics_section(run),
        t("explore.export"): lambda: export_section(info, run),
    }
    for name, tab in tabs.items():
        if tab.open:
            with tab:
                sections[name]()


main()
