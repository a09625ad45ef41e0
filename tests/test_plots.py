"""Tests for fusion.plots: every builder returns a titled, labelled Figure; map details."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from fusion import plots
from fusion.errors import FusionError

MODS = ["image", "text", "audio"]


def points_df(n_samples: int = 100, mods: list[str] = MODS, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    labels = ["cat", "dog", None]
    for m in mods:
        for s in range(n_samples):
            rows.append(
                {
                    "u": rng.normal(),
                    "v": rng.normal(),
                    "sample": s,
                    "modality": m,
                    "label_name": labels[s % 3],
                    "reliability": np.nan if s % 7 == 0 else rng.uniform(),
                }
            )
    return pd.DataFrame(rows)


def attention(n: int = 60, m: int = 3, seed: int = 0) -> np.ndarray:
    w = np.random.default_rng(seed).uniform(size=(n, m))
    return w / w.sum(axis=1, keepdims=True)


def has_title_and_axes(fig: go.Figure, axes: bool = True) -> bool:
    ok = isinstance(fig, go.Figure) and bool(fig.layout.title.text)
    if axes:
        ok = ok and bool(fig.layout.xaxis.title.text) and bool(fig.layout.yaxis.title.text)
    return ok


def all_figures() -> dict[str, go.Figure]:
    rng = np.random.default_rng(0)
    hist = pd.DataFrame(
        {
            "step": np.arange(20),
            "align_loss": np.linspace(2, 0.5, 20),
            "reg_loss": np.linspace(0.3, 0.1, 20),
            "val_align_loss": [np.nan if i % 5 else 1.0 for i in range(20)],
        }
    )
    labels = rng.integers(0, 3, 60)
    spread = pd.DataFrame(
        {
            "epoch": list(range(5)) * 2,
            "spread": np.r_[np.ones(5), 0.1 ** np.arange(5)],
            "run": ["ok"] * 5 + ["collapsed"] * 5,
        }
    )
    return {
        "loss_curves": plots.loss_curves(hist, log_y=True),
        "metric_bars": plots.metric_bars({"top1": 0.8, "r@5": 0.9}, {"top1": 0.1}),
        "shared_space": plots.shared_space(points_df()),
        "attention_heatmap": plots.attention_heatmap(attention(), MODS),
        "attention_by_class": plots.attention_by_class(attention(), labels, ["a", "b", "c"], MODS),
        "attention_vs_reliability": plots.attention_vs_reliability(
            attention(), rng.integers(0, 2, (60, 3)), MODS
        ),
        "embedding_spread": plots.embedding_spread(spread),
    }


@pytest.mark.parametrize("name", list(all_figures()))
def test_every_builder_has_title_and_axis_labels(name: str) -> None:
    assert has_title_and_axes(all_figures()[name]), name


def test_image_grid() -> None:
    imgs = np.random.default_rng(0).uniform(size=(7, 8, 8))
    fig = plots.image_grid(imgs, [f"#{i}" for i in range(7)], n_cols=4)
    assert has_title_and_axes(fig, axes=False)
    assert sum(isinstance(tr, go.Heatmap) for tr in fig.data) == 7
    assert [a.text for a in fig.layout.annotations] == [f"#{i}" for i in range(7)]
    assert fig.layout.xaxis.visible is False
    with pytest.raises(FusionError, match="captions"):
        plots.image_grid(imgs, ["x"])


def test_palettes() -> None:
    assert len(plots.LABEL_COLORS) >= 10
    cmap = plots.modality_color_map(MODS)
    assert list(cmap) == MODS and len(set(cmap.values())) == 3
    assert all(c.startswith("#") and len(c) == 7 for c in plots.MODALITY_COLORS)


def test_same_modality_same_colour_across_figures() -> None:
    space = plots.shared_space(points_df())
    bars = plots.attention_by_class(attention(), np.arange(60) % 3, ["a", "b", "c"], MODS)
    box = plots.attention_vs_reliability(attention(), np.ones((60, 3)), MODS)
    space_colors = {tr.name: tr.marker.color for tr in space.data}
    bar_colors = {tr.name: tr.marker.color for tr in bars.data}
    for m in MODS:
        assert space_colors[m] == bar_colors[m] == plots.modality_color_map(MODS)[m]
        assert any(tr.line.color == bar_colors[m] for tr in box.data if tr.legendgroup == m)


def test_shared_space_symbols_customdata_and_legend() -> None:
    df = points_df(50)
    fig = plots.shared_space(df)
    point_traces = [tr for tr in fig.data if tr.mode == "markers"]
    assert {tr.name for tr in point_traces} == set(MODS)
    assert len({tr.marker.symbol for tr in point_traces}) == 3
    for tr in point_traces:
        cd = np.asarray(tr.customdata, dtype=object)
        rows = cd[:, 2].astype(int)
        # customdata maps back to the exact rows of the input frame
        assert (df["sample"].to_numpy()[rows] == cd[:, 0].astype(int)).all()
        # the modality index points into the modality order; the hover names it
        assert (df["modality"].to_numpy()[rows] == np.asarray(MODS)[cd[:, 1].astype(int)]).all()
        assert tr.name in tr.hovertemplate
        assert (df["u"].to_numpy()[rows] == np.asarray(tr.x)).all()


@pytest.mark.parametrize("color_by", ["label", "reliability"])
def test_shared_space_other_colourings(color_by: str) -> None:
    fig = plots.shared_space(points_df(), color_by=color_by)
    assert has_title_and_axes(fig)
    drawn = sum(len(tr.x) for tr in fig.data if tr.customdata is not None)
    assert drawn == 300  # every point drawn once
    if color_by == "label":
        assert {"cat", "dog", "no label"} <= {tr.name for tr in fig.data}
    else:
        assert fig.layout.coloraxis.colorbar.title.text == "reliability"
        assert (fig.layout.coloraxis.cmin, fig.layout.coloraxis.cmax) == (0.0, 1.0)


def test_shared_space_pairs() -> None:
    fig = plots.shared_space(points_df(10), show_pairs=True)
    lines = [tr for tr in fig.data if tr.mode == "lines"]
    assert len(lines) == 1
    x = np.asarray(lines[0].x, dtype=float)
    # 10 samples x 3 modalities joined in a chain, a gap (NaN, sent as a missing value,
    # which Plotly does not connect) after each sample
    assert np.isnan(x).sum() == 10 and len(x) == 40
    assert lines[0].connectgaps is not True
    assert not [tr for tr in plots.shared_space(points_df(10)).data if tr.mode == "lines"]


def test_shared_space_sampling_and_webgl() -> None:
    df = points_df(2000)  # 6,000 points
    fig = plots.shared_space(df, max_points=3000, webgl_threshold=1000, show_pairs=True)
    assert "showing 3,000 of 6,000 points" in fig.layout.title.text
    drawn = [tr for tr in fig.data if tr.customdata is not None]
    assert sum(len(tr.x) for tr in drawn) == 3000
    assert all(isinstance(tr, go.Scattergl) for tr in drawn)
    assert isinstance(plots.shared_space(points_df(10)).data[0], go.Scatter)
    # Sampling is seeded: same figure twice.
    again = plots.shared_space(df, max_points=3000, webgl_threshold=1000)
    assert list(again.data[0].x) == list(
        plots.shared_space(df, max_points=3000, webgl_threshold=1000).data[0].x
    )


def test_shared_space_draws_10k_points_with_webgl() -> None:
    """Large maps use WebGL traces, which is what keeps a recolour fast in the browser (the
    speed itself is measured by ``python -m benchmarks --only maps``, not timed here)."""
    df = points_df(3334, mods=MODS)  # ~10k rows
    fig = plots.shared_space(df, color_by="label")
    gl = [tr for tr in fig.data if tr.type == "scattergl"]
    assert sum(len(tr.x) for tr in gl) == len(df)  # every point is drawn by WebGL
    small = plots.shared_space(points_df(100, mods=MODS))
    assert not [tr for tr in small.data if tr.type == "scattergl"]


def test_translation_reaches_visible_strings() -> None:
    from fusion.i18n import text_for

    t = text_for("zh")
    fig = plots.loss_curves(pd.DataFrame({"step": [0, 1], "loss_a": [1.0, 0.5]}), t=t)
    assert fig.layout.title.text == "训练损失"
    assert fig.layout.yaxis.title.text == "损失" and fig.layout.xaxis.title.text == "步"
    bars = plots.metric_bars({"acc": 0.5}, {"acc": 0.25}, t=t)
    assert any(tr.name == "随机水平" for tr in bars.data)
    english = plots.loss_curves(pd.DataFrame({"step": [0, 1], "loss_a": [1.0, 0.5]}))
    assert english.layout.title.text == "Training losses"


def test_loss_curves_dashes_validation() -> None:
    hist = pd.DataFrame({"epoch": [0, 1, 2], "a": [3.0, 2.0, 1.0], "val_a": [3.5, 2.5, 1.5]})
    fig = plots.loss_curves(hist, x="epoch")
    dashes = {tr.name: tr.line.dash for tr in fig.data}
    assert dashes == {"a": "solid", "val_a": "dash"}
    assert fig.data[0].line.color == fig.data[1].line.color
    assert fig.layout.xaxis.title.text == "epoch"


def test_metric_bars_chance_marker() -> None:
    fig = plots.metric_bars({"acc": 0.7, "f1": 0.6}, {"acc": 0.1}, titles={"acc": "accuracy"})
    chance = [tr for tr in fig.data if tr.name == "chance"]
    assert len(chance) == 1
    assert list(chance[0].x) == [0.1] and list(chance[0].y) == ["accuracy"]
    labels = [a for a in fig.layout.annotations if a.text == "chance"]
    assert [(a.x, a.xref, a.yref) for a in labels] == [(0.1, "x", "y")]


def test_chance_labels_sit_beside_their_tick_and_are_never_clipped() -> None:
    """A label for a chance level near 0 sits beside its tick, not centred and cut ("nce")."""
    fig = plots.metric_bars(
        {"r1": 0.4, "acc": 0.9}, {"r1": 0.0025, "acc": 0.95}, titles={"r1": "R@1", "acc": "Acc"}
    )
    chance = next(tr for tr in fig.data if tr.name == "chance")
    assert chance.cliponaxis is False
    labels = [a for a in fig.layout.annotations if a.text == "chance"]
    assert [a.xanchor for a in labels] == ["left", "right"]  # room on the open side


def test_attention_heatmap_sorting_and_rows() -> None:
    w = attention(1000)
    labels = np.arange(1000) % 4
    fig = plots.attention_heatmap(
        w, MODS, sort_by="label", labels=labels, label_names=["a", "b", "c", "d"], max_rows=200
    )
    hm = fig.data[0]
    assert np.asarray(hm.z).shape == (200, 3)
    assert (hm.zmin, hm.zmax) == (0.0, 1.0)
    assert hm.colorbar.title.text == "attention weight"
    assert list(fig.layout.yaxis.ticktext) == ["a", "b", "c", "d"]
    assert "showing 200 of 1,000 samples" in fig.layout.title.text
    by_text = plots.attention_heatmap(w[:50], MODS, sort_by="text")
    col = np.asarray(by_text.data[0].z)[:, 1]
    assert (np.diff(col) <= 0).all()
    with pytest.raises(FusionError, match="labels"):
        plots.attention_heatmap(w, MODS, sort_by="label")


def test_attention_by_class_means() -> None:
    w = np.array([[1.0, 0.0], [0.8, 0.2], [0.0, 1.0]])
    fig = plots.attention_by_class(w, np.array([0, 0, 1]), ["x", "y", "unused"], ["img", "txt"])
    assert list(fig.data[0].x) == ["x", "y"]  # classes without samples are left out
    assert list(fig.data[0].y) == pytest.approx([0.9, 0.0])


def test_attention_vs_reliability_splits_by_mask() -> None:
    w = attention(40, 2)
    mask = np.zeros((40, 2))
    mask[:10, 0] = 1
    fig = plots.attention_vs_reliability(w, mask, ["img", "txt"])
    sizes = {tr.name: len(tr.y) for tr in fig.data}
    assert sizes["img: reliable (mask = 1)"] == 10
    assert sizes["img: unreliable (mask = 0)"] == 30
    with pytest.raises(FusionError, match="mask"):
        plots.attention_vs_reliability(w, mask[:5], ["img", "txt"])


def test_log_axes_tick_clean_decades_or_one_two_five() -> None:
    """Log axes tick clean values, not Plotly's own "2, 100, 5, 2, 10"."""
    assert plots.log_ticks([0.003, 0.5, 40.0])[1] == ["0.01", "0.1", "1", "10"]
    assert plots.log_ticks([2.0, 100.0])[1] == ["2", "5", "10", "20", "50", "100"]
    assert plots.log_ticks([0.9, 3.0])[1] == ["1", "2"]
    many = plots.log_ticks([1e-12, 10.0])
    assert len(many[0]) <= 8 and many[1][0] == "1e-12"
    assert plots.log_ticks([0.0, np.nan]) == ([], [])
    df = pd.DataFrame({"epoch": [0, 1, 2], "run a": [30.0, 4.0, 0.5], "run b": [2.0, 1.0, 0.08]})
    fig = plots.loss_curves(df, x="epoch", log_y=True)
    assert fig.layout.yaxis.type == "log"
    assert list(fig.layout.yaxis.ticktext) == ["0.1", "1", "10"]
    spread = plots.embedding_spread(pd.DataFrame({"epoch": [0, 9], "spread": [1.0, 1e-6]}))
    decades = ["1e-6", "1e-5", "1e-4", "0.001", "0.01", "0.1", "1"]
    assert list(spread.layout.yaxis.ticktext) == decades
    # A short run's epochs are whole: no 1.2, 1.4, ... (a long one keeps Plotly's ticks).
    assert fig.layout.xaxis.dtick == 1 and spread.layout.xaxis.dtick == 1
    long = pd.DataFrame({"epoch": np.arange(200), "loss": np.linspace(3, 1, 200)})
    assert plots.loss_curves(long, x="epoch").layout.xaxis.dtick is None


