"""Watching a Home demo in Chromium at 1400×900: the live map of the shared space is in view
from its first frames, without scrolling, and when the run is saved Explore replays the
space forming (its map in view, playing from the first frame to the last).

The map's title is what the browser drew (Plotly's title text), read with Playwright's
``expect``, which waits on the page's own updates.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_journeys import keyed

pytestmark = pytest.mark.browser

DEMO_START_MS = 120_000  # a fresh server starts its worker (torch) before epoch 0
REPLAY_MS = 90_000


def _chart(app, key: str):
    """The chart made with ``key``; not the copy Streamlit retains while it redraws one."""
    return app.page.locator(f'.st-key-{key}:not([data-retained="true"])')


def _title(app, key: str):
    return _chart(app, key).locator(".gtitle")


def _window_shot(app, name: str) -> None:
    """What the visitor sees: the 1400×900 window as it is scrolled (not the full page)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    app.page.screenshot(path=str(SCREENSHOTS / f"{app.test_name}-{name}.png"))


def test_demo_shows_the_space_forming_in_view_then_replays_it(app):
    keyed(app, "demo_joint").get_by_role("button", name="Try the demo").click()
    app.page.wait_for_url(re.compile(r"/explore(\?|$)"), timeout=30_000)

    live_map = _chart(app, "explore_live_map_chart")
    # An early frame (before epoch 5), drawn while the demo trains...
    expect(_title(app, "explore_live_map_chart")).to_have_text(
        re.compile(r"Shared space · epoch [0-4] · (PCA|UMAP)"), timeout=DEMO_START_MS
    )
    # ...whole, inside the window, without scrolling (its bounding box within the viewport).
    expect(live_map).to_be_visible()
    expect(live_map).to_be_in_viewport(ratio=1.0)
    _window_shot(app, "demo-live-early")
    app.assert_no_exception()

    # The run is saved: Explore replays the frames from the first epoch, its map in view.
    play = keyed(app, "explore_play").get_by_role("button")
    expect(play).to_have_text(re.compile("Pause"), timeout=DEMO_START_MS)
    replay_title = _title(app, "explore_map")
    expect(replay_title).to_have_text(
        re.compile(r"Shared space at epoch [0-4] "), timeout=REPLAY_MS
    )
    expect(_chart(app, "explore_map")).to_be_in_viewport(ratio=0.9)
    _window_shot(app, "replay-start")
    # ...to the last epoch, then the button invites to watch it again.
    expect(replay_title).to_have_text(re.compile(r"Shared space at epoch 15 "), timeout=REPLAY_MS)
    expect(play).to_have_text(re.compile("Watch the space form"), timeout=REPLAY_MS)
    app.assert_no_exception()
    _window_shot(app, "replay-end")
