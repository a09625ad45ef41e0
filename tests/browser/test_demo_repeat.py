"""Home's demos, clicked again and again in one tab: each lands on Explore promptly.

A launch must not stall on Home after its run was saved. Each demo runs ``REPEATS`` times
in a row (``FUSION_DEMO_REPEATS``, 3 here; ``benchmarks/bench_demo_repeat.py`` runs 20);
for every launch the time from the click to Explore showing the demo's own run with its
map is recorded (training, saving and the first map included), and the test fails if any
launch takes longer than ``BOUND_S`` (a demo trains in about 2 s on a quiet 2-core CPU).
The distribution is printed and kept in ``test-artifacts/timings.json``.
"""

from __future__ import annotations

import os
import re
import statistics
import time

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from benchmarks.appserver import MAP_POINTS_JS
from tests.browser.conftest import EXCEPTION
from tests.browser.test_journeys import MIN_MAP_POINTS, keyed

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPEATS = int(os.environ.get("FUSION_DEMO_REPEATS", "3"))
BOUND_S = 30.0  # generous under load; a stalled launch sits 60 s or more
EXPLORE = re.compile(r"/explore(\?|$)")


def _shown_run(app) -> str:
    """The run Explore's picker shows ("" when none is shown)."""
    picker = keyed(app, "explore_run")
    return picker.inner_text() if picker.count() else ""


def _launch(app, kind: str) -> tuple[float, float]:
    """From Home: click the demo; return the seconds until Explore opened, and until Explore
    showed the demo's own run with its map (its script run finished)."""
    if "/explore" in app.page.url or not keyed(app, f"demo_{kind}").count():
        app.nav("Home", "home")
    before = _shown_run(app)
    button = keyed(app, f"demo_{kind}").get_by_role("button")
    button.wait_for()
    t0 = time.monotonic()
    button.click()
    app.page.wait_for_url(EXPLORE, timeout=int(3 * BOUND_S * 1000))
    opened = time.monotonic() - t0
    try:  # the demo's run replaces the live panel once it is saved
        app.page.wait_for_function(
            f"""([before, n]) => {{
              if (document.querySelector('{EXCEPTION}')) return true;
              const picker = document.querySelector('.st-key-explore_run');
              const shown = picker ? picker.innerText : '';
              return !!shown && shown !== before && ({MAP_POINTS_JS})() >= n;
            }}""",
            arg=[before, MIN_MAP_POINTS],
            timeout=3 * BOUND_S * 1000,
        )
    except PlaywrightTimeout:
        raise AssertionError(
            f"the {kind} demo's run did not show on Explore within {3 * BOUND_S:.0f} s; "
            f"the page says:\n{app.main_text()[:1500]}"
        ) from None
    app.assert_no_exception()
    seconds = time.monotonic() - t0
    app.wait(timeout_ms=int(3 * BOUND_S * 1000))
    app.assert_no_exception()
    return opened, seconds


@pytest.mark.parametrize("kind", ["joint", "attention"])
def test_demo_lands_on_explore_every_time(app, record_timing, kind):
    times = []
    for i in range(REPEATS):
        opened, seconds = _launch(app, kind)
        times.append(seconds)
        print(
            f"{kind} demo launch {i + 1}: Explore after {opened:.1f} s, its run and map "
            f"after {seconds:.1f} s",
            flush=True,
        )
    app.shot(f"explore-after-{kind}")
    worst, middle = max(times), statistics.median(times)
    record_timing(f"demo_{kind}_click_to_explore_max_s", worst)
    record_timing(f"demo_{kind}_click_to_explore_median_s", middle)
    print(
        f"{kind} demo click→Explore over {len(times)} launches: max {worst:.1f} s, "
        f"median {middle:.1f} s, all {[round(x, 1) for x in times]}"
    )
    slow = [(i + 1, round(s, 1)) for i, s in enumerate(times) if s > BOUND_S]
    assert not slow, f"launches (number, seconds) slower than {BOUND_S:.0f} s: {slow}; {times}"
