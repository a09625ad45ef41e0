"""Figures of the live views while training: the moving map and attention as it learns.

The map is :func:`fusion.plots.maps.shared_space` on a live frame's coordinates, with
fixed axis ranges (so a shrinking cloud shrinks instead of being re-zoomed), a layout
transition (Plotly animates points between frames of SVG traces; WebGL traces, above
``webgl_threshold`` points, are updated in place without one), and a ``uirevision`` so a person's zoom
survives the next frame. Attention: the distribution of each modality's weight, and the
mean weights over the epochs so far (with the weight on unreliable inputs when the data
has a reliability mask); the by-class and against-reliability views reuse
:mod:`fusion.plots.attention`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from fusion.plots.attention import _weights, _weights_axis
from fusion.plots.maps import shared_space
from fusion.plots.style import (
    MISSING_COLOR,
    ColorBy,
    Translate,
    _finish,
    _tr,
    modality_color_map,
    rgba,
)

TRANSITION_MS = 400  # under the page's half-second poll, so one move ends before the next


def live_map(
    points: pd.DataFrame,
    ranges: tuple[tuple[float, float], tuple[float, float]],
    color_by: ColorBy = "modality",
    show_pairs: bool = False,
    title: str | None = None,
    axis_labels: tuple[str, str] | None = None,
    revision: str = "live",
    t: Translate = None,
) -> go.Figure:
    """One live frame: the shared-space map on fixed ``ranges`` ((x0, x1), (y0, y1))."""
    names = list(dict.fromkeys(points["modality"].astype(str)))
    fig = shared_space(
        points,
        color_by=color_by,
        show_pairs=show_pairs,
        title=title,
        colors=modality_color_map(names),
        axis_labels=axis_labels,
        t=t,
    )
    fig.update_xaxes(range=list(ranges[0]), autorange=False)
    fig.update_yaxes(range=list(ranges[1]), autorange=False)
    # Plotly moves SVG markers smoothly between frames; WebGL markers jump whatever the
    # transition, which then only animates the axes, redrawing every point each animation
    # frame: ~600 ms of a software-rendered browser's time per frame at 5k points instead
    # of ~30 ms without (benchmark --only live). Not even a transition of 0 ms: Plotly
    # still takes its transition path (~200 ms).
    if not any(tr.type == "scattergl" for tr in fig.data):
        fig.update_layout(transition=dict(duration=TRANSITION_MS, easing="cubic-in-out"))
    fig.update_layout(
        uirevision=revision,
        dragmode="pan",
        height=460,
    )
    return fig


def attention_distribution(
    weights: np.ndarray,
    modality_names: Sequence[str],
    title: str | None = None,
    t: Translate = None,
) -> go.Figure:
    """Histogram of each modality's attention weight over the validation samples (0..1)."""
    tr = _tr(t)
    w = _weights(weights, modality_names)
    colors = modality_color_map(modality_names)
    edges = np.linspace(0.0, 1.0, 26)
    mids = (edges[:-1] + edges[1:]) / 2
    fig = go.Figure()
    for j, m in enumerate(modality_names):
        counts, _ = np.histogram(w[:, j], bins=edges)
        share = counts / max(len(w), 1)
        color = colors.get(m, MISSING_COLOR)
        fig.add_trace(
            go.Bar(x=mids, y=share, name=m, marker=dict(color=rgba(color, 0.6), line_width=0))
        )
    fig.update_layout(barmode="overlay", bargap=0.02)
    fig.update_xaxes(range=[0, 1])
    title = title or tr("plots.live.attention_distribution")
    return _finish(fig, title, tr("plots.attention_weight"), tr("plots.live.share_of_samples"))


def attention_trend(
    epochs: Sequence[int],
    means: np.ndarray,
    modality_names: Sequence[str],
    unreliable: np.ndarray | None = None,
    title: str | None = None,
    t: Translate = None,
) -> go.Figure:
    """Mean attention per modality over the epochs so far; dashed: on unreliable inputs.

    means: (E, M) mean weight per epoch and modality. unreliable: (E, M) mean weight where
    the modality's reliability mask is 0 (NaN where none is), drawn dashed.
    """
    tr = _tr(t)
    means = np.asarray(means, dtype=float)
    colors = modality_color_map(modality_names)
    fig = go.Figure()
    for j, m in enumerate(modality_names):
        color = colors.get(m, MISSING_COLOR)
        fig.add_trace(
            go.Scatter(
                x=list(epochs), y=means[:, j], name=m, mode="lines+markers", line=dict(color=color)
            )
        )
        if unreliable is not None and np.isfinite(unreliable[:, j]).any():
            fig.add_trace(
                go.Scatter(
                    x=list(epochs),
                    y=unreliable[:, j],
                    name=tr("plots.live.when_unreliable").format(modality=m),
                    mode="lines",
                    line=dict(color=color, dash="dash"),
                )
            )
    title = title or tr("plots.live.attention_over_epochs")
    return _weights_axis(fig, title, tr("plots.epoch"), tr("plots.mean_attention_weight"))
