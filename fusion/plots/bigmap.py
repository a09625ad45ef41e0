"""The map of every point of a large run: WebGL, compact, and selectable.

:func:`big_map` draws all rows of a saved full map (:mod:`fusion.bigmap`; 100,000 to
1,000,000 points) as Plotly ``scattergl`` traces, one per colour group. What it sends is
kept small, because a figure travels to the browser as one websocket message:

- coordinates as float32 arrays, which Plotly ships as binary typed arrays (8 bytes a
  point), never as JSON numbers;
- no per-point hover text: the hover shows the trace's name (the modality or class) and
  the point's row, an int32 ``customdata`` (4 bytes a point), which the page looks up;
- a constant symbol and size per trace (per-point arrays would be validated point by point).

A selection on the map comes back as (trace, point index) pairs;
:func:`fusion.selection.event_rows` turns them into rows of the map's frame with the
per-trace row arrays :func:`big_map` returns. Colour by "modality" (:func:`modality_color_map`), "label" (:data:`LABEL_COLORS`)
or "reliability" (Cividis, one trace per modality on a shared colour axis).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from fusion.errors import DataError
from fusion.plots.style import (
    LABEL_COLORS,
    MISSING_COLOR,
    Translate,
    _finish,
    _tr,
    modality_color_map,
    reliability_colour_axis,
)

COLOR_BY = ("modality", "label", "reliability")


def marker_size(n: int) -> float:
    """Smaller points for more of them, so dense regions keep their shape."""
    return 4.0 if n <= 20_000 else 2.5 if n <= 200_000 else 1.5


def big_map(
    frame: pd.DataFrame,
    color_by: str = "modality",
    title: str | None = None,
    colors: Mapping[str, str] | None = None,
    axis_labels: tuple[str, str] | None = None,
    t: Translate = None,
) -> tuple[go.Figure, list[np.ndarray]]:
    """All rows of ``frame`` (columns ``x``, ``y``, ``modality``; ``label_name`` and
    ``reliability`` for those colourings) as WebGL traces; (figure, rows of each trace).

    Each trace's ``customdata`` is its points' rows in ``frame`` (int32), shown on hover.
    """
    tr = _tr(t)
    if color_by not in COLOR_BY:
        raise DataError("errors.plots.bad_color_by", color_by=color_by)
    x = frame["x"].to_numpy(dtype=np.float32)
    y = frame["y"].to_numpy(dtype=np.float32)
    modality = frame["modality"].astype(str).to_numpy()
    mods = list(dict.fromkeys(modality))
    colors = dict(colors or modality_color_map(mods))
    size = marker_size(len(frame))
    row_label = tr("plots.row")
    traces: list[dict[str, Any]] = []
    trace_rows: list[np.ndarray] = []

    def add(rows: np.ndarray, name: str, marker: dict[str, Any], legend: bool = True) -> None:
        rows = rows.astype(np.int32)
        traces.append(
            {
                "type": "scattergl",
                "mode": "markers",
                "x": x[rows],
                "y": y[rows],
                "customdata": rows,
                "name": name,
                "showlegend": legend,
                "marker": {"size": size, **marker},
                "hovertemplate": f"%{{fullData.name}}<br>{row_label} %{{customdata}}<extra></extra>",
            }
        )
        trace_rows.append(rows)

    if color_by == "modality":
        for m in mods:
            add(np.flatnonzero(modality == m), m, {"color": colors.get(m, MISSING_COLOR)})
    elif color_by == "label":
        if "label_name" not in frame.columns:
            raise DataError(
                "errors.plots.missing_columns",
                figure="big_map",
                missing="label_name",
                columns=list(frame.columns),
            )
        labels = frame["label_name"].astype(str).to_numpy()
        labels = np.where(labels == "", tr("plots.no_label"), labels)
        for i, lab in enumerate(sorted(set(labels))):
            color = (
                MISSING_COLOR
                if lab == tr("plots.no_label")
                else LABEL_COLORS[i % len(LABEL_COLORS)]
            )
            add(np.flatnonzero(labels == lab), lab, {"color": color})
    else:
        if "reliability" not in frame.columns:
            raise DataError(
                "errors.plots.missing_columns",
                figure="big_map",
                missing="reliability",
                columns=list(frame.columns),
            )
        rel = frame["reliability"].to_numpy(dtype=np.float32)
        for m in mods:
            rows = np.flatnonzero(modality == m)
            values = rel[rows]
            add(
                rows,
                m,
                {
                    "color": np.where(np.isfinite(values), values, np.float32(-1.0)),
                    "coloraxis": "coloraxis",
                },
            )
    fig = go.Figure(data=traces)
    if color_by == "reliability":
        # Unknown reliability (-1) falls below cmin and takes the scale's low end; the
        # colour bar covers 0..1.
        reliability_colour_axis(fig, tr)
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    fig.update_layout(legend=dict(itemsizing="constant"), dragmode="pan", hovermode="closest")
    x_label, y_label = axis_labels or (tr("plots.map_axis_1_u"), tr("plots.map_axis_2_u"))
    fig = _finish(fig, title or tr("plots.shared_embedding_space"), x_label, y_label)
    return fig, trace_rows
