"""Training figures: loss curves, spread per epoch, validation metric bars."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from fusion.i18n import has
from fusion.plots.style import (
    LABEL_COLORS,
    MODALITY_COLORS,
    Translate,
    _check_columns,
    _epoch_axis,
    _finish,
    _log_axis,
    _tr,
    label_color_map,
)


def part_name(part: str, tr: Callable[..., str], validation: bool = False) -> str:
    """A loss part's name for people (``a_to_b`` -> "A → B retrieval"), from the catalogue's
    ``plots.loss_parts``; a column the catalogue does not know (a run's name on Compare)
    is shown as it is. ``validation``: the part was measured on validation rows."""
    base = part[4:] if validation and part.startswith("val_") else part
    key = f"plots.loss_parts.{base}"
    name = tr(key) if has(key) else part
    return tr("plots.validation_part", part=name) if validation and has(key) else name


def loss_curves(
    history_df: pd.DataFrame,
    parts: Sequence[str] | None = None,
    x: Literal["step", "epoch"] = "step",
    title: str | None = None,
    log_y: bool = False,
    val_parts: Sequence[str] = (),
    t: Translate = None,
) -> go.Figure:
    """One line per loss part (a column of ``history_df``) against ``x``.

    parts: columns to draw; default every numeric column except ``step``/``epoch``.
    val_parts: validation columns, drawn dashed. A column named ``val_<part>`` is treated
        as validation too and takes the colour of ``<part>``. Missing values (e.g.
        validation logged once per epoch) are skipped, not drawn as gaps.
    log_y: logarithmic loss axis (only positive values are shown on it).
    """
    tr = _tr(t)
    _check_columns(history_df, [x], "loss_curves")
    if parts is None:
        parts = [
            c
            for c in history_df.columns
            if c not in ("step", "epoch") and pd.api.types.is_numeric_dtype(history_df[c])
        ]
    parts = list(parts) + [v for v in val_parts if v not in parts]
    _check_columns(history_df, parts, "loss_curves")
    val_set = set(val_parts) | {p for p in parts if p.startswith("val_")}
    train_parts = [p for p in parts if p not in val_set]
    colors = label_color_map(train_parts)
    fig = go.Figure()
    for i, p in enumerate(parts):
        is_val = p in val_set
        base = p[4:] if is_val and p.startswith("val_") else p
        color = colors.get(base, LABEL_COLORS[i % len(LABEL_COLORS)])
        d = history_df[[x, p]].dropna()
        fig.add_trace(
            go.Scatter(
                x=d[x].to_numpy(),
                y=d[p].to_numpy(),
                mode="lines+markers" if is_val else "lines",
                name=part_name(p, tr, validation=is_val),
                line=dict(color=color, dash="dash" if is_val else "solid", width=2),
                marker=dict(size=5),
            )
        )
    if log_y:
        _log_axis(fig, history_df[parts].to_numpy(dtype=float))
    if x == "epoch":
        _epoch_axis(fig, history_df[x].to_numpy(dtype=float))
    y_label = tr("plots.loss_log_scale") if log_y else tr("plots.loss")
    return _finish(fig, title or tr("plots.training_losses"), tr("plots." + x), y_label)


def embedding_spread(
    spread_by_epoch: pd.DataFrame,
    title: str | None = None,
    log_y: bool = True,
    t: Translate = None,
) -> go.Figure:
    """Embedding spread per epoch on a log axis, one line per ``run`` (if the column exists).

    A spread falling by orders of magnitude is the signature of representation collapse
    (all embeddings converging to one point), which a log axis makes visible early.
    """
    tr = _tr(t)
    _check_columns(spread_by_epoch, ["epoch", "spread"], "embedding_spread")
    fig = go.Figure()
    if "run" in spread_by_epoch.columns:
        groups = list(spread_by_epoch.groupby("run", sort=False))
    else:
        groups = [(tr("plots.spread"), spread_by_epoch)]
    for i, (run, d) in enumerate(groups):
        d = d.sort_values("epoch")
        fig.add_trace(
            go.Scatter(
                x=d["epoch"].to_numpy(),
                y=d["spread"].to_numpy(),
                mode="lines+markers",
                name=str(run),
                line=dict(color=LABEL_COLORS[i % len(LABEL_COLORS)], width=2),
            )
        )
    if log_y:
        _log_axis(fig, spread_by_epoch["spread"].to_numpy(dtype=float))
    _epoch_axis(fig, spread_by_epoch["epoch"].to_numpy(dtype=float))
    y_label = tr("plots.embedding_spread_log_scale") if log_y else tr("plots.embedding_spread")
    return _finish(
        fig, title or tr("plots.embedding_spread_over_training"), tr("plots.epoch"), y_label
    )


# ----------------------------------------------------------------------------- metrics


BAR_GAP = 0.45  # share of each bar's row left empty: the chance label sits in it


def metric_bars(
    values: Mapping[str, float],
    chance: Mapping[str, float] | None = None,
    titles: Mapping[str, str] | None = None,
    title: str | None = None,
    x_label: str | None = None,
    t: Translate = None,
) -> go.Figure:
    """Horizontal bars, one per metric, with a vertical tick at each metric's chance level.

    values: metric name -> value. chance: metric name -> the value a random model would
    score (omit a metric to draw no tick for it). titles: metric name -> display name.

    Each value is written level, just past its bar's end. Each chance tick's label
    ("chance") sits above its bar, in the gap between rows, in the tick's colour: on the
    bar it was cut by the bar's edge and grey on a grey bar.
    """
    tr = _tr(t)
    chance = dict(chance or {})
    titles = dict(titles or {})
    names = list(values)
    shown = [titles.get(n, n) for n in names]
    vals = np.array([float(values[n]) for n in names])
    fig = go.Figure(
        go.Bar(
            x=vals,
            y=shown,
            orientation="h",
            name=tr("plots.model"),
            marker=dict(color=MODALITY_COLORS[0]),
            text=[f"{v:.3f}" for v in vals],
            # Outside the bar and never turned: inside a short or thin bar Plotly turned
            # the value on end or shrank it.
            textposition="outside",
            textangle=0,
            cliponaxis=False,
            hovertemplate="%{y}: %{x:.4f}<extra></extra>",
        )
    )
    with_chance = [n for n in names if n in chance]
    chance_color = MODALITY_COLORS[5]
    if with_chance:
        fig.add_trace(
            go.Scatter(
                x=[float(chance[n]) for n in with_chance],
                y=[titles.get(n, n) for n in with_chance],
                mode="markers",
                name=tr("plots.chance"),
                # A vertical tick across the bar; the open line symbol needs a line width
                # to be drawn at all.
                marker=dict(
                    symbol="line-ns-open",
                    size=24,
                    color=chance_color,
                    line=dict(width=3, color=chance_color),
                ),
                cliponaxis=False,
                hovertemplate="%{y}: " + tr("plots.chance") + " %{x:.3~g}<extra></extra>",
            )
        )
    top = max(1.0, float(vals.max()) if vals.size else 1.0)
    for n in with_chance:
        c = float(chance[n])
        # Category axes place annotations by row number; a row's bar spans
        # i ± (1 - BAR_GAP) / 2, so its top edge (the axis is reversed) is i - that.
        fig.add_annotation(
            x=c,
            y=names.index(n) - (1 - BAR_GAP) / 2,
            xref="x",
            yref="y",
            text=tr("plots.chance"),
            showarrow=False,
            yanchor="bottom",
            # Beside the tick, on the side with room: a label centred on a chance level
            # near 0 would be cut at the axis ("nce").
            xanchor="left" if c <= 0.5 * top else "right",
            font=dict(color=chance_color),
        )
    # The first metric on top, as listed; above it as much room as between two rows, so
    # its chance label is not cut by the top of the plot.
    fig.update_yaxes(autorange=False, range=[len(names) - 0.5, -0.5 - BAR_GAP / 2])
    fig.update_layout(bargap=BAR_GAP, height=max(220, 70 * len(names) + 120), showlegend=True)
    fig = _finish(
        fig,
        title or tr("plots.evaluation_metrics"),
        x_label or tr("plots.score"),
        tr("plots.metric"),
    )
    fig.update_layout(margin=dict(r=60))  # room for the values written past the longest bars
    return fig
