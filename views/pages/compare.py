"""Compare 2-4 runs: overlaid training losses, a metric table with chance levels, their
maps side by side and how their embedding spread evolved.

The typical use: the seed article's alignment objective against InfoNCE (CLIP; Radford
et al. 2021) on the same data and seed. The seed objective has no repulsive term, so its
spread (mean per-dimension standard deviation, the collapse signal of VICReg, Bardes et
al. 2022) falls towards zero while InfoNCE's stays put.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from fusion import plots
from fusion.metric_names import headline_keys, metric_name
from fusion.rundata import points_frame
from fusion.runs import LoadedRun, RunInfo
from views.parts.baselines import compare_baselines
from views.parts.compare_adapter import before_after
from views.parts.evaluate import evaluate_section
from views.parts.explore_helpers import (
    PROJECTION_LABELS,
    STATUS_ICONS,
    data_label,
    loss_key,
    map_data,
    metric_keys,
    no_runs_state,
    projection,
    run_option_label,
    runs_listing,
    safe_load,
    spread,
)
from views.parts.links import get_active_run
from views.parts.text import fmt, language, loss_label, method_label, status_label, t
from views.parts.widgets import chart, choice
from views.site import TRAIN

RUNS_KEY = "compare_runs"
MAX_RUNS = 4


def pick_runs(infos: list[RunInfo]) -> list[RunInfo]:
    healthy = [i for i in infos if not i.damaged]
    damaged = [i for i in infos if i.damaged]
    if damaged:
        with st.expander(t("compare.n_damaged_run_s", n=len(damaged))):
            for i in damaged:
                st.caption(run_option_label(i))
    by_path = {str(i.path): i for i in healthy}
    if RUNS_KEY not in st.session_state:
        active = get_active_run()
        first = [str(i.path) for i in healthy if active and str(i.path) == str(active)]
        rest = [p for p in by_path if p not in first]
        st.session_state[RUNS_KEY] = (first + rest)[:2]
    else:  # drop runs deleted since
        st.session_state[RUNS_KEY] = [p for p in st.session_state[RUNS_KEY] if p in by_path]
    chosen = st.multiselect(
        t("compare.runs_compare_2_4"),
        list(by_path),
        format_func=lambda p: run_option_label(by_path[p]),
        max_selections=MAX_RUNS,
        key=RUNS_KEY,
        help=t("compare.try_seed_objective_against"),
    )
    return [by_path[p] for p in chosen]


def runs_summary(runs: dict[str, LoadedRun]) -> None:
    rows = []
    for name, r in runs.items():
        train = r.config.get("train", {}) or {}
        data = r.config.get("data", {}) or {}
        rows.append(
            {
                t("compare.run"): name,
                t("compare.method"): method_label(r.run.get("method", "")),
                t("compare.loss"): loss_label(loss_key(r.run)),
                t("compare.data"): data_label(data),
                t("compare.epochs"): r.run.get("completed_epochs"),
                t("compare.seed"): train.get("seed"),
                t("compare.status"): f"{STATUS_ICONS.get(r.run.get('status', ''), '❔')} "
                f"{status_label(str(r.run.get('status', '?')))}",
            }
        )
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    datas = {str((r.config.get("data") or {}).get("generator")) for r in runs.values()}
    seeds = {(r.config.get("train") or {}).get("seed") for r in runs.values()}
    if len(datas) > 1 or len(seeds) > 1:
        st.caption(t("compare.these_runs_differ_data"))


def losses_chart(runs: dict[str, LoadedRun]) -> None:
    frames = []
    for name, r in runs.items():
        if "train_loss" in r.epochs.columns:
            frames.append(r.epochs[["epoch", "train_loss"]].rename(columns={"train_loss": name}))
    if not frames:
        st.info(t("compare.none_these_runs_logged"))
        return
    df = frames[0]
    for f in frames[1:]:
        df = df.merge(f, on="epoch", how="outer")
    df = df.sort_values("epoch")
    log_y = st.toggle(
        t("compare.logarithmic_loss_axis"),
        value=True,
        key="compare_log_loss",
        help=t("compare.different_losses_live_different"),
    )
    fig = plots.loss_curves(
        df,
        parts=[c for c in df.columns if c != "epoch"],
        x="epoch",
        log_y=log_y,
        title=t("compare.total_training_loss_per"),
        t=t,
    )
    fig.update_layout(legend=dict(title=dict(text=t("compare.run"))))
    chart(fig, width="stretch")
    st.caption(t("compare.losses_different_objectives_are"))


def metric_table(runs: dict[str, LoadedRun]) -> None:
    keys: list[str] = []
    for r in runs.values():
        keys += [k for k in metric_keys(r.metrics) if k not in keys]
    keys = [k for k in keys if not k.endswith("_uniform_chance")]
    headline = headline_keys(dict.fromkeys(keys), "card")
    keys = headline + [k for k in keys if k not in headline]  # the summaries first
    rows = []
    for k in keys:
        row = {t("compare.metric"): metric_name(k, language())}
        for name, r in runs.items():
            row[name] = fmt(r.metrics.get(k))
        chances = [r.metrics.get(f"{k}_chance") for r in runs.values()]
        shown = list(dict.fromkeys(fmt(c) for c in chances if c is not None))
        row[t("compare.chance")] = " / ".join(shown) if shown else "–"
        rows.append(row)
    st.dataframe(
        pd.DataFrame(rows), hide_index=True, width="stretch", height=min(600, 38 + 35 * len(rows))
    )
    st.caption(t("compare.means_run_has_no"))


def maps(infos: list[RunInfo]) -> None:
    c1, c2 = st.columns(2)
    method = choice(
        c1,
        t("compare.projection"),
        ["pca", "umap"],
        "compare_method",
        format_func=PROJECTION_LABELS.get,
        help=t("compare.pca_keeps_spread_so"),
    )
    method = method or "pca"
    color_by = c2.segmented_control(
        t("compare.colour"),
        ["modality", "label"],
        default="modality",
        required=True,
        format_func=lambda c: (
            t("compare.modality") if c == "modality" else t("compare.class_label")
        ),
        key="compare_color",
    )
    per_row = 2
    maps_ = {}
    for i in infos:
        d = map_data(i.path)
        maps_[i.name] = (d, projection(i.path, method, last_only=True)[0] if d.epochs else None)
    shown = [c for _, c in maps_.values() if c is not None]
    # PCA keeps scale, so one shared frame makes a collapsed run visibly small.
    extent = max(float(abs(c).max()) for c in shown) * 1.05 if shown else 1.0
    for start in range(0, len(infos), per_row):
        cols = st.columns(per_row)
        for col, info in zip(cols, infos[start : start + per_row], strict=False):
            with col:
                data, coords = maps_[info.name]
                if coords is None:
                    st.info(t("compare.name_no_embedding_snapshots", name=info.name))
                    continue
                points = points_frame(data, coords)
                name = PROJECTION_LABELS[method]
                fig = plots.shared_space(
                    points,
                    color_by=color_by or "modality",
                    title=t("compare.run_epoch_e", run=info.name, e=data.epochs[-1]),
                    colors=plots.modality_color_map(list(dict.fromkeys(points["modality"]))),
                    axis_labels=(t("compare.m_1", m=name), t("compare.m_2", m=name)),
                    t=t,
                )
                fig.update_layout(height=460, legend=dict(orientation="h", y=-0.2))
                if method == "pca":
                    fig.update_xaxes(range=[-extent, extent])
                    fig.update_yaxes(range=[-extent, extent])
                chart(fig, width="stretch", key=f"compare_map_{start}_{info.name}")
    if method == "pca":
        st.caption(t("compare.pca_maps_share_one"))


def spread_chart(infos: list[RunInfo]) -> None:
    frames = [spread(i.path, i.name) for i in infos]
    df = pd.concat([f for f in frames if len(f)], ignore_index=True) if frames else pd.DataFrame()
    if df.empty:
        st.info(t("compare.no_embedding_snapshots_measure"))
        return
    chart(plots.embedding_spread(df, t=t), width="stretch")
    st.caption(t("compare.spread_mean_per_dimension"))


def main() -> None:
    st.title(t("compare.compare_runs"))
    evaluate_section()  # cross-validation on the active data set, before any run is needed
    infos = runs_listing()
    if not infos:
        no_runs_state("compare")
    chosen = pick_runs(infos)
    if len([i for i in infos if not i.damaged]) < 2:
        st.info(
            t("compare.comparing_needs_least_two"),
            icon="⚖️",
        )
        if st.button(t("compare.go_train"), key="compare_to_train_one", type="primary"):
            st.switch_page(TRAIN.script)
        st.stop()
    if len(chosen) < 2:
        st.info(t("compare.pick_least_two_runs"), icon="☝️")
        st.stop()
    loaded: dict[str, LoadedRun] = {}
    ok: list[RunInfo] = []
    for info in chosen:
        run = safe_load(info)
        if run is not None:
            loaded[info.name] = run
            ok.append(info)
    if len(loaded) < 2:
        st.stop()
    runs_summary(loaded)
    before_after(loaded)  # pretrained vectors as they are beside an adapter on them
    st.subheader(t("compare.training_loss"))
    losses_chart(loaded)
    st.subheader(t("compare.metrics"))
    metric_table(loaded)
    st.subheader(t("baselines.compare_title"))
    compare_baselines(loaded)
    st.subheader(t("compare.embedding_spread_over_training"))
    spread_chart(ok)
    st.subheader(t("compare.shared_space_last_epoch"))
    maps(ok)


main()