def test_class_legend_and_axes_in_class_order() -> None:
    """The class legend and axis list every class in order (not 0, 4, 5, 1, … or only 0, 5)."""
    order = [3, 0, 4, 5, 1, 2, 10, 0, 7, 6, 9, 8]
    df = pd.DataFrame(
        {
            "u": np.arange(12.0),
            "v": np.arange(12.0),
            "sample": np.arange(12),
            "modality": "img",
            "label": order,
            "label_name": [str(c) for c in order],
        }
    )
    fig = plots.shared_space(df, color_by="label")
    shown = [tr for tr in fig.data if tr.showlegend is not False]
    legend = [tr.name for tr in shown if tr.legendgroup != "modality"]
    assert legend[: len(set(order))] == [str(c) for c in sorted(set(order))]
    assert plots.class_order(["cat", "dog", "bird"], [1, 2, 0]) == ["bird", "cat", "dog"]
    assert plots.class_order(["class_10", "class_2"]) == ["class_2", "class_10"]

    names = [str(c) for c in range(10)]
    labels = np.arange(40) % 10
    bars = plots.attention_by_class(attention(40, 2), labels, names, ["img", "txt"])
    assert bars.layout.xaxis.type == "category"
    assert list(bars.data[0].x) == names  # every class has its own tick


