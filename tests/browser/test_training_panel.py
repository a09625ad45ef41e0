"""The training panel and the teaching views as a person meets them in Chromium.

- "Start training" at the bottom of the form brings the live panel (above the form) into
  view; the sidebar does not show a second, lagging percentage beside it; the validation
  chart's "chance" labels are not cut at the axis.
- When training ends the summary keeps the final curves.
- Presenter mode enlarges chart ticks and legends too, and metric labels are not cut
  ("Recall@1（平…"), in English and Chinese.
- A reload keeps the workspace's newest run as the active run.
- Switching the language keeps the Learn page's Lessons tab and the open lesson; a running
  lesson's progress is not repeated as a percentage in the sidebar.

Screenshots go to test-artifacts/screenshots/ (see conftest.py).
"""

from __future__ import annotations

import contextlib
import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.test_journeys import keyed, no_early_stop, set_epochs, wait_for_text

pytestmark = pytest.mark.browser

CHART_TEXT_PX_JS = """(key) => {
  // Font sizes (px) of the tick labels and legend entries of the chart made with key=...
  const root = document.querySelector('.st-key-' + key);
  if (!root) return null;
  const sizes = [];
  for (const el of root.querySelectorAll('.xtick text, .ytick text, .legendtext')) {
    sizes.push(parseFloat(getComputedStyle(el).fontSize));
  }
  return sizes;
}"""

CHANCE_LABELS_JS = """(key) => {
  // For each "chance" label: is it inside the plot area's left edge and the figure's right?
  // null while the chart is being (re)drawn: the live panel redraws it twice a second
  const root = document.querySelector('.st-key-' + key);
  const drag = root && root.querySelector('.nsewdrag');
  const main = root && root.querySelector('svg.main-svg');
  if (!drag || !main) return null;
  const area = drag.getBoundingClientRect();
  const svg = main.getBoundingClientRect();
  return [...root.querySelectorAll('.textpoint text, .annotation-text')]
    .filter(t => /chance/.test(t.textContent))
    .map(t => {
      const r = t.getBoundingClientRect();
      return {left: r.left - area.left, right: svg.right - r.right};
    });
}"""

IN_VIEW_JS = """(key) => {
  const el = document.querySelector('.st-key-' + key);
  if (!el) return null;
  const r = el.getBoundingClientRect();
  return {top: r.top, bottom: r.bottom, height: window.innerHeight};
}"""

CUT_METRIC_LABELS_JS = """() => [...document.querySelectorAll(
    '[data-testid="stMetricLabel"], [data-testid="stMetricValue"]')]
  .filter(l => l.getBoundingClientRect().width > 0)
  .flatMap(l => [l, ...l.querySelectorAll('*')])
  .filter(e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflow !== 'visible')
  .map(e => e.textContent)"""


def _sidebar_toggle(app, label: str) -> None:
    expand = app.page.get_by_test_id("stExpandSidebarButton")
    if expand.is_visible():  # presenter mode collapses the sidebar: open it as a person would
        expand.click()
    app.page.get_by_test_id("stSidebarUserContent").get_by_text(label, exact=True).click()
    app.wait()


