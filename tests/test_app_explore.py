"""AppTest for the Explore page: a real tiny run, a damaged run, the map and its controls."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest_helpers import make_damaged, make_run, open_page
from views.site import EXPLORE


@pytest.fixture
def joint_run(runs_dir):
    return make_run(runs_dir, "tiny-joint")


def open_explore(**state) -> AppTest:
    return open_page(EXPLORE, **state)


@pytest.mark.slow
def test_explore_shows_map_metrics_and_controls(joint_run):
    at = open_explore(explore_method="pca")
    assert not at.exception, at.exception
    assert at.title[0].value.endswith("Explore a run")
    assert len(at.metric) >= 4
    assert any("chance" in str(m.proto.delta) for m in at.metric)
    labels = [g.label for g in at.button_group]
    assert "Projection" in labels and "Colour by" in labels
    assert at.select_slider(key="explore_epoch").value == 2
    assert at.get("plotly_chart")


@pytest.mark.slow
def test_explore_recolour_and_scrub(joint_run):
    at = open_explore(explore_method="pca")
    at.button_group(key="explore_color").set_value("label").run()
    assert not at.exception, at.exception
    at.select_slider(key="explore_epoch").set_value(0).run()
    assert not at.exception, at.exception
    assert any("epoch 0" in str(c.proto.spec) for c in at.get("plotly_chart"))


@pytest.mark.slow
def test_explore_selection_shows_samples_and_neighbours(joint_run):
    at = open_explore(
        explore_method="pca", explore_selection={"run": str(joint_run), "rows": [0, 1, 50]}
    )
    assert not at.exception, at.exception
    subheaders = [s.value for s in at.subheader]
    assert "Nearest neighbours in the other modality" in subheaders
    assert any("partner" in " ".join(map(str, d.value.columns)) for d in at.dataframe)


@pytest.mark.slow
def test_explore_umap_projection(joint_run):
    at = open_explore(explore_method="umap")
    assert not at.exception, at.exception
    assert any("UMAP" in str(c.proto.spec) for c in at.get("plotly_chart"))


@pytest.mark.slow
def test_explore_attention_run_has_attention_tab(runs_dir):
    make_run(runs_dir, "tiny-attention", method="attention")
    at = open_explore(explore_method="pca", explore_tab=":material/center_focus_strong: Attention")
    assert not at.exception, at.exception
    assert any("Attention" in t.label for t in at.tabs)
    specs = " ".join(str(c.proto.spec) for c in at.get("plotly_chart"))
    assert "Attention weights per sample" in specs
    assert "Attention weight vs modality reliability" in specs
    # Two charts per row: no column stacks charts beside an empty one.
    per_column = [len(column.get("plotly_chart")) for column in at.columns]
    assert max(per_column) == 1 and sum(per_column) >= 3, per_column
    charts = at.get("plotly_chart")
    by_class = next(c for c in charts if "Mean attention per class" in str(c.proto.spec))
    assert '"type":"category"' in by_class.proto.spec.replace(" ", "")  # every class a tick


@pytest.mark.slow
def test_classification_cards_say_which_chance(runs_dir):
    """Each card says which chance it shows: macro F1's (0.1) differs from accuracy's (0.25)."""
    import numpy as np

    from fusion.metrics import classification

    y = np.repeat(np.arange(4), 25)  # four balanced classes, one guess: the majority class
    scores = classification(y, y, 4)
    assert scores["accuracy_chance"] == 0.25 and scores["macro_f1_chance"] == 0.1
    make_run(runs_dir, "tiny-attention", method="attention")
    at = open_explore(explore_method="pca")
    assert not at.exception, at.exception
    cards = {m.label: m for m in at.metric}
    for name in ("Accuracy", "Macro F1"):
        assert "(majority class)" in str(cards[name].proto.delta), cards[name].proto.delta
        assert "most common class" in cards[name].help
    assert "0.1 with four balanced classes" in cards["Macro F1"].help


@pytest.mark.slow
def test_explore_damaged_run_is_listed_and_does_not_crash(runs_dir, joint_run):
    broken = make_damaged(runs_dir)
    at = open_explore(explore_method="pca")
    assert not at.exception, at.exception
    box = at.selectbox(key="explore_run")
    assert str(broken) in box.options or any("damaged" in o for o in box.options)
    box.set_value(str(broken)).run()
    assert not at.exception, at.exception
    assert any("damaged" in e.value for e in at.error)


@pytest.mark.slow
def test_explore_header_names_the_uploaded_files(runs_dir):
    """The run description names the uploaded files, not "data: your data"."""
    import json

    path = make_run(runs_dir, "mine")
    cfg = json.loads((path / "config.json").read_text())
    cfg["data"] = {"files": ["uploads/view_a.csv", "view_b.csv"], "format": "csv"}
    (path / "config.json").write_text(json.dumps(cfg))
    at = open_explore(explore_method="pca")
    assert not at.exception, at.exception
    assert any("data: view_a.csv, view_b.csv ·" in c.value for c in at.caption)


def test_explore_without_runs_offers_a_way_on(runs_dir):
    at = open_explore()
    assert not at.exception, at.exception
    assert at.button(key="explore_to_train")


def test_selection_event_rows_from_list_dict_or_point_index():
    """Plotly hands binary customdata back as a dict; each form finds the row."""
    from fusion.selection import event_rows

    by_trace = [None, [10, 11, 12], [20, 21]]  # pair lines first, then two modalities
    points = [
        {"curve_number": 1, "point_index": 0, "customdata": [0.0, 0.0, 10.0, 1.0]},
        {"curve_number": 1, "point_index": 2, "customdata": {"0": 2, "1": 0, "2": 12, "3": 0}},
        {"curve_number": 2, "point_index": 1},  # no customdata: looked up by index
        {"curve_number": 2, "point_index": 1, "customdata": {"0": 1}},  # unreadable, same
        {"curve_number": 0, "point_index": 5},  # the pair lines hold no points
        "not a point",
    ]
    assert event_rows(points, by_trace, row_in_customdata=2) == [10, 12, 21]
    assert event_rows([], by_trace, row_in_customdata=2) == []


@pytest.mark.slow
def test_explore_shows_a_collapsed_run_on_pca_by_default(runs_dir):
    """UMAP rescales every map, so a collapsed run would look healthy on it."""
    import pandas as pd

    path = make_run(runs_dir, "tiny-collapsed", loss="seed_alignment")
    emb = pd.read_parquet(path / "embeddings.parquet")
    last = emb["epoch"] == emb["epoch"].max()
    zc = [c for c in emb.columns if c.startswith("z")]
    emb.loc[last, zc] = emb.loc[last, zc] * 1e-3  # the spread falls 1000-fold, as the seed's does
    emb.to_parquet(path / "embeddings.parquet", index=False)
    from fusion.metrics import spread_factor

    first = emb.loc[emb["epoch"] == emb["epoch"].min(), zc].to_numpy()
    factor = spread_factor(first, emb.loc[last, zc].to_numpy())  # the 1000-fold fall and more
    assert factor > 1000
    at = open_explore()
    assert not at.exception, at.exception
    assert at.button_group(key="explore_method").value == "pca"
    assert any("collapsed" in w.value and f"{factor:,.0f}×" in w.value for w in at.warning), [
        w.value for w in at.warning
    ]
    at.button_group(key="explore_method").set_value("umap").run()
    assert any("Switch to PCA" in w.value for w in at.warning)


@pytest.mark.slow
def test_explore_opens_a_healthy_run_on_umap(joint_run):
    at = open_explore()
    assert not at.exception, at.exception
    assert at.button_group(key="explore_method").value == "umap"
    assert not any("collapsed" in w.value for w in at.warning)