def test_bad_columns_name_the_fix() -> None:
    with pytest.raises(FusionError, match="needs the column"):
        plots.shared_space(pd.DataFrame({"u": [0.0], "v": [0.0]}))


def test_for_projector_sets_every_text_size_explicitly() -> None:
    """Presenter mode sets every text size: a host theme's tick, legend and title fonts
    override the layout's font alone (they would stay about 10 px)."""
    fig = plots.for_projector(plots.metric_bars({"acc": 0.7, "f1": 0.6}, {"acc": 0.1}), size=20)
    assert fig.layout.xaxis.tickfont.size == fig.layout.yaxis.tickfont.size == 20
    assert fig.layout.xaxis.title.font.size == 20 and fig.layout.legend.font.size == 20
    assert fig.layout.title.font.size > 20
    assert all(tr.textfont.size == 20 for tr in fig.data)
    assert fig.layout.height > 220 and fig.layout.margin.l >= 60


def test_head_attention_draws_one_heatmap_per_head():
    w = np.random.default_rng(0).dirichlet(np.ones(2), size=(5, 3, 2))  # (n, H, M, M)
    fig = plots.head_attention(w, ["img", "txt"])
    assert [tr.type for tr in fig.data] == ["heatmap"] * 3
    np.testing.assert_allclose(fig.data[1].z, w.mean(axis=0)[1])
    assert [tr.showscale for tr in fig.data] == [False, False, True]  # one colour bar
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["head 1", "head 2", "head 3"], titles


def test_for_projector_breaks_a_long_title_onto_two_lines() -> None:
    """Plotly never wraps a title; at projector size the map's title ran off the chart."""
    fig = go.Figure(
        layout=dict(title=dict(text="Shared space at epoch 15 (UMAP of all modalities)"))
    )
    plots.for_projector(fig)
    assert fig.layout.title.text == "Shared space at epoch 15 (UMAP of<br>all modalities)"
    short = plots.for_projector(go.Figure(layout=dict(title=dict(text="Loss"))))
    assert short.layout.title.text == "Loss"
