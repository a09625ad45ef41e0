"""The shared-space map (2-D coordinates already projected) and image grids."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from fusion.errors import DataError
from fusion.plots.style import (
    MISSING_COLOR,
    MODALITY_SYMBOLS,
    PAIR_LINE_COLOR,
    ColorBy,
    Translate,
    _check_columns,
    _finish,
    _tr,
    class_order,
    label_color_map,
    modality_color_map,
    reliability_colour_axis,
)


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
    if total > max_points:
        rows = _sample_rows(points["sample"].to_numpy(), max_points, seed)
        note = tr("plots.showing_shown_total_points").format(
            shown=f"{len(rows):,}", total=f"{total:,}"
        )
        title = f"{title} ({note})"
    m = _MapTraces(points, rows, tr, colors, marker_size, webgl_threshold)
    traces = m.pair_lines() if show_pairs else []
    if color_by == "modality":
        traces += m.by_modality()
    elif color_by == "label":
        traces += m.by_label(points)
    else:
        traces += m.by_reliability(points)
    if color_by != "modality":
        traces += m.symbol_legend()  # the colours now mean something else
    fig = go.Figure(data=traces)
    if color_by == "reliability":
        reliability_colour_axis(fig, tr)
    # Map axes carry no units of their own; equal scales keep distances honest (PCA).
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    fig.update_layout(legend=dict(itemsizing="constant"), dragmode="lasso")
    x_label, y_label = axis_labels or (tr("plots.map_axis_1_u"), tr("plots.map_axis_2_u"))
    return _finish(fig, title, x_label, y_label)


SELECTION_DIM = 0.12  # opacity of the points left out of a selection on the map


class _MapTraces:
    """The drawn rows of a map and the traces built from them (plain dicts).

    Traces are plain dicts: go.Figure validates them once, instead of validating and then
    deep-copying trace objects (a third of the build time at 10k points). Symbol per
    modality: one trace per (colour group, modality), each with a constant symbol, because
    per-point symbol arrays are validated point by point (~20 ms per 1,000 points).
    """

    def __init__(self, points, rows, tr, colors, marker_size, webgl_threshold) -> None:
        self.rows, self.tr = rows, tr
        self.u = points["u"].to_numpy(dtype=float)[rows]
        self.v = points["v"].to_numpy(dtype=float)[rows]
        self.sample = points["sample"].to_numpy()[rows]
        self.modality = points["modality"].astype(str).to_numpy()[rows]
        if "label_name" in points.columns:
            lab = points["label_name"].to_numpy(dtype=object)[rows]
            self.lab = np.where(pd.isna(lab), tr("plots.no_label"), lab).astype(str)
        else:
            self.lab = np.full(len(rows), tr("plots.no_label"), dtype=object)
        n = len(rows)
        self.size = marker_size or (7 if n <= 2_000 else 5 if n <= 10_000 else 3)
        self.trace_type = "scattergl" if n > webgl_threshold else "scatter"
        self.mod_names = list(dict.fromkeys(points["modality"].astype(str)))
        self.mod_colors = dict(colors) if colors is not None else modality_color_map(self.mod_names)
        self.symbol = {
            m: MODALITY_SYMBOLS[i % len(MODALITY_SYMBOLS)] for i, m in enumerate(self.mod_names)
        }
        # customdata is numeric [sample, modality index, row, label index]: object arrays of
        # mixed ints and strings are copied and serialised element by element (~70 % of the
        # build time at 10k points). Names reach the hover through a plain string array and
        # the trace's own template instead.
        mod_index = {m: i for i, m in enumerate(self.mod_names)}
        _, lab_index = np.unique(self.lab, return_inverse=True)
        self.customdata = np.column_stack(
            [self.sample, [mod_index[m] for m in self.modality], rows, lab_index]
        ).astype(np.float64)
        hover = points["hover"].astype(str).to_numpy()[rows] if "hover" in points.columns else None
        lab_text = self.lab.astype(str)
        self.text = lab_text if hover is None else np.char.add(np.char.add(lab_text, "<br>"), hover)

    def trace(self, sel: np.ndarray, name: str, marker: dict, mod: str, **kw: object) -> dict:
        tr = self.tr
        return dict(
            type=self.trace_type,
            x=self.u[sel],
            y=self.v[sel],
            mode="markers",
            name=name,
            # Translucent, so the modality drawn last does not hide the one beneath it.
            marker=dict(size=self.size, line=dict(width=0), opacity=0.7, **marker),
            # A selection (``selectedpoints``) shows plainly: chosen points opaque and
            # larger, the rest faint.
            selected=dict(marker=dict(opacity=1.0, size=self.size + 3)),
            unselected=dict(marker=dict(opacity=SELECTION_DIM)),
            customdata=self.customdata[sel],
            text=self.text[sel],
            hovertemplate=(
                f"{tr('plots.sample')} %{{customdata[0]}}<br>{tr('plots.modality')} {mod}"
                f"<br>{tr('plots.label')} %{{text}}<extra></extra>"
            ),
            **kw,
        )

    def pair_lines(self) -> list[dict]:
        px_, py_ = _pair_segments(self.u, self.v, self.sample)
        return [
            dict(
                type=self.trace_type,
                x=px_,
                y=py_,
                mode="lines",
                name=self.tr("plots.pairs"),
                line=dict(color=PAIR_LINE_COLOR, width=1),
                hoverinfo="skip",
            )
        ]

    def by_modality(self) -> list[dict]:
        out = []
        for m in self.mod_names:
            sel = np.flatnonzero(self.modality == m)
            if sel.size:
                color = self.mod_colors.get(m, MISSING_COLOR)
                out.append(self.trace(sel, m, dict(color=color, symbol=self.symbol[m]), m))
        return out

    def by_label(self, points: pd.DataFrame) -> list[dict]:
        no_label = self.tr("plots.no_label")
        codes = (
            points["label"].to_numpy(dtype=float)[self.rows] if "label" in points.columns else None
        )
        names = [x for x in class_order(self.lab, codes) if x != no_label]
        lab_colors = label_color_map(names)
        out = []
        for name in [*names, no_label]:
            in_group = self.lab == name
            first = True
            for m in self.mod_names:
                sel = np.flatnonzero(in_group & (self.modality == m))
                if sel.size:
                    marker = dict(color=lab_colors.get(name, MISSING_COLOR), symbol=self.symbol[m])
                    kw = dict(legendgroup=f"label:{name}", showlegend=first)
                    out.append(self.trace(sel, name, marker, m, **kw))
                    first = False
        return out

    def by_reliability(self, points: pd.DataFrame) -> list[dict]:
        rel = points["reliability"].to_numpy(dtype=float)[self.rows]
        known = np.isfinite(rel)
        out, first = [], True
        for m in self.mod_names:
            sel = np.flatnonzero((self.modality == m) & known)
            if sel.size:
                marker = dict(color=rel[sel], coloraxis="coloraxis", symbol=self.symbol[m])
                # No legend entry: the colour bar explains colour, the entries below symbols.
                out.append(self.trace(sel, m, marker, m, showlegend=False))
            sel = np.flatnonzero((self.modality == m) & ~known)
            if sel.size:
                marker = dict(color=MISSING_COLOR, symbol=self.symbol[m])
                name = self.tr("plots.unknown_reliability")
                out.append(
                    self.trace(sel, name, marker, m, legendgroup="unknown", showlegend=first)
                )
                first = False
        return out

    def symbol_legend(self) -> list[dict]:
        """Legend-only entries explaining the symbols."""
        return [
            dict(
                type="scatter",
                x=[None],
                y=[None],
                mode="markers",
                name=m,
                marker=dict(symbol=self.symbol[m], color=MISSING_COLOR, size=9),
                legendgroup="modality",
                legendgrouptitle=dict(text=self.tr("plots.modality")),
                hoverinfo="skip",
            )
            for m in self.mod_names
        ]


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
