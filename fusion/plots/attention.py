"""Attention figures: weights per sample, by class, against reliability, per head."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from fusion.errors import DataError
from fusion.plots.style import (
    MISSING_COLOR,
    TRANSPARENT,
    Translate,
    _finish,
    _tr,
    modality_color_map,
    rgba,
)


def _weights(weights: np.ndarray, modality_names: Sequence[str]) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    if w.ndim != 2 or w.shape[1] != len(modality_names):
        raise DataError(
            "errors.plots.weights_shape",
            n_modalities=len(modality_names),
            modalities=list(modality_names),
            shape=w.shape,
        )
    return w


def _weights_axis(fig: go.Figure, title: str, x_label: str, y_label: str) -> go.Figure:
    """Finish a figure whose y axis is an attention weight (0 to 1)."""
    fig.update_yaxes(range=[0, 1])
    return _finish(fig, title, x_label, y_label)


def attention_heatmap(
    weights: np.ndarray,
    modality_names: Sequence[str],
    sort_by: str | None = None,
    labels: np.ndarray | None = None,
    label_names: Sequence[str] | None = None,
    max_rows: int = 500,
    title: str | None = None,
    seed: int = 0,
    t: Translate = None,
) -> go.Figure:
    """Samples x modalities heatmap of attention weights (colour scale fixed to 0..1).

    sort_by: None (data order), a modality name (rows by that modality's weight,
        highest first) or "label" (rows grouped by class, class names on the y axis; needs
        ``labels``). Above ``max_rows`` samples a seeded subset is shown and the title
        says so.
    """
    tr = _tr(t)
    w = _weights(weights, modality_names)
    n = w.shape[0]
    if sort_by == "label" and labels is None:
        raise DataError("errors.plots.sort_needs_labels")
    if sort_by not in (None, "label") and sort_by not in modality_names:
        raise DataError(
            "errors.plots.bad_sort_by", modalities=list(modality_names), sort_by=sort_by
        )
    title = title or tr("plots.attention_weights_sample")
    idx = np.arange(n)
    if n > max_rows:
        idx = np.sort(np.random.default_rng(seed).choice(n, max_rows, replace=False))
        note = tr("plots.showing_shown_total_samples").format(shown=f"{max_rows:,}", total=f"{n:,}")
        title = f"{title} ({note})"
    lab = np.asarray(labels)[idx] if labels is not None else None
    if sort_by == "label":
        assert lab is not None
        idx = idx[np.lexsort((-w[idx].max(axis=1), lab))]
        lab = np.asarray(labels)[idx]
    elif sort_by is not None:
        col = list(modality_names).index(sort_by)
        idx = idx[np.argsort(-w[idx, col], kind="stable")]
        lab = np.asarray(labels)[idx] if labels is not None else None
    z = w[idx]
    y = np.arange(len(idx))
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(modality_names),
            y=y,
            zmin=0.0,
            zmax=1.0,
            colorscale="Viridis",
            colorbar=dict(title=dict(text=tr("plots.attention_weight"))),
            customdata=np.broadcast_to(idx[:, None], z.shape),
            hovertemplate=(
                f"{tr('plots.sample')} %{{customdata}}<br>{tr('plots.modality')} %{{x}}"
                f"<br>{tr('plots.attention_weight')} %{{z:.3f}}<extra></extra>"
            ),
        )
    )
    fig.update_yaxes(autorange="reversed", showticklabels=False)
    y_label = tr("plots.sample")
    if sort_by == "label" and lab is not None:
        # One tick per class block, at its middle.
        starts = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1]])
        ends = np.r_[starts[1:], len(lab)]
        names = list(label_names) if label_names is not None else None
        fig.update_yaxes(
            showticklabels=True,
            tickmode="array",
            tickvals=((starts + ends - 1) / 2).tolist(),
            ticktext=[names[int(lab[s])] if names is not None else str(lab[s]) for s in starts],
        )
        y_label = tr("plots.sample_grouped_by_class")
    elif sort_by is not None:
        y_label = tr("plots.sample_sorted_by_modality_weight").format(modality=sort_by)
    return _finish(fig, title, tr("plots.modality"), y_label)


def attention_by_class(
    weights: np.ndarray,
    labels: np.ndarray,
    label_names: Sequence[str],
    modality_names: Sequence[str],
    title: str | None = None,
    colors: Mapping[str, str] | None = None,
    t: Translate = None,
) -> go.Figure:
    """Mean attention per class, grouped bars coloured by modality (error bars: std. error)."""
    tr = _tr(t)
    w = _weights(weights, modality_names)
    labels = np.asarray(labels)
    if labels.shape[0] != w.shape[0]:
        raise DataError("errors.plots.labels_length", n_labels=labels.shape[0], n_rows=w.shape[0])
    present = [c for c in range(len(label_names)) if np.any(labels == c)]
    colors = dict(colors) if colors is not None else modality_color_map(modality_names)
    x_names = [str(label_names[c]) for c in present]
    fig = go.Figure()
    for j, m in enumerate(modality_names):
        means, sems = [], []
        for c in present:
            x = w[labels == c, j]
            means.append(float(x.mean()))
            sems.append(float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else 0.0)
        fig.add_trace(
            go.Bar(
                x=x_names,
                y=means,
                name=m,
                marker=dict(color=colors.get(m, MISSING_COLOR)),
                error_y=dict(type="data", array=sems, visible=True, thickness=1),
            )
        )
    fig.update_layout(barmode="group", legend=dict(title=dict(text=tr("plots.modality"))))
    # Class names such as "0".."9" are names, not numbers: one tick per class.
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=x_names)
    return _weights_axis(
        fig,
        title or tr("plots.mean_attention_class"),
        tr("plots.class"),
        tr("plots.mean_attention_weight"),
    )


def attention_vs_reliability(
    weights: np.ndarray,
    mask: np.ndarray,
    modality_names: Sequence[str],
    title: str | None = None,
    colors: Mapping[str, str] | None = None,
    t: Translate = None,
) -> go.Figure:
    """Box plots of each modality's attention weight when it is reliable vs unreliable.

    mask: (N, M), 1 where modality m carries signal for the sample. A model that learned
    to use reliability puts clearly lower weight on the unreliable (mask = 0) boxes.
    Reliable boxes are filled with the modality colour, unreliable ones drawn faint.
    """
    tr = _tr(t)
    w = _weights(weights, modality_names)
    mk = np.asarray(mask)
    if mk.shape != w.shape:
        raise DataError("errors.plots.mask_shape", shape_mask=mk.shape, shape_weights=w.shape)
    colors = dict(colors) if colors is not None else modality_color_map(modality_names)
    fig = go.Figure()
    states = ((1, tr("plots.reliable_mask_1"), 0.6), (0, tr("plots.unreliable_mask_0"), 0.1))
    for j, m in enumerate(modality_names):
        color = colors.get(m, MISSING_COLOR)
        for state, state_name, alpha in states:
            y = w[mk[:, j] == state, j]
            fig.add_trace(
                go.Box(
                    y=y,
                    x=[m] * len(y),
                    name=f"{m}: {state_name}",
                    offsetgroup=str(state),  # reliable left, unreliable right of each tick
                    legendgroup=m,
                    fillcolor=rgba(color, alpha),
                    line=dict(color=color, width=1.5),
                    marker=dict(color=color, size=3),
                    boxpoints="outliers",
                )
            )
    fig.update_layout(boxmode="group")
    title = title or tr("plots.attention_weight_vs_modality_reliability")
    return _weights_axis(fig, title, tr("plots.modality"), tr("plots.attention_weight"))


def head_attention(
    head_weights: np.ndarray, modality_names: Sequence[str], t: Translate = None
) -> go.Figure:
    """Mean self-attention between modality tokens, one heatmap per head.

    head_weights: (n, H, M, M); entry [h, i, j] is how much token i (query) takes from
    token j (key) in head h, averaged here over the n samples.
    """

    tr = _tr(t)
    names = list(modality_names)
    w = np.asarray(head_weights, dtype=float).mean(axis=0)  # (H, M, M)
    H = w.shape[0]
    fig = make_subplots(
        rows=1,
        cols=H,
        subplot_titles=[tr("explore.head_h", h=h + 1) for h in range(H)],
        horizontal_spacing=0.08,
    )
    for h in range(H):
        fig.add_trace(
            go.Heatmap(
                z=w[h],
                x=names,
                y=names,
                zmin=0.0,
                zmax=1.0,
                colorscale="Viridis",
                showscale=h == H - 1,
                colorbar=dict(title=dict(text=tr("explore.attention"))),
                texttemplate="%{z:.2f}",
                hovertemplate=tr("explore.token_y_takes_z") + "<extra></extra>",
            ),
            row=1,
            col=h + 1,
        )
        fig.update_xaxes(title_text=tr("explore.attends_key"), row=1, col=h + 1)
    fig.update_yaxes(title_text=tr("explore.token_query"), row=1, col=1)
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(
        title=dict(text=tr("explore.self_attention_between_modality")),
        height=320,
        paper_bgcolor=TRANSPARENT,
        plot_bgcolor=TRANSPARENT,
        margin=dict(l=60, r=20, t=80, b=50),
    )
    return fig
