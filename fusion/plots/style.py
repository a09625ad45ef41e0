"""Shared look of every figure: palettes, symbols, translators, axes and presenter sizes.

See :mod:`fusion.plots` for the conventions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from fusion.errors import DataError
from fusion.i18n import DEFAULT_LANGUAGE, text_for

# A translator: catalogue key (+ placeholders) -> text, e.g. a page's ``t``; None = English.
Translate = Callable[..., str] | None
ColorBy = Literal["modality", "label", "reliability"]

# Okabe-Ito, reordered so the first modalities get the most distinct, theme-robust hues;
# its black is replaced by grey, which stays visible on a dark background, and its
# yellow comes late because it is faint on white.
MODALITY_COLORS: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#999999",  # grey (in place of black)
)
# CARTO "Safe" (also plotly.colors.qualitative.Safe), as hex.
LABEL_COLORS: tuple[str, ...] = (
    "#88CCEE",
    "#CC6677",
    "#DDCC77",
    "#117733",
    "#332288",
    "#AA4499",
    "#44AA99",
    "#999933",
    "#882255",
    "#661100",
    "#888888",
)
MODALITY_SYMBOLS: tuple[str, ...] = (
    "circle",
    "square",
    "diamond",
    "triangle-up",
    "x",
    "cross",
    "star",
    "triangle-down",
)
# Plotly's numeric codes for the symbols above: per-point symbol arrays of numbers are
# validated far faster than arrays of names.
_SYMBOL_CODES: dict[str, int] = {
    "circle": 0,
    "square": 1,
    "diamond": 2,
    "cross": 3,
    "x": 4,
    "triangle-up": 5,
    "triangle-down": 6,
    "star": 17,
}
MISSING_COLOR = "#999999"
PAIR_LINE_COLOR = "rgba(128, 128, 128, 0.35)"  # mid grey: visible on light and dark
RELIABILITY_SCALE = "Cividis"

TRANSPARENT = "rgba(0,0,0,0)"


# ----------------------------------------------------------------------------- helpers


def _tr(t: Translate) -> Callable[..., str]:
    """The translator a builder uses: ``t`` (a page's, bound to its language) or English."""
    return t if t is not None else text_for(DEFAULT_LANGUAGE)


def modality_color_map(names: Sequence[str]) -> dict[str, str]:
    """Colour (hex) per modality name, by position in ``names`` (cycling after 8)."""
    return {n: MODALITY_COLORS[i % len(MODALITY_COLORS)] for i, n in enumerate(names)}


def label_color_map(names: Sequence[str]) -> dict[str, str]:
    """Colour (hex) per class name, by position in ``names`` (cycling after 11)."""
    return {n: LABEL_COLORS[i % len(LABEL_COLORS)] for i, n in enumerate(names)}


PROJECTOR_TITLE_CHARS = 36  # a longer title is broken onto two lines in presenter mode
# Height (px) of the band at the top of a figure that Plotly's toolbar (the modebar) covers
# while the pointer is over the chart: titles are placed below it.
MODEBAR_PX = 30
DEFAULT_TITLE_PX = 17  # Plotly's title size when neither the figure nor its theme sets one


def _subplot_titles_on_top(fig: go.Figure) -> bool:
    """Whether ``fig`` has subplot titles (make_subplots' annotations) above its top row."""
    return any(
        a.yref == "paper" and a.yanchor == "bottom" and (a.y or 0) >= 0.95
        for a in fig.layout.annotations
    )


def place_title(fig: go.Figure) -> go.Figure:
    """Put the title at the top, below the toolbar's band, and make the top margin hold it.

    Plotly centres a title in the top margin, where its toolbar appears on hover and covers
    the title's right end; two-line titles also ran into the subplot titles below them.
    Returns ``fig``, changed in place.
    """
    text = fig.layout.title.text
    if not text or not str(text).strip():
        return fig
    lines = str(text).count("<br>") + 1
    px = fig.layout.title.font.size or DEFAULT_TITLE_PX
    room = MODEBAR_PX + round(lines * px * 1.3) + 8
    if _subplot_titles_on_top(fig):
        sizes = [a.font.size for a in fig.layout.annotations if a.font.size]
        room += round(1.4 * max(sizes, default=DEFAULT_TITLE_PX - 3))
    fig.update_layout(
        title=dict(x=0, xref="paper", xanchor="left", y=1, yref="container", yanchor="top"),
        title_pad=dict(t=MODEBAR_PX),
        margin=dict(t=max(fig.layout.margin.t or 0, room)),
    )
    return fig


def for_people(fig: go.Figure) -> go.Figure:
    """What every figure a page shows gets, whoever built it: the title clear of the toolbar
    (:func:`place_title`) and values on bars written level (Plotly turns them on end when
    a bar is narrower than its text). Returns ``fig``, changed in place."""
    fig.update_traces(textangle=0, selector=dict(type="bar"))
    return place_title(fig)


def for_projector(fig: go.Figure, size: int = 20) -> go.Figure:
    """Every text of ``fig`` at least ``size`` px, for a room watching a projector: the
    title, axis titles and ticks, legend, annotations, colour bars, and text on the marks.

    Each is set explicitly, because a host theme (Streamlit's) sets tick, legend and title
    fonts of its own, which a layout-wide ``font.size`` alone does not override. Returns
    ``fig``, changed in place.
    """
    font = dict(size=size)
    title = fig.layout.title.text
    if title and "<br>" not in title and len(title) > PROJECTOR_TITLE_CHARS:
        # Plotly never wraps a title: at projector size a long one ran off the chart.
        cut = title.rfind(" ", 0, PROJECTOR_TITLE_CHARS)
        cut = cut if cut > 0 else PROJECTOR_TITLE_CHARS
        fig.update_layout(title_text=f"{title[:cut]}<br>{title[cut:].lstrip()}")
    fig.update_layout(
        font=font,
        title_font=dict(size=round(size * 1.3)),
        legend=dict(font=font, title_font=font),
        hoverlabel=dict(font=font),
    )
    fig.update_xaxes(tickfont=font, title_font=font)
    fig.update_yaxes(tickfont=font, title_font=font)
    fig.update_annotations(font=font)
    fig.update_coloraxes(colorbar=dict(tickfont=font, title_font=font))
    for trace in fig.data:
        if "textfont" in trace:
            trace.textfont.size = size
        if "colorbar" in trace:
            trace.colorbar.tickfont.size = size
            trace.colorbar.title.font.size = size
    # Larger text needs wider margins (or the axes' labels are cut at the figure's edge)
    # and more height (or rows of bars and their labels run into each other).
    m = fig.layout.margin
    fig.update_layout(
        margin=dict(
            l=max(m.l or 0, 3 * size),
            r=max(m.r or 0, size),
            b=max(m.b or 0, 3 * size),
            t=max(m.t or 0, 4 * size),
        ),
        height=round((fig.layout.height or 450) * size / 14),
    )
    return for_people(fig)


def class_order(names: Sequence[str], codes: Sequence[float] | None = None) -> list[str]:
    """Distinct class names in class order, for legends and axes (not first appearance).

    codes: each name's label index, parallel to ``names``, where known: names sort by
    their smallest index. Otherwise, and to break ties, a digit-aware sort puts "2" before
    "10" and "class_2" before "class_10".
    """

    def natural(s: str) -> tuple:
        return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", s))

    first: dict[str, float] = {}
    for i, name in enumerate(names):
        code = float(codes[i]) if codes is not None else np.inf
        if not np.isfinite(code) or code < 0:
            code = np.inf
        first[name] = min(first.get(name, np.inf), code)
    return sorted(first, key=lambda n: (first[n], natural(str(n))))


def log_ticks(values: np.ndarray | Sequence[float], max_ticks: int = 8) -> tuple[list, list]:
    """Tick positions and labels for a log axis over ``values``, each written in full.

    Powers of ten when the values span three or more of them (every second or third one
    when they span many); otherwise 1-2-5 steps (0.2, 0.5, 1, 2, 5, …) or, over a narrower
    range, every digit. Plotly's own log ticks mix decades with bare leading digits ("2, 100, 5, 2,
    10"), which read as a scrambled axis.
    """
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v) & (v > 0)]
    if not v.size:
        return [], []
    lo, hi = np.log10(v.min()), np.log10(v.max())
    powers = range(int(np.floor(lo)) - 1, int(np.ceil(hi)) + 2)

    def steps(mantissas: Sequence[int]) -> list[float]:
        return [
            m * 10.0**k
            for k in powers
            for m in mantissas
            if lo - 1e-9 <= np.log10(m * 10.0**k) <= hi + 1e-9
        ]

    decades = steps([1])
    one_two_five = steps([1, 2, 5])
    digits = steps(range(1, 10))
    if len(decades) >= 3 or (len(decades) == 2 and len(one_two_five) > max_ticks):
        ticks = decades[:: -(-len(decades) // max_ticks)]
    elif len(one_two_five) >= 2:
        ticks = one_two_five
    elif len(digits) >= 2:
        ticks = digits
    else:  # within one digit step: the extremes themselves
        ticks = sorted({float(f"{x:.2g}") for x in (v.min(), v.max())})

    def label(x: float) -> str:
        if 1e-3 <= x < 1e5:
            return f"{x:g}"
        mantissa, exponent = f"{x:.1e}".split("e")
        return f"{float(mantissa):g}e{int(exponent)}"

    return ticks, [label(x) for x in ticks]


def _epoch_axis(fig: go.Figure, epochs: np.ndarray | Sequence[float]) -> None:
    """Whole epochs on the x axis: over a short run Plotly would tick 1, 1.2, 1.4, …"""
    e = np.asarray(epochs, dtype=float)
    e = e[np.isfinite(e)]
    if e.size and e.max() - e.min() <= 10:
        fig.update_xaxes(tick0=0, dtick=1)


def _log_axis(fig: go.Figure, values: np.ndarray | Sequence[float]) -> None:
    """A log y axis with :func:`log_ticks`."""
    ticks, text = log_ticks(values)
    if ticks:
        fig.update_yaxes(type="log", tickmode="array", tickvals=ticks, ticktext=text)
    else:
        fig.update_yaxes(type="log")


def rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, {alpha})"


def reliability_colour_axis(fig: go.Figure, tr: Callable[..., str]) -> None:
    """The map's shared colour axis for reliability: Cividis over 0..1 with its colour bar
    (titled in the page's language), the legend moved right of the bar."""
    fig.update_layout(
        coloraxis=dict(
            colorscale=RELIABILITY_SCALE,
            cmin=0.0,
            cmax=1.0,
            colorbar=dict(title=dict(text=tr("plots.reliability")), x=1.02),
        ),
        legend=dict(x=1.15),
    )


def _finish(fig: go.Figure, title: str, x_label: str | None, y_label: str | None) -> go.Figure:
    """Title, axis titles and transparent backgrounds (the host theme does the rest)."""
    fig.update_layout(
        title=dict(text=title),
        paper_bgcolor=TRANSPARENT,
        plot_bgcolor=TRANSPARENT,
        margin=dict(l=60, r=20, t=60, b=50),
    )
    if x_label is not None:
        fig.update_xaxes(title=dict(text=x_label))
    if y_label is not None:
        fig.update_yaxes(title=dict(text=y_label))
    return place_title(fig)


def _check_columns(df: pd.DataFrame, needed: Sequence[str], what: str) -> None:
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise DataError(
            "errors.plots.missing_columns", figure=what, missing=missing, columns=list(df.columns)
        )
