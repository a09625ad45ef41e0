"""The class board's figures: one setting against one metric across the class's runs, and
the class's maps as small multiples (see :mod:`fusion.classroom`)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from fusion.plots.style import (
    LABEL_COLORS,
    MISSING_COLOR,
    Translate,
    _finish,
    _tr,
    class_order,
    label_color_map,
    modality_color_map,
)

MAX_MAPS = 36  # small multiples drawn (the newest runs); more would be unreadable


def board_scatter(
    x: Sequence[float],
    y: Sequence[float],
    names: Sequence[str],
    x_label: str,
    y_label: str,
    chance: float | None = None,
    t: Translate = None,
) -> go.Figure:
    """Each run a dot: ``x`` (a setting) against ``y`` (a metric), labelled with the
    student's nickname; ``chance``: the metric's chance level, a dotted line."""
    tr = _tr(t)
    fig = go.Figure(
        go.Scatter(
            x=list(x),
            y=list(y),
            mode="markers+text",
            text=list(names),
            textposition="top center",
            marker=dict(size=12, color=LABEL_COLORS[0], line=dict(width=1, color="white")),
            hovertemplate="%{text}<br>%{x}<br>%{y:.3f}<extra></extra>",
            name=tr("plots.board.runs"),
        )
    )
    if chance is not None and math.isfinite(chance):
        fig.add_hline(
            y=float(chance),
            line=dict(color=MISSING_COLOR, dash="dot"),
            annotation_text=tr("plots.board.chance"),
            annotation_position="bottom right",
        )
    fig.update_layout(height=420, showlegend=False)
    return _finish(
        fig, tr("plots.board.scatter_title", metric=y_label, setting=x_label), x_label, y_label
    )


def board_maps(
    maps: Sequence[dict],
    titles: Sequence[str],
    colour: str = "label",
    columns: int = 6,
    t: Translate = None,
) -> go.Figure:
    """The runs' maps side by side: ``maps`` are :class:`fusion.classroom.BoardEntry` maps
    (``x``, ``y``, ``label``, ``modality``: the first two principal components of each
    run's shared space), coloured by ``colour`` ("label" or "modality"). Axes carry no
    ticks: each map has its own PCA scale, so only shapes compare across maps."""
    tr = _tr(t)
    maps, titles = list(maps)[-MAX_MAPS:], list(titles)[-MAX_MAPS:]
    n = max(1, len(maps))
    cols = max(1, min(columns, n))
    rows = math.ceil(n / cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles or None,
                        horizontal_spacing=0.02, vertical_spacing=0.08 if rows > 1 else 0.1)  # fmt: skip
    values = sorted({v for m in maps for v in m.get(colour, [])})
    values = class_order(values) if colour == "label" else values
    colors = label_color_map(values) if colour == "label" else modality_color_map(values)
    shown: set[str] = set()
    for i, m in enumerate(maps):
        r, c = i // cols + 1, i % cols + 1
        groups = m.get(colour, [])
        for value in [v for v in values if v in set(groups)]:  # one legend order for all maps
            idx = [j for j, g in enumerate(groups) if g == value]
            fig.add_trace(
                go.Scattergl(
                    x=[m["x"][j] for j in idx],
                    y=[m["y"][j] for j in idx],
                    mode="markers",
                    marker=dict(size=4, color=colors.get(value, MISSING_COLOR), opacity=0.8),
                    name=str(value),
                    legendgroup=str(value),
                    showlegend=value not in shown,
                    hoverinfo="name",
                ),
                row=r,
                col=c,
            )
            shown.add(value)
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_layout(height=max(260, 190 * rows + 80), legend=dict(orientation="h", y=-0.05))
    return _finish(fig, tr("plots.board.maps_title"), None, None)
