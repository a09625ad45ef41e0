"""Explore's map of every validation point: the view choice, its caption, the WebGL map
and a selection that reaches the selection panel."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from fusion import bigmap
from fusion.plots.bigmap import big_map
from fusion.selection import event_rows
from tests.apptest_helpers import chart_specs, make_run, open_page
from views.site import EXPLORE


def _frame(n_rows: int, mods=("a", "b"), seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_rows * len(mods)
    return pd.DataFrame(
        {
            "row": np.tile(np.arange(n_rows), len(mods)).astype(np.int32),
            "id": np.tile(np.arange(n_rows), len(mods)).astype(str),
            "modality": pd.Categorical(np.repeat(mods, n_rows)),
            "label": rng.integers(0, 3, n).astype(np.int32),
            "label_name": pd.Categorical(rng.choice(["cat", "dog", "fox"], n)),
            "reliability": rng.random(n).astype(np.float32),
            "x": rng.normal(size=n).astype(np.float32),
            "y": rng.normal(size=n).astype(np.float32),
        }
    )


@pytest.mark.parametrize("color_by", ["modality", "label", "reliability"])
def test_the_big_map_draws_every_point_once_compactly(color_by):
    frame = _frame(5_000)
    fig, rows = big_map(frame, color_by=color_by)
    assert sum(len(r) for r in rows) == len(frame)
    assert sorted(np.concatenate(rows).tolist()) == list(range(len(frame)))
    assert all(tr.type == "scattergl" and tr.hovertext is None for tr in fig.data)
    spec = json.loads(fig.to_json())
    # Coordinates and rows travel as binary typed arrays, not JSON numbers.
    assert all("bdata" in tr["x"] and "bdata" in tr["customdata"] for tr in spec["data"])
    # x, y, row (and a colour value): 12-16 bytes a point, a third more as base64; as
    # JSON numbers the coordinates alone would take about 40
    assert len(fig.to_json()) < 30 * len(frame)


def test_a_selection_maps_back_to_the_frame_rows():
    frame = _frame(100)
    _, rows = big_map(frame, color_by="label")
    points = [
        {"curve_number": 0, "point_index": 1},
        {"curve_number": 1, "point_index": 0},
        {"curve_number": 9, "point_index": 0},  # no such trace: skipped
        {"curve_number": 0, "point_index": "x"},  # unreadable: skipped
    ]
    assert event_rows(points, rows) == sorted({int(rows[0][1]), int(rows[1][0])})
    assert event_rows([], rows) == []


@pytest.fixture
def big_run(runs_dir):
    path = make_run(runs_dir, "tiny-big")
    bigmap.write_map(
        path,
        _frame(3_000),
        {"method": "umap", "points": 6_000, "rows": 3_000, "seconds": 4.2, "epoch": 2},
    )
    return path


@pytest.mark.slow
def test_explore_opens_a_large_run_on_all_its_points(big_run):
    at = open_page(EXPLORE)
    assert not at.exception, at.exception
    view = at.button_group(key="explore_map_view")
    assert view.value == "all"
    captions = " ".join(c.value for c in at.caption)
    assert "Showing all 6,000 points (3,000 validation rows" in captions
    assert "scattergl" in chart_specs(at) and "All 6,000 points" in chart_specs(at)
    at.button_group(key="explore_big_color").set_value("reliability").run()
    assert not at.exception, at.exception
    assert "coloraxis" in chart_specs(at)
    # The training snapshots are one click away, with their replay.
    view.set_value("snapshots").run()
    assert not at.exception, at.exception
    assert "Showing the training snapshots" in " ".join(c.value for c in at.caption)
    assert at.select_slider(key="explore_epoch").value == 2


@pytest.mark.slow
def test_a_big_map_selection_reaches_the_selection_panel(big_run):
    key = f"{big_run}#all"
    at = open_page(EXPLORE, explore_selection={"run": key, "rows": [0, 1, 3_000]})
    assert not at.exception, at.exception
    captions = [c.value for c in at.caption]
    assert any("3 points selected" in c for c in captions), captions
    # Ids and classes of the selected points, per modality; their content is on the
    # snapshot map (the run did save samples: the page must not say otherwise).
    assert any('are on the "Training snapshots" map' in c for c in captions), captions
    assert any(c.startswith("#0 (") and "#1 (" in c for c in captions), captions
    assert not any("did not save its samples" in c for c in captions), captions


def test_a_run_without_a_full_map_shows_the_snapshots_only(tmp_path):
    from views.parts.explore_bigmap import full_map

    assert full_map(tmp_path) is None
    assert isinstance(AppTest, type)


def _progress_page():
    from types import SimpleNamespace

    from views.parts.job_panel import _map_progress

    live = {"map": [{"stage": "layout", "fraction": 0.7, "points": 40_000, "seconds": 12.0}]}
    _map_progress(SimpleNamespace(live=live))
    _map_progress(SimpleNamespace(live={"map": [{"stage": "done", "fraction": 1.0}]}))


def test_the_job_panel_shows_the_maps_progress_after_training():
    at = AppTest.from_function(_progress_page).run(timeout=120)
    assert not at.exception, at.exception
    bars = at.get("progress")
    assert len(bars) == 1  # a finished map shows no bar
    assert bars[0].proto.value == 70
    assert bars[0].proto.text.startswith(
        "Drawing the map of all 40,000 validation points: laying out the map (UMAP)"
    )
