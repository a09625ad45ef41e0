"""Figure builders the lessons share: maps of snapshots, bars and lines with chance.

Each returns a :class:`plotly.graph_objects.Figure` titled through the caller's translate
function ``t``; a page only shows them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from fusion.generators import generate
from fusion.lessons.specs import Translate
from fusion.lessons.view import RunView, gap_points, map_points
from fusion.plots import LABEL_COLORS, MODALITY_COLORS, TRANSPARENT, image_grid, shared_space


def layout(
    fig: go.Figure, t: Translate, title: str, x: str | None, y: str | None, height: int = 380
) -> go.Figure:
    """Title, axis titles, height and a transparent background (follows the page's theme)."""
    fig.update_layout(
        title=dict(text=title),
        paper_bgcolor=TRANSPARENT,
        plot_bgcolor=TRANSPARENT,
        margin=dict(l=60, r=20, t=60, b=50),
        height=height,
        legend=dict(itemsizing="constant"),
    )
    if x is not None:
        fig.update_xaxes(title=dict(text=x))
    if y is not None:
        fig.update_yaxes(title=dict(text=y))
    return fig


def map_figure(
    view: RunView, epoch: int, t: Translate, title: str, color_by: str = "label"
) -> go.Figure:
    """A UMAP map of one snapshot: colour by class, symbol by modality."""
    points = map_points(view, epoch, t, method="umap")
    fig = shared_space(
        points,
        color_by=color_by,  # type: ignore[arg-type]
        title=title,
        axis_labels=(t("lessons.axes.umap1"), t("lessons.axes.umap2")),
        marker_size=6,
        t=t,
    )
    n_mod = points["modality"].nunique()
    fig.update_layout(
        height=430 + 30 * max(0, n_mod - 2),  # room for the legend's modality entries
        legend=dict(title=dict(text=t("lessons.axes.legend_map"))),
    )
    return fig


def maps_grid(
    rows: Sequence[Sequence[tuple[RunView, int, str]]], t: Translate, title: str, color_by: str
) -> go.Figure:
    """Maps of (run, epoch, panel title) snapshots, a row of panels per run or group.

    The panels of a row share their axis ranges, so a cloud that shrank (collapse) looks
    smaller; each row has its own ranges, because normalised and unnormalised embeddings
    live on different scales.
    """
    n_cols = max(len(r) for r in rows)
    fig = make_subplots(
        rows=len(rows),
        cols=n_cols,
        subplot_titles=[p[2] for r in rows for p in r],
        horizontal_spacing=0.06,
        vertical_spacing=0.16 if len(rows) > 1 else 0.0,
    )
    seen: set[str] = set()
    for i, row in enumerate(rows, start=1):
        frames = [map_points(view, epoch, t) for view, epoch, _ in row]
        both = pd.concat(frames)
        pad = 0.05 * max(np.ptp(both["u"]), np.ptp(both["v"]), 1e-9)
        x_range = [float(both["u"].min() - pad), float(both["u"].max() + pad)]
        y_range = [float(both["v"].min() - pad), float(both["v"].max() + pad)]
        for col, pts in enumerate(frames, start=1):
            groups = pts["modality"] if color_by == "modality" else pts["label_name"]
            palette = MODALITY_COLORS if color_by == "modality" else LABEL_COLORS
            for j, name in enumerate(dict.fromkeys(groups)):
                sel = pts[groups == name]
                fig.add_trace(
                    go.Scatter(
                        x=sel["u"],
                        y=sel["v"],
                        mode="markers",
                        name=str(name),
                        legendgroup=str(name),
                        showlegend=str(name) not in seen,
                        marker=dict(size=5, opacity=0.7, color=palette[j % len(palette)]),
                        hoverinfo="skip",
                    ),
                    row=i,
                    col=col,
                )
                seen.add(str(name))
            fig.update_xaxes(range=x_range, row=i, col=col)
            fig.update_yaxes(range=y_range, row=i, col=col)
        fig.update_yaxes(title=dict(text=t("lessons.axes.pca2")), row=i, col=1)
    fig.update_xaxes(title=dict(text=t("lessons.axes.pca1")), row=len(rows))
    return layout(fig, t, title, None, None, height=380 * len(rows) + 60)


def chance_line(fig: go.Figure, y: float, t: Translate) -> None:
    """A dotted horizontal line at the chance level, named in the legend (never over data)."""
    style = dict(dash="dot", color=MODALITY_COLORS[5], width=2)
    fig.add_hline(y=y, line=style)
    chance_legend(fig, t, y)


def chance_legend(fig: go.Figure, t: Translate, y: float | None = None) -> None:
    name = t("lessons.common.chance", value=f"{y:.3g}") if y is not None else None
    fig.add_trace(
        go.Scatter(
            x=[None],
            y=[None],
            mode="lines",
            name=name or t("lessons.common.chance_legend"),
            line=dict(dash="dot", color=MODALITY_COLORS[5], width=2),
            hoverinfo="skip",
        )
    )


def bars_with_chance(
    groups: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    chance: float | None,
    t: Translate,
    title: str,
    x: str,
    y: str,
    y_range: tuple[float, float] | None = (0.0, 1.05),
) -> go.Figure:
    """Grouped vertical bars (one colour per series) and a dotted line at the chance level."""
    fig = go.Figure()
    for i, (name, values) in enumerate(series):
        fig.add_trace(
            go.Bar(
                x=list(groups),
                y=list(values),
                name=name,
                marker=dict(color=MODALITY_COLORS[i % len(MODALITY_COLORS)]),
                text=[f"{v:.3f}" for v in values],
                textposition="outside",
                cliponaxis=False,
            )
        )
    if chance is not None:
        chance_line(fig, chance, t)
    fig.update_layout(barmode="group")
    fig.update_xaxes(type="category")  # "50%" and "0.5" are names here, not numbers
    if y_range is not None:
        fig.update_yaxes(range=list(y_range))
    return layout(fig, t, title, x, y)


def line_figure(
    lines: Sequence[tuple[str, Sequence[float], Sequence[float]]],
    t: Translate,
    title: str,
    x: str,
    y: str,
    log_x: bool = False,
    log_y: bool = False,
    dashed: Sequence[str] = (),
    dashes: Mapping[str, str] | None = None,
) -> go.Figure:
    """One line per (name, xs, ys); ``dashed`` names are reference lines (dashed), and
    ``dashes`` gives other lines their own dash so that lines on top of each other show."""
    dashes = {**{n: "dash" for n in dashed}, **(dashes or {})}
    fig = go.Figure()
    for i, (name, xs, ys) in enumerate(lines):
        fig.add_trace(
            go.Scatter(
                x=list(xs),
                y=list(ys),
                mode="lines" if name in dashed else "lines+markers",
                name=name,
                # Epochs whose metrics the trainer's budget skipped join their neighbours;
                # the markers show the measured epochs.
                connectgaps=True,
                line=dict(
                    color=MODALITY_COLORS[i % len(MODALITY_COLORS)],
                    width=2,
                    dash=dashes.get(name, "solid"),
                ),
            )
        )
    if log_x:  # ticks at the values shown, not at every minor step of the decade
        ticks = sorted({float(v) for _, xs, _ in lines for v in xs})
        fig.update_xaxes(type="log", tickvals=ticks, ticktext=[f"{v:g}" for v in ticks])
    if log_y:
        fig.update_yaxes(type="log", dtick=1)  # one labelled tick per decade
    return layout(fig, t, title, x, y)


def gap_maps(panels: Sequence[tuple[RunView, int, str]], t: Translate, title: str) -> go.Figure:
    """Panels of :func:`gap_points` on shared axes; a cross marks each modality's centre."""
    fig = make_subplots(
        rows=1,
        cols=len(panels),
        subplot_titles=[p[2] for p in panels],
        shared_yaxes=True,
        horizontal_spacing=0.04,
    )
    for col, (view, epoch, _) in enumerate(panels, start=1):
        pts, centres = gap_points(view, epoch)
        for j, (name, centre) in enumerate(centres.items()):
            color = MODALITY_COLORS[j % len(MODALITY_COLORS)]
            sel = pts[pts["modality"] == name]
            fig.add_trace(
                go.Scatter(
                    x=sel["u"],
                    y=sel["v"],
                    mode="markers",
                    name=name,
                    legendgroup=name,
                    showlegend=col == 1,
                    marker=dict(size=4, opacity=0.5, color=color),
                    hoverinfo="skip",
                ),
                row=1,
                col=col,
            )
            fig.add_trace(
                go.Scatter(
                    x=[centre[0]],
                    y=[centre[1]],
                    mode="markers",
                    name=t("lessons.temperature.fig.centre", name=name),
                    legendgroup=f"centre-{name}",
                    showlegend=col == 1,
                    marker=dict(
                        size=16, symbol="x", color=color, line=dict(width=2, color="#444444")
                    ),
                    hovertemplate=f"{name}: %{{x:.3f}}<extra></extra>",
                ),
                row=1,
                col=col,
            )
    fig.update_xaxes(range=[-1.05, 1.05], title=dict(text=t("lessons.axes.along_gap")))
    fig.update_yaxes(range=[-1.05, 1.05])
    fig.update_yaxes(title=dict(text=t("lessons.axes.across_gap")), col=1)
    return layout(fig, t, title, None, None, height=430)


def digit_samples(view: RunView, t: Translate, k: int = 6) -> go.Figure | None:
    """The first k validation pairs, rotated view above the noisy view (from the run's data)."""
    src = view.config.get("data", {})
    if src.get("generator") != "digits_two_view":
        return None
    data = generate(src["generator"], **src["params"])
    train = view.config.get("train", {})
    _, va = data.split(train.get("val_fraction", 0.2), train.get("seed", 0))
    names = va.names
    images = np.concatenate([va.modalities[m][:k] for m in names])
    captions = [
        t("lessons.digits.caption", view=m, digit=va.label_names[int(va.labels[i])])
        for m in names
        for i in range(k)
    ]
    fig = image_grid(images, captions, n_cols=k, title=t("lessons.digits.fig.samples"), t=t)
    fig.update_layout(height=340)
    return fig