def test_training_panel_in_view_with_final_curves_and_presenter_sizes(app):
    app.nav("Train")
    keyed(app, "empty_make_data").get_by_role("button").click()
    wait_for_text(app, "shared_latent", 30, where="stSidebar")
    app.wait()
    assert set_epochs(app, "tr_epochs_joint_info_nce", ["End"]) == 200
    no_early_stop(app)
    assert set_epochs(app, "tr_bs_joint_info_nce", ["Home"]) == 16  # minutes: Stop comes first
    app.page.get_by_role("button", name="Start training").click()  # scrolls down to it
    keyed(app, "train_metrics_chart").wait_for(timeout=60_000)  # one epoch has been scored
    with contextlib.suppress(PlaywrightTimeout):  # the page scrolls to the panel smoothly
        app.page.wait_for_function(
            f"key => {{ const b = ({IN_VIEW_JS})(key); return !!b && b.top >= 0 && b.top < b.height; }}",
            arg="train_panel",
            timeout=5_000,
        )
    box = app.page.evaluate(IN_VIEW_JS, "train_panel")
    assert box and 0 <= box["top"] < box["height"], (
        f"after Start training the live panel is off-screen: {box}"
    )
    app.shot("train-running-in-view")
    # One progress figure on screen: the panel's (the sidebar's lagged behind it).
    sidebar = app.sidebar_text()
    assert "progress on this page" in sidebar and "%" not in sidebar, sidebar
    # The labels the wait saw: the live chart is redrawn twice a second, and a second read
    # can fall between two drawings (null then).
    labels = None
    with contextlib.suppress(PlaywrightTimeout):
        labels = app.page.wait_for_function(
            f"key => {{ const l = ({CHANCE_LABELS_JS})(key); return l && l.length ? l : null; }}",
            arg="train_metrics_chart",
            timeout=15_000,
        ).json_value()
    assert labels, "the validation chart shows no chance label"
    cut = [x for x in labels if x["left"] < -1 or x["right"] < -1]
    assert not cut, f"chance labels stick out of the chart (px beyond the edges): {cut}"

    keyed(app, "train_stop").get_by_role("button").click()
    wait_for_text(app, "Training stopped", 60)
    app.wait()
    # The summary keeps the final curves.
    keyed(app, "train_final_loss_chart").wait_for()
    keyed(app, "train_final_metrics_chart").wait_for()
    app.shot("train-stopped-with-curves")

    normal = app.page.evaluate(CHART_TEXT_PX_JS, "train_final_metrics_chart")
    _sidebar_toggle(app, "Presenter mode")
    app.page.wait_for_url(re.compile(r"present=1"))
    keyed(app, "train_final_metrics_chart").wait_for()
    app.wait()
    big = app.page.evaluate(CHART_TEXT_PX_JS, "train_final_metrics_chart")
    assert normal and big and min(big) >= 18 > max(normal) - 1, (normal, big)
    cut = app.page.evaluate(CUT_METRIC_LABELS_JS)
    assert not cut, f"metric labels cut off in presenter mode: {cut}"
    app.shot("presenter-train-en")

    _sidebar_toggle(app, "简体中文")
    app.page.wait_for_url(re.compile(r"lang=zh"))
    keyed(app, "train_final_metrics_chart").wait_for()
    app.wait()
    cut = app.page.evaluate(CUT_METRIC_LABELS_JS)
    assert not cut, f"metric labels cut off in Chinese presenter mode: {cut}"
    assert min(app.page.evaluate(CHART_TEXT_PX_JS, "train_final_metrics_chart")) >= 18
    app.shot("presenter-train-zh")

    # A reload is a new session: the workspace's newest run is active again.
    app.page.reload()
    app.page.get_by_test_id("stSidebarNav").wait_for()
    app.wait()
    sidebar = app.sidebar_text()
    assert "暂无" not in sidebar.split("当前训练记录")[-1][:40], sidebar
    app.shot("after-reload")


def test_language_switch_keeps_the_lessons_tab_and_the_open_lesson(app):
    app.nav("Learn")
    tab = app.page.get_by_test_id("stMain").get_by_role("tab", name="Lessons")
    tab.click()
    app.wait()
    keyed(app, "lesson_start_collapse").get_by_role("button").click()
    keyed(app, "lesson_back").wait_for()
    app.wait()
    assert "Why the seed's objective collapses" in app.main_text()
    # The lesson shows its own progress; the sidebar adds no second percentage beside it.
    assert "%" not in app.sidebar_text(), app.sidebar_text()
    _sidebar_toggle(app, "简体中文")
    app.page.wait_for_url(re.compile(r"lang=zh"))
    app.wait()
    selected = app.page.get_by_test_id("stMain").get_by_role("tab", selected=True)
    assert selected.inner_text().strip() == "课程", selected.inner_text()
    keyed(app, "lesson_back").wait_for()
    assert "种子文章的目标函数为何会坍缩" in app.main_text()
    assert "%" not in app.sidebar_text(), app.sidebar_text()
    app.shot("lesson-kept-zh")
