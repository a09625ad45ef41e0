"""Explore's sections: the run's header line, and the tabs beside the map (metric cards and
table, training losses, attention weights, and the export panel with the run's main figures).

Figures come from :mod:`fusion.plots`; this module picks what to show and lays it out.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from fusion import plots
from fusion.rundata import points_frame
from fusion.runs import LoadedRun, RunInfo
from views.parts.explore_helpers import (
    PROJECTION_LABELS,
    data_label,
    headline_keys,
    loss_key,
    map_data,
    metric_cards,
    metrics_table,
    projection,
    show_status,
)
from views.parts.export_panel import export_panel
from views.parts.state import get_dataset
from views.parts.text import fmt, loss_label, method_label, presenter, t
from views.parts.widgets import chart, metrics_figure


def run_header(run: LoadedRun) -> None:
    """The run's one-line description (method, data, size, settings) and its status."""
    cfg = run.config
    source = data_label(cfg.get("data", {}) or {})
    train = cfg.get("train", {}) or {}
    n_val = run.run.get("n_val")
    n_val = f"{n_val:,}" if isinstance(n_val, int) else "?"
    if run.run.get("method") == "asis":  # no training: no epochs, learning rate or seed
        text = t(
            "explore.asis_run_header",
            method=method_label("asis"),
            source=source,
            n=n_val,
            created=run.run.get("created", "?"),
        )
    else:
        text = t(
            "explore.method_loss_data_source",
            method=method_label(run.run.get("method", "")),
            loss=loss_label(loss_key(run.run)),
            source=source,
            n=n_val,
            epochs=run.run.get("completed_epochs", "?"),
            lr=fmt(train.get("lr")),
            seed=train.get("seed", "?"),
            device=run.run.get("device", "?"),
            seconds=fmt(run.run.get("seconds")),
            created=run.run.get("created", "?"),
        )
    st.caption(text)
    show_status(run)


def metrics_section(run: LoadedRun) -> None:
    """The run's metric cards, with chance levels."""
    keys = headline_keys(run.metrics)
    if not keys:
        st.caption(t("explore.run_has_no_evaluation"))
        return
    metric_cards(run.metrics, keys)
    st.caption(rows_caption(run))
    rows = run.metrics.get("retrieval_rows")
    if rows is not None and "recall_at_1_mean" in keys:
        from fusion.metrics import RETRIEVAL_MAX_ROWS

        st.caption(t("explore.retrieval_rows_caption", rows=int(rows), max_rows=RETRIEVAL_MAX_ROWS))


def rows_caption(run: LoadedRun) -> str:
    """What the run's numbers rest on: its test rows, its cross-validation folds, or, for a
    run saved before test rows, the validation rows early stopping chose on."""
    if run.validation_reported:
        return t("baselines.validation_reported")
    rows, folds = int(run.metrics["test_rows"]), int(run.metrics.get("cv_folds", 0))
    if folds > 1:
        return t("baselines.rows_cv", rows=f"{rows:,}", folds=folds)
    return t("baselines.rows_test", rows=f"{rows:,}")


def all_metrics_section(run: LoadedRun) -> None:
    table = metrics_table(run.metrics)
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
    """Attention weights at one snapshot epoch: per sample, per class, against reliability,
    and per head for multi-head self-attention."""
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
    # (figure, caption) in reading order, laid out two per row (one in presenter mode) and a
    # last odd one across the page: stacking the later charts in one column left a tall empty area beside them.
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
            (plots.head_attention(h_w[j], mods, t=t), t("explore.multi_head_self_attention"))
        )
    per_row = 1 if presenter() else 2  # a projector's width holds one chart with large text
    for i in range(0, len(figures), per_row):
        row = figures[i : i + per_row]
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
    data = map_data(info.path)
    if data.epochs:
        coords = projection(info.path, "umap", 15, 0.1)
        points = points_frame(data, coords[-1])
        name = PROJECTION_LABELS["umap"]
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
