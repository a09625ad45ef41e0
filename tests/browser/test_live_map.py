"""The live map in Chromium: it moves while the progress bar is below 100 %,
and Explore opens on the same last frame when training ends.

The coordinates are read from the Plotly chart in the page (what the browser drew), twice,
more than a second apart; after Stop, Explore's map is compared with the last frame saved
with the run (``live_frames.npz``), point for point.
"""

from __future__ import annotations

import numpy as np
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import EXCEPTION
from tests.browser.test_journeys import keyed, no_early_stop, set_epochs, wait_for_text

pytestmark = pytest.mark.browser

POINTS_JS = """(key) => {
  // Marker coordinates and title of the Plotly chart made with key=...
  const gd = document.querySelector('.st-key-' + key + ' .js-plotly-plot');
  if (!gd || !gd.data) return null;
  const x = [], y = [];
  // _fullData: Plotly's decoded traces (binary arrays arrive as {dtype, bdata} in data)
  for (const tr of (gd._fullData || gd.data)) {
    if (!tr.mode || !tr.mode.includes('markers') || !tr.x) continue;
    for (let i = 0; i < tr.x.length; i++) {
      if (tr.x[i] === null || tr.x[i] === undefined) continue;
      x.push(Number(tr.x[i])); y.push(Number(tr.y[i]));
    }
  }
  // Streamlit's theme wraps the title in <b> each time it restyles the chart: plain text
  const title = ((gd.layout.title || {}).text || '').replace(/<[^>]*>/g, '');
  return {x, y, title};
}"""

PROGRESS_JS = """() => {
  const bar = document.querySelector('[data-testid="stProgress"] [role="progressbar"]');
  return bar ? Number(bar.getAttribute('aria-valuenow')) : null;
}"""


def _read(app, key: str) -> dict | None:
    return app.page.evaluate(POINTS_JS, key)


def _wait_points(app, key: str, n: int, timeout_ms: int = 90_000) -> dict:
    """Wait until the chart ``key`` holds ``n`` points (an exception box fails at once)."""
    try:
        app.page.wait_for_function(
            f"""([key, n]) => {{
              if (document.querySelector('{EXCEPTION}')) return true;
              const got = ({POINTS_JS})(key);
              return !!got && got.x.length >= n;
            }}""",
            arg=[key, n],
            timeout=timeout_ms,
        )
    except PlaywrightTimeout:
        raise AssertionError(
            f"the chart {key!r} never held {n} points; the page says:\n"
            f"{app.page.get_by_test_id('stMain').inner_text()[:2000]}"
        ) from None
    app.assert_no_exception()
    return _read(app, key)


def _sorted_points(d: dict) -> np.ndarray:
    pts = np.column_stack([d["x"], d["y"]]).astype(np.float32)
    return pts[np.lexsort((pts[:, 1], pts[:, 0]))]


def test_live_map_moves_while_training_and_explore_shows_the_last_frame(app):
    from fusion import live

    app.nav("Train")
    keyed(app, "empty_make_data").get_by_role("button").click()
    wait_for_text(app, "shared_latent", 30, where="stSidebar")
    app.wait()
    assert set_epochs(app, "tr_epochs_joint_info_nce", ["End"]) >= 20
    no_early_stop(app)
    # Batches of 16: 20,000 steps, minutes even on a quick machine (the test stops it),
    # so the progress bar is still below 100 % while the map is read twice.
    assert set_epochs(app, "tr_bs_joint_info_nce", ["Home"]) == 16
    app.page.get_by_role("button", name="Start training").click()
    first = _wait_points(app, "train_live_map_chart", 100)
    p1 = app.page.evaluate(PROGRESS_JS)
    # A new frame, titled with a later epoch (the first UMAP fit, seconds, spaces it out).
    app.page.wait_for_function(
        f"""([key, title]) => {{
          const got = ({POINTS_JS})(key);
          return !!got && got.title !== title;
        }}""",
        arg=["train_live_map_chart", first["title"]],
        timeout=40_000,
    )
    second = _read(app, "train_live_map_chart")
    p2 = app.page.evaluate(PROGRESS_JS)
    assert p1 is not None and p2 is not None and p2 < 100, (p1, p2)
    assert len(second["x"]) == len(first["x"]) >= 100
    moved = np.hypot(np.subtract(first["x"], second["x"]), np.subtract(first["y"], second["y"]))
    assert second["title"] != first["title"] and moved.max() > 0, (first["title"], second["title"])
    shown = app.page.get_by_test_id("stMain").inner_text()
    assert "validation points shown" in shown, shown[:1500]
    app.shot("train-live-map")

    stop = keyed(app, "train_stop").get_by_role("button")
    if stop.count():  # early stopping may have ended it already
        stop.click()
    keyed(app, "train_open_explore").wait_for(timeout=60_000)
    app.wait()
    runs = sorted(app.server.runs_dir.rglob(live.FRAMES_FILE), key=lambda p: p.stat().st_mtime)
    assert runs, "the run was saved without its live frames"
    saved = live.load_frames(runs[-1].parent)  # this test's run: the newest
    assert saved is not None and "umap" in saved.coords
    keyed(app, "train_open_explore").get_by_role("button").click()
    app.wait()
    explore = _wait_points(app, "explore_map", 100)
    last = int(saved.epochs[-1])
    assert f"epoch {last}" in explore["title"], (explore["title"], last)
    want = saved.coords["umap"][-1]
    got = _sorted_points(explore)
    assert got.shape == want.shape
    assert np.allclose(got, _sorted_points({"x": want[:, 0], "y": want[:, 1]}), atol=1e-4)
    app.shot("explore-last-live-frame")
