"""The shared space forming: start, middle and end of the joint demo, the attention demo
and the collapse lesson, in Chromium.

A demo lasts seconds, too short to photograph reliably while it runs; but Explore replays
the very frames the live map drew (its epoch slider steps through the run's saved live
frames), so the series is taken there: the slider at its first, middle and last position,
the map's screenshot and coordinates at each. The test asserts what a reader of the series
should see: the points move from the first to the last frame, and in the collapse lesson
the cloud shrinks. The images land in ``test-artifacts/live-series/``; with
``FUSION_UPDATE_ASSETS=1`` they also replace the README's series in ``assets/``
(``live-<name>-<stage>.png``).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.browser.test_journeys import keyed, open_tab
from tests.browser.test_live_map import POINTS_JS

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test-artifacts" / "live-series"
ASSETS = ROOT / "assets"
EPOCH = re.compile(r"epoch (\d+)")
# True once the map's drawn points have held still for five polls in a row (its transition
# from the previous frame has ended).
MAP_STILL_JS = """(key) => {
  const layer = document.querySelector('.st-key-' + key + ' .scatterlayer');
  if (!layer) return false;
  const sig = [...layer.querySelectorAll('.point')].slice(0, 80)
    .map((p) => p.getAttribute('transform')).join(';');
  const same = sig === window.__mapSig;
  window.__mapSig = sig;
  window.__mapStill = same && sig ? (window.__mapStill || 0) + 1 : 0;
  return window.__mapStill >= 5;
}"""


def _shot(app, selector: str) -> bytes | None:
    """A screenshot of the element, clipped from the page (an element screenshot waits for
    the element to hold still, which a chart drawn with a transition may not do at once)."""
    box = app.page.evaluate(
        """(sel) => { const el = document.querySelector(sel); if (!el) return null;
        el.scrollIntoView({block: 'start'}); const r = el.getBoundingClientRect();
        return {x: r.x, y: r.y, width: r.width, height: r.height}; }""",
        selector,
    )
    assert box and box["width"] > 10 and box["height"] > 10, selector
    return app.page.screenshot(clip=box, animations="disabled")


def _frame_at(app, keys: list[str]) -> dict:
    """Move Explore's epoch slider with ``keys``; the map's title, coordinates and picture."""
    thumb = keyed(app, "explore_epoch").get_by_role("slider")
    thumb.focus()
    for k in keys:
        thumb.press(k)
    app.wait()
    app.page.mouse.move(2, 2)  # no hover toolbar over the map
    app.page.wait_for_function(MAP_STILL_JS, arg="explore_map", polling=100)  # transition ends
    got = app.page.evaluate(POINTS_JS, "explore_map")
    m = EPOCH.search(got["title"])
    return {
        "title": got["title"],
        "epoch": int(m.group(1)) if m else -1,
        "xy": np.column_stack([got["x"], got["y"]]),
        "png": _shot(app, ".st-key-explore_map"),
    }


def series(app, name: str) -> list[dict]:
    """The first, middle and last frame of the run open on Explore, written as PNGs."""
    keyed(app, "explore_epoch").wait_for(timeout=120_000)
    thumb = keyed(app, "explore_epoch").get_by_role("slider")
    last = int(thumb.get_attribute("aria-valuemax") or 0)  # select_slider: option indices
    if last < 2:  # UMAP had fewer than three frames (it gave way to PCA): PCA has them all
        keyed(app, "explore_method").get_by_text("PCA", exact=True).click()
        app.wait()
        thumb = keyed(app, "explore_epoch").get_by_role("slider")
        last = int(thumb.get_attribute("aria-valuemax") or 0)
    start = _frame_at(app, ["Home"])
    end = _frame_at(app, ["End"])
    middle = _frame_at(app, ["Home"] + ["ArrowRight"] * max(1, last // 2))
    chosen = {"start": start, "middle": middle, "end": end}
    OUT.mkdir(parents=True, exist_ok=True)
    for stage, f in chosen.items():
        path = OUT / f"live-{name}-{stage}.png"
        path.write_bytes(f["png"])
        if os.environ.get("FUSION_UPDATE_ASSETS") == "1":
            shutil.copy(path, ASSETS / path.name)
    return [start, middle, end]


def spread(xy: np.ndarray) -> float:
    return float(np.sqrt(((xy - xy.mean(0)) ** 2).sum(1).mean()))


@pytest.mark.parametrize("demo", ["joint", "attention"])
def test_demo_series(app, demo):
    app.page.set_viewport_size({"width": 1400, "height": 1400})
    keyed(app, f"demo_{demo}").get_by_role("button", name=re.compile("Try the")).click()
    app.page.wait_for_url(re.compile(r"/explore(\\?|$)"), timeout=60_000)
    keyed(app, "explore_map").wait_for(timeout=180_000)
    # A demo's run opens replaying its frames; the series is taken once the replay has ended
    # (its button invites to watch again).
    play = keyed(app, "explore_play").get_by_role("button")
    expect(play).to_contain_text("Watch the space form", timeout=180_000)
    start, middle, end = series(app, f"{demo}-demo")
    assert start["epoch"] < middle["epoch"] < end["epoch"], [start["title"], end["title"]]
    assert start["xy"].shape == end["xy"].shape and len(start["xy"]) >= 100
    assert not np.allclose(start["xy"], end["xy"]), "the map did not move"


def test_collapse_lesson_series(app):
    app.page.set_viewport_size({"width": 1400, "height": 1400})
    app.nav("Learn")
    open_tab(app, "Lessons")
    keyed(app, "lesson_start_collapse").get_by_role("button").click()
    keyed(app, "lesson_try_collapse").wait_for(timeout=240_000)  # trained
    app.nav("Explore")
    start, middle, end = series(app, "collapse-lesson")
    assert start["epoch"] < end["epoch"]
    assert "PCA" in end["title"], end["title"]  # a collapsed run opens on PCA
    assert spread(end["xy"]) < 0.5 * spread(start["xy"]), (spread(start["xy"]), spread(end["xy"]))
