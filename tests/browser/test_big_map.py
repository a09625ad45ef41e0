"""The map of every point, in a real browser: a large run opens on it, a lasso selects, and
the selection panel counts what the lasso enclosed. Then the whole 100,000-pair journey.

The first test puts a saved run beside a map of 100,000 points (``map.parquet``, as the
worker writes it) and drives the page as a person does. The journey (slow) uploads a
100,000-pair Parquet of two 128-d columns (``tests/data/make_big_pairs.py``), explores the
vectors as they are, trains a joint embedding and an attention model for two epochs each,
lassos on each run's map of all its validation points, exports the last selection, keeps
its samples as a new data set and trains on that.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import expect

from fusion import bigmap
from tests.apptest_helpers import make_run
from tests.browser.conftest import SETTLED_FRAMES_JS
from tests.browser.test_explore_selection import COUNT_INSIDE_JS
from tests.browser.test_faults import choose
from tests.browser.test_journeys import (
    keyed,
    open_tab,
    set_epochs,
    upload,
    wait_for_alert,
    wait_for_text,
)

pytestmark = pytest.mark.browser

BIG_MAP = '[data-testid="stMain"] .st-key-explore_big_map .js-plotly-plot'
SELECTED = re.compile(r"([\d,]+) points? selected \(([\d,]+) samples?\)")
JOURNEY_S = 900  # bounded wait for one step of the 100k journey on a two-core machine

# The plotting area on the page (how many markers lie in a rectangle: COUNT_INSIDE_JS).
AREA_JS = """(sel) => {
  const gd = document.querySelector(sel);
  const fl = gd._fullLayout, r = gd.getBoundingClientRect();
  return [r.left + fl._size.l, r.top + fl._size.t, fl._size.w, fl._size.h];
}"""
# Whether the training panel names a saved run other than ``before`` (innerText keeps the
# line breaks between elements that textContent drops).
SAVED_AS_ANOTHER_JS = """(before) => {
  const m = document.querySelector('[data-testid="stMain"]').innerText
    .match(/saved as run (\\S+)/);
  return m !== null && m[1] !== before;
}"""
POINTS_JS = """(sel) => {
  const gd = document.querySelector(sel);
  return gd ? gd._fullData.reduce((n, t) => n + (t.x ? t.x.length : 0), 0) : 0;
}"""


def _frame(n_rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 2 * n_rows
    label = rng.integers(0, 5, n)
    xy = rng.normal(scale=5.0, size=(5, 2))[label] + rng.normal(size=(n, 2))
    return pd.DataFrame(
        {
            "row": np.tile(np.arange(n_rows), 2).astype(np.int32),
            "id": np.tile(np.arange(n_rows), 2).astype(str),
            "modality": pd.Categorical(np.repeat(["a", "b"], n_rows)),
            "label": label.astype(np.int32),
            "label_name": pd.Categorical(np.array(list("vwxyz"))[label]),
            "reliability": np.full(n, np.nan, dtype=np.float32),
            "x": xy[:, 0].astype(np.float32),
            "y": xy[:, 1].astype(np.float32),
        }
    )


def wait_for_big_map(app, timeout_s: float, at_least: int) -> int:
    """Wait until the big map shows ``at_least`` points; return the count the wait saw (as
    ``test_journeys.wait_for_map``: a second read could fall between two drawings)."""
    seen = app.page.wait_for_function(
        f"n => {{ const c = ({POINTS_JS})('{BIG_MAP}'); return c >= n ? c : false; }}",
        arg=at_least,
        timeout=timeout_s * 1000,
    ).json_value()
    app.assert_no_exception()
    return int(seen)


def lasso_left_half(app) -> int:
    """Lasso the left half of the big map with the toolbar's Lasso Select; the number of
    points the page then says are selected, checked against the points enclosed."""
    chart = app.page.locator(BIG_MAP)
    chart.scroll_into_view_if_needed()
    app.page.evaluate(SETTLED_FRAMES_JS)
    chart.hover()
    app.page.locator(f'{BIG_MAP} .modebar-btn[data-title="Lasso Select"]').click()
    left, top, w, h = app.page.evaluate(AREA_JS, BIG_MAP)
    x0, y0, x1, y1 = left + 0.02 * w, top + 0.02 * h, left + 0.5 * w, top + 0.98 * h
    # Points within a pixel or two of the lasso's edge may fall either side of it (the
    # drag's path is sampled): the count must lie between the rectangle shrunk and grown.
    fewest = app.page.evaluate(COUNT_INSIDE_JS, [BIG_MAP, x0 + 2, y0 + 2, x1 - 2, y1 - 2])
    most = app.page.evaluate(COUNT_INSIDE_JS, [BIG_MAP, x0 - 2, y0 - 2, x1 + 2, y1 + 2])
    assert fewest > 0, "the lasso's rectangle holds no points"
    sent = app.last_send()
    app.page.mouse.move(x0, y0)
    app.page.mouse.down()
    for x, y in [(x1, y0), (x1, y1), (x0, y1), (x0, y0 + 2)]:
        app.page.mouse.move(x, y, steps=10)
    app.page.mouse.up()
    app.wait_for_send(after=sent, timeout_ms=60_000)
    app.wait()
    app.assert_no_exception()
    m = SELECTED.search(app.main_text())
    assert m, f"no 'points selected' caption; the page says:\n{app.main_text()[:2000]}"
    n = int(m.group(1).replace(",", ""))
    assert fewest <= n <= most, f"{n} points selected; the lasso enclosed {fewest}-{most}"
    return n


def test_a_large_run_opens_on_all_its_points_and_a_lasso_selects(app):
    ws = parse_qs(urlparse(app.page.url).query)["ws"][0]
    path = make_run(app.server.runs_dir / "workspaces" / ws, "tiny-big")
    frame = _frame(50_000)
    bigmap.write_map(
        path,
        frame,
        {"method": "umap", "points": len(frame), "rows": 50_000, "seconds": 12.0, "epoch": 2},
    )
    app.nav("Explore")
    n = wait_for_big_map(app, 120, len(frame))
    assert n == len(frame), f"the map draws {n} of {len(frame)} points"
    main = app.main_text()
    assert "Showing all 100,000 points (50,000 validation rows" in main, main[:2000]
    app.shot("explore-big-map")
    keyed(app, "explore_big_color").get_by_text("Class label", exact=True).click()
    app.wait()
    assert wait_for_big_map(app, 60, len(frame)) == len(frame)
    app.shot("explore-big-map-by-class")
    selected = lasso_left_half(app)
    assert 0 < selected < len(frame)
    app.shot("explore-big-map-lasso")
    # The snapshots, with their replay, are one click away.
    keyed(app, "explore_map_view").get_by_text("Training snapshots", exact=False).click()
    app.wait()
    wait_for_text(app, "Showing the training snapshots", 30)
    app.assert_no_exception()


def _pairs_script():
    path = Path(__file__).resolve().parents[1] / "data" / "make_big_pairs.py"
    spec = importlib.util.spec_from_file_location("make_big_pairs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SUMMARY = re.compile(r"([\d,]+) of ([\d,]+) samples selected \(([\d,]+) points\)")


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def train_briefly(app, method: str) -> None:
    """Train ``method`` for two epochs on the session's data; waits for the map of all
    points the worker draws after training, then for the end."""
    app.nav("Train")
    epochs_key = "tr_epochs_joint_info_nce"
    if method == "attention":
        choose(app, "train_method", "Attention fusion")
        epochs_key = "tr_epochs_attention_cross_entropy"
    assert set_epochs(app, epochs_key, ["Home", "ArrowRight"]) == 2
    app.page.get_by_role("button", name="Start training").click()
    wait_for_text(app, "Drawing the map of all", JOURNEY_S)  # progress after training
    app.shot(f"big-train-{method}-map-progress")
    wait_for_text(app, "Training finished.", JOURNEY_S)
    app.wait()
    app.assert_no_exception()


@pytest.mark.slow
@pytest.mark.heavy
def test_100k_pairs_upload_explore_as_is_train_lasso_export_and_subset(app, tmp_path):
    path = _pairs_script().write_pairs(tmp_path / "pairs_100k.parquet", n=100_000)
    app.nav("Data")
    open_tab(app, "Upload files")
    upload(app, path)
    wait_for_text(app, "100,000 rows", 120)
    app.shot("big-data-mapping")
    app.page.get_by_test_id("stMain").get_by_role("button", name="Load", exact=True).click()
    wait_for_alert(app, "Success", "Loaded", timeout_s=300)
    app.wait()
    wait_for_text(app, "Pretrained embeddings: explore them as they are", 60)
    app.shot("big-data-loaded")

    # Explore as they are: the map of all 40,000 validation points is made in the worker.
    app.page.get_by_role("button", name="Explore as they are (no training)").click()
    app.page.wait_for_url("**/explore**", timeout=JOURNEY_S * 1000)
    wait_for_big_map(app, JOURNEY_S, 40_000)
    app.shot("big-explore-as-is")
    lasso_left_half(app)
    app.shot("big-explore-as-is-lasso")

    # A joint embedding and an attention model, two epochs each.
    for method in ("joint", "attention"):
        train_briefly(app, method)
        app.nav("Explore")
        wait_for_big_map(app, JOURNEY_S, 40_000)
        app.shot(f"big-explore-{method}")
        n_points = lasso_left_half(app)
        app.shot(f"big-explore-{method}-lasso")

    # The attention run's selection beside the rest, then exported: a large selection's
    # file is written when its button is pressed (neighbours of thousands of points).
    panel = keyed(app, "explore_selection_actions")
    expect(panel).to_contain_text(SUMMARY, timeout=JOURNEY_S * 1000)
    m = SUMMARY.search(panel.inner_text())
    n_samples, n_total = _number(m.group(1)), _number(m.group(2))
    assert _number(m.group(3)) == n_points and 0 < n_samples < n_total <= 100_000
    app.shot("big-selection-summary")
    with app.page.expect_download(timeout=JOURNEY_S * 1000) as info:
        keyed(app, "explore_selection_csv").get_by_role("button").click()
    csv = info.value.path().read_text(encoding="utf-8").splitlines()
    header = csv[0].split(",")
    assert len(csv) == n_points + 1 and header[:3] == ["id", "modality", "label"]
    assert "map_x" in header and any(c.endswith("_nn1_cosine") for c in header)
    app.assert_no_exception()

    # Keep the selected samples (out of all 100,000 pairs of the upload) and train on them.
    keyed(app, "explore_subset_keep").get_by_role("button").click()
    app.wait()
    kept = re.compile(rf"Subset of [^:]+: the {n_samples:,} selected samples")
    expect(panel).to_contain_text(kept, timeout=JOURNEY_S * 1000)
    app.assert_no_exception()
    expect(app.page.get_by_test_id("stSidebar")).to_contain_text(kept)
    app.shot("big-subset-kept")
    panel.get_by_role("link", name="Train on it").click()
    app.page.get_by_test_id("stSidebarNav").locator(
        "a[aria-current='page']", has_text="Train"
    ).wait_for()
    app.wait()
    main = app.page.get_by_test_id("stMain")
    expect(main).to_contain_text(kept, timeout=60_000)
    before = re.search(r"saved as run (\S+)", app.main_text()).group(1)  # the attention run
    app.page.get_by_role("button", name="Start training").click()
    # The panel names the run it saved once the new training ends ("Training finished."
    # is already on the page, from the attention run).
    app.page.wait_for_function(
        SAVED_AS_ANOTHER_JS, arg=before, timeout=JOURNEY_S * 1000, polling=500
    )
    app.wait()
    app.assert_no_exception()
    app.shot("big-subset-trained")
    app.nav("Explore")  # opens on the newest run: the one trained on the subset
    expect(main).to_contain_text(re.compile(r"data: Subset of \S+: the [\d,]+ selected samples"))
    n_val = int(
        re.search(r"· ([\d,]+) validation samples", app.main_text()).group(1).replace(",", "")
    )
    assert n_val < n_samples, f"the subset's run has {n_val} validation rows of {n_samples}"
    app.assert_no_exception()
    app.shot("big-subset-trained-explore")
