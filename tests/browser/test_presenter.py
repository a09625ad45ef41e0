"""Presenter mode at projector sizes, in a real browser, in English and in Chinese.

A lecturer trains the Home demo and the collapse lesson once, then opens Home, Explore and
the lesson with ``?present=1`` at 1024×768 and at 1280×720. On every page: the sidebar is
collapsed, no metric's number wraps onto a second line, no segmented control or button
cuts its text ("P…", "Class labe…", "▶…"), and no chart's title sits under Plotly's
toolbar. On Explore the map is at least half the window wide. Screenshots of what the room
sees (the window, not the whole page) go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS, wait_for_no_skeletons
from tests.browser.test_journeys import keyed, wait_for_map

pytestmark = pytest.mark.browser

SIZES = [(1024, 768), (1280, 720)]
LANGS = ["en", "zh"]
DEMO_S = 180  # bounded waits on a busy 2-core CPU
LESSON_S = 240

# Metric values drawn on more than one line: the distinct line boxes of each value's text.
WRAPPED_METRICS_JS = """() => [...document.querySelectorAll('[data-testid="stMetricValue"]')]
  .filter(e => e.getBoundingClientRect().width > 0)
  .map(e => {
    const range = document.createRange();
    range.selectNodeContents(e);
    const tops = new Set([...range.getClientRects()]
      .filter(r => r.width > 0).map(r => Math.round(r.top)));
    const style = getComputedStyle(e);
    return {text: e.innerText, lines: tops.size,
            height: e.getBoundingClientRect().height, font: parseFloat(style.fontSize)};
  })
  .filter(m => m.lines > 1 || m.height > 1.7 * m.font)"""

# Segmented-control options, buttons and metric labels whose text is cut (ends in "…").
CLIPPED_JS = """() => {
  const roots = document.querySelectorAll(
    '[data-testid="stMain"] [data-testid="stButtonGroup"] button,' +
    '[data-testid="stMain"] [data-testid="stButton"] button,' +
    '[data-testid="stMain"] [data-testid="stMetricLabel"]');
  const cut = [];
  for (const root of roots) {
    if (root.getBoundingClientRect().width === 0) continue;
    for (const e of [root, ...root.querySelectorAll('*')]) {
      if (e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0) {
        cut.push({text: root.innerText, scroll: e.scrollWidth, client: e.clientWidth});
        break;
      }
    }
  }
  return cut;
}"""

# Each visible chart's title box against its toolbar's box (the toolbar shows on hover).
TITLE_UNDER_TOOLBAR_JS = """() => {
  const hits = [];
  for (const gd of document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot')) {
    const title = gd.querySelector('.gtitle'), bar = gd.querySelector('.modebar');
    if (!title || !bar || !title.textContent.trim()) continue;
    const a = title.getBoundingClientRect(), b = bar.getBoundingClientRect();
    if (a.width === 0 || b.width === 0) continue;
    const overlap = a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
    if (overlap) hits.push(title.textContent);
  }
  return hits;
}"""


def _open(app, path: str, lang: str, size: tuple[int, int], extra: str = "") -> None:
    app.page.set_viewport_size({"width": size[0], "height": size[1]})
    app.page.goto(f"{app.url}/{path}?ws={app.ws}&present=1&lang={lang}{extra}")
    app.page.get_by_test_id("stSidebarNav").wait_for(state="attached")
    app.wait()
    app.assert_no_exception()
    expect(app.page.get_by_text("Page not found")).to_have_count(0)


def _check_page(app, name: str, lang: str, size: tuple[int, int]) -> None:
    """The checks every page gets, and a screenshot of the window."""
    where = f"{name} at {size[0]}×{size[1]} in {lang}"
    expect(app.page.get_by_test_id("stSidebar")).to_have_attribute("data-collapsed", "true")
    wait_for_no_skeletons(app.page)
    app.page.evaluate("document.fonts.ready")
    wrapped = app.page.evaluate(WRAPPED_METRICS_JS)
    assert not wrapped, f"metric values wrap onto a second line on {where}: {wrapped}"
    cut = app.page.evaluate(CLIPPED_JS)
    assert not cut, f"controls cut their text on {where}: {cut}"
    # Plotly shows its toolbar while the pointer is over a chart: hover each chart in view.
    for chart in app.page.get_by_test_id("stMain").locator(".js-plotly-plot").all()[:4]:
        chart.scroll_into_view_if_needed()
        chart.hover(position={"x": 40, "y": 40})
        covered = app.page.evaluate(TITLE_UNDER_TOOLBAR_JS)
        assert not covered, f"the toolbar covers chart titles on {where}: {covered}"
    app.page.get_by_test_id("stMain").evaluate("m => m.scrollTo(0, 0)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{app.test_name}-{name}-{size[0]}x{size[1]}-{lang}.png"
    app.page.screenshot(path=str(path))
    app.shots.append(path)


def test_presenter_mode_fits_a_projector(app):
    # What the lecturer will show: the Home demo's run and the collapse lesson's runs.
    keyed(app, "demo_joint").get_by_role("button", name="Try the demo").click()
    app.page.wait_for_url(re.compile(r"/explore(\?|$)"), timeout=DEMO_S * 1000)
    wait_for_map(app, DEMO_S)
    app.ws = parse_qs(urlparse(app.page.url).query)["ws"][0]
    app.page.goto(f"{app.url}/learn?ws={app.ws}&lesson=collapse")
    app.wait()
    keyed(app, "lesson_train_collapse").get_by_role("button").click()
    keyed(app, "lesson_try_value_collapse").wait_for(timeout=LESSON_S * 1000)
    app.wait()
    app.assert_no_exception()

    for size in SIZES:
        for lang in LANGS:
            _open(app, "", lang, size)  # Home, the default page, is at the root
            _check_page(app, "home", lang, size)

            _open(app, "explore", lang, size)
            chart = app.page.locator('[data-testid="stMain"] .st-key-explore_map .js-plotly-plot')
            chart.wait_for()
            width = chart.bounding_box()["width"]
            assert width >= 0.5 * size[0], (
                f"Explore's map is {width:.0f} px wide at {size[0]}×{size[1]} in {lang}; "
                f"a projector needs at least half the window ({size[0] / 2:.0f} px)"
            )
            metrics = app.page.get_by_test_id("stMetricValue")
            assert metrics.count() >= 2, "Explore shows the run's metric cards"
            _check_page(app, "explore", lang, size)

            _open(app, "learn", lang, size, "&lesson=collapse")
            keyed(app, "lesson_body").wait_for()
            assert app.page.get_by_test_id("stMain").locator(".js-plotly-plot").count() >= 3
            _check_page(app, "lesson", lang, size)
