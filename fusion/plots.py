"""Plotly figure builders for the playground; each returns a ``plotly.graph_objects.Figure``.

Figures are built from plain values (arrays, DataFrames, dicts) so they can be tested
without a browser; only pages call ``st.plotly_chart``.

Conventions shared by every builder:

- One colour per modality everywhere: :func:`modality_color_map` assigns the Okabe-Ito
  palette (Okabe & Ito, 2008, "Color Universal Design"), which stays distinguishable
  under the common colour-vision deficiencies, by position in the modality list. Pass the
  same ``colors`` map (or the same modality order) to every figure.
- Class labels use :data:`LABEL_COLORS`, CARTO's colour-blind-safe qualitative "Safe"
  palette (11 colours, cycled beyond that).
- Continuous values (reliability) use the perceptually uniform, colour-blind-friendly
  Cividis scale (Nuñez, Anderton & Renslow, 2018).
- Backgrounds are transparent and no template is forced, so the host theme (Streamlit's
  light or dark theme) styles text and grid lines.
- Every user-visible string goes through the optional ``t`` translation function (the app
  passes its gettext-like lookup for Chinese); the English text is the key. Data values
  (modality and class names) are shown as given.

The shared-space map (:func:`shared_space`) takes precomputed 2-D coordinates, so
recolouring or scrubbing through epochs only rebuilds the figure (tens of milliseconds at
10,000 points), never the projection (see :mod:`fusion.projection`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

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


def for_projector(fig: go.Figure, size: int = 20) -> go.Figure:
    """Every text of ``fig`` at least ``size`` px, for a room watching a projector: the
    title, axis titles and ticks, legend, annotations, colour bars, and text on the marks.

    Each is set explicitly, because a host theme (Streamlit's) sets tick, legend and title
    fonts of its own, which a layout-wide ``font.size`` alone does not override. Returns
    ``fig``, changed in place.
    """
    font = dict(size=size)
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
            b=max(m.b or 0, 3 * size),
            t=max(m.t or 0, 4 * size),
        ),
        height=round((fig.layout.height or 450) * size / 14),
    )
    return fig


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
    return fig


def _check_columns(df: pd.DataFrame, needed: Sequence[str], what: str) -> None:
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise DataError(
            "errors.plots.missing_columns", figure=what, missing=missing, columns=list(df.columns)
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


# ----------------------------------------------------------------------------- training


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
                name=p,
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
            textposition="auto",
            hovertemplate="%{y}: %{x:.4f}<extra></extra>",
        )
    )
    with_chance = [n for n in names if n in chance]
    if with_chance:
        fig.add_trace(
            go.Scatter(
                x=[float(chance[n]) for n in with_chance],
                y=[titles.get(n, n) for n in with_chance],
                mode="markers+text",
                name=tr("plots.chance"),
                # A tall vertical tick on top of the bar; the open line symbol needs a
                # line width to be drawn at all.
                marker=dict(
                    symbol="line-ns-open", size=28, line=dict(width=3, color=MODALITY_COLORS[5])
                ),
                text=[tr("plots.chance")] * len(with_chance),
                # Beside the tick, on the side with room: a label centred on a chance level
                # near 0 would be cut at the axis ("nce"); nothing is clipped at the edges.
                textposition=[
                    "top right" if chance[n] <= 0.5 * max(1.0, vals.max()) else "top left"
                    for n in with_chance
                ],
                cliponaxis=False,
                hovertemplate="%{y}: " + tr("plots.chance") + " %{x:.4f}<extra></extra>",
            )
        )
    fig.update_yaxes(autorange="reversed")  # first metric on top, as listed
    fig.update_layout(height=max(220, 70 * len(names) + 120), showlegend=True)
    return _finish(
        fig,
        title or tr("plots.evaluation_metrics"),
        x_label or tr("plots.score"),
        tr("plots.metric"),
    )


# ----------------------------------------------------------------------------- shared space


def _sample_rows(samples: np.ndarray, max_points: int, seed: int) -> np.ndarray:
    """Row indices of at most max_points rows, drawn by whole samples so pairs stay whole."""
    _, inverse = np.unique(samples, return_inverse=True)
    priority = np.random.default_rng(seed).random(inverse.max() + 1)[inverse]
    keep = np.argsort(priority, kind="stable")[:max_points]
    keep.sort()
    return keep


def _pair_segments(
    u: np.ndarray, v: np.ndarray, samples: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """x, y arrays joining the points of each sample in a chain, a gap between samples.

    The gap is a NaN (sent to the browser as a missing value, like None, which Plotly
    does not connect); float arrays keep the figure fast to build at tens of thousands of
    points, where lists with None took ~100 ms.
    """
    order = np.argsort(samples, kind="stable")
    s = samples[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    sizes = np.diff(np.r_[starts, len(s)])
    multi = sizes >= 2
    if not multi.any():
        return np.empty(0), np.empty(0)
    keep = np.repeat(multi, sizes)  # rows of samples seen in 2+ modalities, sorted
    rows = order[keep]
    ends = np.cumsum(sizes[multi])  # position after each sample's run in `rows`
    idx = np.insert(rows, ends, -1)  # -1 marks the gap after each sample
    gap = idx < 0
    x = np.where(gap, np.nan, u[idx])
    y = np.where(gap, np.nan, v[idx])
    return x, y


def shared_space(
    points: pd.DataFrame,
    color_by: ColorBy = "modality",
    show_pairs: bool = False,
    title: str | None = None,
    max_points: int = 30_000,
    webgl_threshold: int = 3_000,
    seed: int = 0,
    colors: Mapping[str, str] | None = None,
    axis_labels: tuple[str, str] | None = None,
    marker_size: float | None = None,
    t: Translate = None,
) -> go.Figure:
    """Scatter of the 2-D map of the shared space: symbol per modality, colour by choice.

    points columns: ``u``, ``v`` (map coordinates), ``sample`` (pair index, shared by the
    modalities of one sample), ``modality``; optional ``label_name``, ``reliability``
    (in [0, 1] or NaN), ``hover`` (extra hover text).

    color_by: "modality" (:func:`modality_color_map`, or ``colors``), "label"
        (:data:`LABEL_COLORS`; missing labels grey) or "reliability" (Cividis, 0..1;
        unknown grey).
    show_pairs: thin grey segments joining the points of the same sample.
    max_points: above this many rows, a seeded sample of whole samples is drawn and the
        title says so. webgl_threshold: above this many drawn points, WebGL traces.
    Each point's ``customdata`` is numeric ``[sample, modality index, row, label index]``
    (indices into the modality order and the sorted label names) where ``row`` is the
    position in ``points``, so a Plotly selection maps back to rows.
    """
    tr = _tr(t)
    _check_columns(points, ["u", "v", "sample", "modality"], "shared_space")
    if color_by not in ("modality", "label", "reliability"):
        raise DataError("errors.plots.bad_color_by", color_by=color_by)
    if color_by == "reliability":
        _check_columns(points, ["reliability"], "Colouring by reliability")
    total = len(points)
    title = title or tr("plots.shared_embedding_space")
    rows = np.arange(total)
    sample_all = points["sample"].to_numpy()
    if total > max_points:
        rows = _sample_rows(sample_all, max_points, seed)
        note = tr("plots.showing_shown_total_points").format(
            shown=f"{len(rows):,}", total=f"{total:,}"
        )
        title = f"{title} ({note})"
    u = points["u"].to_numpy(dtype=float)[rows]
    v = points["v"].to_numpy(dtype=float)[rows]
    sample = sample_all[rows]
    modality = points["modality"].astype(str).to_numpy()[rows]
    if "label_name" in points.columns:
        lab = points["label_name"].to_numpy(dtype=object)[rows]
        lab = np.where(pd.isna(lab), tr("plots.no_label"), lab).astype(str)
    else:
        lab = np.full(len(rows), tr("plots.no_label"), dtype=object)
    n = len(rows)
    size = marker_size or (7 if n <= 2_000 else 5 if n <= 10_000 else 3)

    mod_names = list(dict.fromkeys(points["modality"].astype(str)))
    mod_colors = dict(colors) if colors is not None else modality_color_map(mod_names)
    mod_symbol = {m: MODALITY_SYMBOLS[i % len(MODALITY_SYMBOLS)] for i, m in enumerate(mod_names)}

    # customdata is numeric [sample, modality index, row, label index]: object arrays of mixed
    # ints and strings are copied and serialised element by element (~70 % of the build time
    # at 10k points). Names reach the hover through a plain string array and the trace's
    # own template instead.
    mod_index = {m: i for i, m in enumerate(mod_names)}
    lab_codes, lab_index = np.unique(lab, return_inverse=True)
    customdata = np.column_stack(
        [sample, [mod_index[m] for m in modality], rows, lab_index]
    ).astype(np.float64)
    hover = points["hover"].astype(str).to_numpy()[rows] if "hover" in points.columns else None
    text = (
        lab.astype(str)
        if hover is None
        else np.char.add(np.char.add(lab.astype(str), "<br>"), hover.astype(str))
    )

    def hovertemplate(mod: str) -> str:
        return (
            f"{tr('plots.sample')} %{{customdata[0]}}<br>{tr('plots.modality')} {mod}"
            f"<br>{tr('plots.label')} %{{text}}<extra></extra>"
        )

    # Traces are plain dicts: go.Figure validates them once, instead of validating and
    # then deep-copying trace objects (a third of the build time at 10k points).
    trace_type = "scattergl" if n > webgl_threshold else "scatter"

    def trace(sel: np.ndarray, name: str, marker: dict, mod: str, **kw: object) -> dict:
        return dict(
            type=trace_type,
            x=u[sel],
            y=v[sel],
            mode="markers",
            name=name,
            # Translucent, so the modality drawn last does not hide the one beneath it.
            marker=dict(size=size, line=dict(width=0), opacity=0.7, **marker),
            customdata=customdata[sel],
            text=text[sel],
            hovertemplate=hovertemplate(mod),
            **kw,
        )

    traces: list[dict] = []
    if show_pairs:
        px_, py_ = _pair_segments(u, v, sample)
        traces.append(
            dict(
                type=trace_type,
                x=px_,
                y=py_,
                mode="lines",
                name=tr("plots.pairs"),
                line=dict(color=PAIR_LINE_COLOR, width=1),
                hoverinfo="skip",
            )
        )
    # Symbol per modality: one trace per (colour group, modality), each with a constant
    # symbol, because per-point symbol arrays are validated point by point (~20 ms per
    # 1,000 points). Traces of one colour group share a legend entry.
    if color_by == "modality":
        for m in mod_names:
            sel = np.flatnonzero(modality == m)
            if sel.size:
                color = mod_colors.get(m, MISSING_COLOR)
                traces.append(trace(sel, m, dict(color=color, symbol=mod_symbol[m]), m))
    elif color_by == "label":
        codes = points["label"].to_numpy(dtype=float)[rows] if "label" in points.columns else None
        names = [x for x in class_order(lab, codes) if x != tr("plots.no_label")]
        lab_colors = label_color_map(names)
        for name in [*names, tr("plots.no_label")]:
            in_group = lab == name
            first = True
            for m in mod_names:
                sel = np.flatnonzero(in_group & (modality == m))
                if sel.size:
                    color = lab_colors.get(name, MISSING_COLOR)
                    traces.append(
                        trace(
                            sel,
                            name,
                            dict(color=color, symbol=mod_symbol[m]),
                            m,
                            legendgroup=f"label:{name}",
                            showlegend=first,
                        )
                    )
                    first = False
    else:
        rel = points["reliability"].to_numpy(dtype=float)[rows]
        known = np.isfinite(rel)
        first = True
        for m in mod_names:
            sel = np.flatnonzero((modality == m) & known)
            if sel.size:
                marker = dict(color=rel[sel], coloraxis="coloraxis", symbol=mod_symbol[m])
                # No legend entry: the colour bar explains colour, the entries below symbols.
                traces.append(trace(sel, m, marker, m, showlegend=False))
            sel = np.flatnonzero((modality == m) & ~known)
            if sel.size:
                marker = dict(color=MISSING_COLOR, symbol=mod_symbol[m])
                name = tr("plots.unknown_reliability")
                traces.append(trace(sel, name, marker, m, legendgroup="unknown", showlegend=first))
                first = False
    if color_by != "modality":
        # Legend-only entries explaining the symbols (the colours now mean something else).
        for m in mod_names:
            traces.append(
                dict(
                    type="scatter",
                    x=[None],
                    y=[None],
                    mode="markers",
                    name=m,
                    marker=dict(symbol=mod_symbol[m], color=MISSING_COLOR, size=9),
                    legendgroup="modality",
                    legendgrouptitle=dict(text=tr("plots.modality")),
                    hoverinfo="skip",
                )
            )
    fig = go.Figure(data=traces)
    if color_by == "reliability":
        fig.update_layout(
            coloraxis=dict(
                colorscale=RELIABILITY_SCALE,
                cmin=0.0,
                cmax=1.0,
                colorbar=dict(title=dict(text=tr("plots.reliability")), x=1.02),
            ),
            legend=dict(x=1.15),
        )
    # Map axes carry no units of their own; equal scales keep distances honest (PCA).
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    fig.update_layout(legend=dict(itemsizing="constant"), dragmode="lasso")
    x_label, y_label = axis_labels or (tr("plots.map_axis_1_u"), tr("plots.map_axis_2_u"))
    return _finish(fig, title, x_label, y_label)


# ----------------------------------------------------------------------------- attention


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
    fig.update_yaxes(range=[0, 1])
    return _finish(
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
    fig.update_yaxes(range=[0, 1])
    return _finish(
        fig,
        title or tr("plots.attention_weight_vs_modality_reliability"),
        tr("plots.modality"),
        tr("plots.attention_weight"),
    )


def head_attention(
    head_weights: np.ndarray, modality_names: Sequence[str], t: Translate = None
) -> go.Figure:
    """Mean self-attention between modality tokens, one heatmap per head.

    head_weights: (n, H, M, M); entry [h, i, j] is how much token i (query) takes from
    token j (key) in head h, averaged here over the n samples.
    """
    from plotly.subplots import make_subplots

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


# ----------------------------------------------------------------------------- images


def image_grid(
    images: np.ndarray,
    captions: Sequence[str],
    n_cols: int = 5,
    title: str | None = None,
    t: Translate = None,
) -> go.Figure:
    """Greyscale thumbnails (k, H, W) with a caption above each; no axes.

    Each image is scaled to its own min..max so faint images stay visible.
    """
    tr = _tr(t)
    imgs = np.asarray(images, dtype=float)
    if imgs.ndim != 3:
        raise DataError("errors.plots.images_shape", shape=imgs.shape)
    k = imgs.shape[0]
    if len(captions) != k:
        raise DataError("errors.plots.captions_count", n_images=k, n_captions=len(captions))
    n_cols = max(1, min(n_cols, k)) if k else 1
    n_rows = max(1, -(-k // n_cols))
    fig = make_subplots(
        rows=n_rows,
        cols=n_cols,
        subplot_titles=list(captions),
        horizontal_spacing=0.02,
        vertical_spacing=0.08 if n_rows > 1 else 0.0,
    )
    for i in range(k):
        r, c = divmod(i, n_cols)
        img = imgs[i]
        lo, hi = float(np.nanmin(img)), float(np.nanmax(img))
        fig.add_trace(
            go.Heatmap(
                z=img,
                colorscale="gray",
                zmin=lo,
                zmax=hi if hi > lo else lo + 1.0,
                showscale=False,
                hovertemplate=f"{captions[i]}<br>%{{z:.2f}}<extra></extra>",
            ),
            row=r + 1,
            col=c + 1,
        )
    # Images: row 0 on top, square pixels, no ticks or grid.
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed")
    for i in range(k):
        suffix = "" if i == 0 else str(i + 1)
        fig.layout[f"yaxis{suffix}"].update(scaleanchor=f"x{suffix}", scaleratio=1)
    fig.update_annotations(font=dict(size=11))
    fig.update_layout(height=max(200, 150 * n_rows + 60), showlegend=False)
    return _finish(fig, title or tr("plots.image_samples"), None, None)
