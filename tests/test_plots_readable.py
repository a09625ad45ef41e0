"""Charts read by people who are not experts: chance labels clear of the bars and in the
tick's colour, values written level past the bar, titles clear of Plotly's toolbar (also
in presenter mode, over subplot titles), legends that name loss parts in words, and a
selection on the map that shows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from plotly.subplots import make_subplots

from fusion import plots
from fusion.i18n import text_for
from fusion.plots.style import DEFAULT_TITLE_PX, MODEBAR_PX
from fusion.plots.training import BAR_GAP

GREY_BAR = "#9e9e9e"  # the baselines chart's bars


def _bars(n: int = 4, size: int | None = None) -> go.Figure:
    names = [f"m{i}" for i in range(n)]
    values = {k: 0.2 + 0.15 * i for i, k in enumerate(names)}
    chance = {k: 0.125 if i % 2 else 0.9 for i, k in enumerate(names)}
    fig = plots.metric_bars(values, chance, titles={k: k.upper() for k in names})
    fig.data[0].marker.color = [GREY_BAR] * n
    return plots.for_projector(fig, size) if size else fig


def _px_per_row(fig: go.Figure) -> float:
    """Height in px of one category row of a metric_bars figure (its y range is fixed)."""
    m = fig.layout.margin
    plot_h = fig.layout.height - m.t - m.b
    lo, hi = sorted(fig.layout.yaxis.range)
    return plot_h / (hi - lo)


@pytest.mark.parametrize("size", [None, 20])
def test_chance_labels_sit_above_their_bar_in_the_gap(size) -> None:
    fig = _bars(4, size)
    labels = [a for a in fig.layout.annotations if a.text == "chance"]
    assert len(labels) == 4
    half = (1 - BAR_GAP) / 2
    font_px = size or 14
    gap_px = BAR_GAP * _px_per_row(fig)
    assert gap_px >= 1.2 * font_px, f"{gap_px:.0f} px between bars: a label does not fit"
    top_of_axis = max(fig.layout.yaxis.range[1], fig.layout.yaxis.range[0])
    assert fig.layout.yaxis.range[0] > fig.layout.yaxis.range[1], "first metric on top"
    for i, a in enumerate(labels):
        # Anchored by its bottom on the bar's top edge (the axis is reversed), so the text
        # lies in the empty band above the bar, never across the bar.
        assert a.yref == "y" and a.yanchor == "bottom"
        assert a.y == pytest.approx(i - half)
        room_above = (a.y - (i - 1 + half)) if i else (a.y - fig.layout.yaxis.range[1])
        assert room_above * _px_per_row(fig) >= 1.2 * font_px
        assert a.y < top_of_axis
    # The first row has as much room above it as the others.
    assert labels[0].y - fig.layout.yaxis.range[1] == pytest.approx(BAR_GAP)


def test_chance_labels_are_in_the_ticks_colour_not_grey() -> None:
    fig = _bars(3)
    tick = next(tr for tr in fig.data if tr.name == "chance")
    labels = [a for a in fig.layout.annotations if a.text == "chance"]
    assert tick.marker.color == tick.marker.line.color  # open symbols are drawn in marker.color
    assert {a.font.color for a in labels} == {tick.marker.line.color}
    assert tick.marker.line.color.lower() not in (GREY_BAR, plots.MISSING_COLOR.lower())
    assert tick.mode == "markers"  # the label is the annotation, not text on the bar


def test_bar_values_are_level_and_outside_the_bar() -> None:
    fig = plots.for_projector(_bars(5), 20)
    bar = fig.data[0]
    assert bar.textangle == 0 and bar.textposition == "outside" and bar.cliponaxis is False
    assert fig.layout.margin.r >= 3 * 20  # "0.987" past a full bar fits in the margin


@pytest.mark.parametrize("projector", [False, True])
def test_titles_sit_below_the_toolbar(projector) -> None:
    figures = [
        _bars(3),
        plots.loss_curves(pd.DataFrame({"step": [0, 1], "loss": [1.0, 0.5]})),
        plots.shared_space(
            pd.DataFrame(
                {"u": [0.0, 1.0], "v": [0.0, 1.0], "sample": [0, 0], "modality": ["a", "b"]}
            )
        ),
    ]
    for fig in figures:
        if projector:
            plots.for_projector(fig)
        title = fig.layout.title
        assert (title.yref, title.y, title.yanchor) == ("container", 1, "top")
        assert title.pad.t >= MODEBAR_PX
        lines = title.text.count("<br>") + 1
        px = title.font.size or DEFAULT_TITLE_PX
        assert fig.layout.margin.t >= MODEBAR_PX + lines * px * 1.2, title.text


def test_projector_title_clears_subplot_titles() -> None:
    """The collapse lesson's before/after grid: a two-line title ran into the panels'
    titles at projector size."""
    fig = make_subplots(rows=2, cols=2, subplot_titles=["Seed, epoch 0", "Seed, epoch 20"] * 2)
    for r in (1, 2):
        for c in (1, 2):
            fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1]), row=r, col=c)
    fig.update_layout(title=dict(text="Before and after training, on the same axes per row"))
    plots.for_projector(fig, 20)
    title_px = fig.layout.title.font.size
    assert "<br>" in fig.layout.title.text
    needed = MODEBAR_PX + 2 * title_px * 1.2 + 20 * 1.2  # toolbar, two lines, panel title
    assert fig.layout.margin.t >= needed


def test_place_title_leaves_an_untitled_figure_alone() -> None:
    fig = go.Figure(layout=dict(margin=dict(t=40)))
    plots.place_title(fig)
    assert fig.layout.margin.t == 40 and fig.layout.title.pad.t is None


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", ["total loss", "first → second modality", "attention entropy", "foo"]),
        ("zh", ["总损失", "第一模态 → 第二模态", "注意力熵", "foo"]),
    ],
)
def test_loss_legends_name_parts_in_words(lang, expected) -> None:
    df = pd.DataFrame(
        {"step": [0, 1], "loss": [1.0, 0.5], "a_to_b": [1, 0.4], "attn_entropy": [0.3, 0.2]}
    )
    df["foo"] = [0.1, 0.2]  # a column the catalogue does not know is shown as it is
    fig = plots.loss_curves(df, t=text_for(lang))
    assert [tr.name for tr in fig.data] == expected


def test_validation_parts_say_so() -> None:
    hist = pd.DataFrame({"epoch": [0, 1], "ce": [2.0, 1.0], "val_ce": [2.5, 1.5]})
    fig = plots.loss_curves(hist, x="epoch")
    assert [tr.name for tr in fig.data] == [
        "classification loss",
        "classification loss (validation)",
    ]
    assert fig.data[1].line.dash == "dash"


def test_a_selection_on_the_map_shows() -> None:
    n = 40
    pts = pd.DataFrame(
        {
            "u": np.arange(n, dtype=float),
            "v": np.arange(n, dtype=float),
            "sample": np.arange(n) % 20,
            "modality": ["a"] * 20 + ["b"] * 20,
        }
    )
    for webgl in (10**6, 1):  # SVG and WebGL traces
        fig = plots.shared_space(pts, webgl_threshold=webgl)
        for tr in fig.data:
            assert tr.unselected.marker.opacity <= 0.15 < tr.marker.opacity
            assert tr.selected.marker.opacity == 1.0
            assert tr.selected.marker.size > tr.marker.size


def test_for_people_levels_bar_values_of_any_figure() -> None:
    """The lessons' grouped bars are built outside fusion.plots; every chart a page shows
    passes through for_people, which keeps their values level."""
    fig = go.Figure(
        [go.Bar(x=["a", "b"], y=[0.5, 0.7], text=["0.500", "0.700"], textposition="outside")] * 4,
        layout=dict(title=dict(text="Class precision@10 after training")),
    )
    plots.for_people(fig)
    assert all(tr.textangle == 0 for tr in fig.data)
    assert fig.layout.title.yanchor == "top" and fig.layout.title.pad.t >= MODEBAR_PX
