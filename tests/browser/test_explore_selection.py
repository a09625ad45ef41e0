"""Selecting on Explore's map with the mouse, as a person does.

A lasso dragged with the chart's own Lasso Select tool, then a click on one point: each
shows the selected samples and their nearest neighbours in the other modality, and the
page never shows an exception. The earlier tests fed a hand-made selection to the page
and missed that Plotly hands back binary customdata as a dict, and that clicks picked
nothing while the lasso tool was active.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

from tests.apptest_helpers import make_run
from tests.browser.conftest import CONTENT_HEIGHT_JS, SETTLED_FRAMES_JS, VIEWPORT
from tests.browser.test_journeys import keyed, wait_for_text

pytestmark = pytest.mark.browser

MAP = '[data-testid="stMain"] .st-key-explore_map .js-plotly-plot'
NEIGHBOURS = "Nearest neighbours in the other modality"
SELECTED = re.compile(r"(\d+) points? selected \((\d+) samples?\)")

# Where the map's plotting area and one marker lie on the page, from Plotly's own axes.
POINT_JS = """([sel, i]) => {
  const gd = document.querySelector(sel);
  const fl = gd._fullLayout, r = gd.getBoundingClientRect();
  const left = r.left + fl._size.l, top = r.top + fl._size.t;
  const traces = gd._fullData.filter(t => t.mode === 'markers');
  const tr = traces[0];
  return {
    area: [left, top, fl._size.w, fl._size.h],
    x: left + fl.xaxis.l2p(tr.x[i]), y: top + fl.yaxis.l2p(tr.y[i]),
    modality: tr.name, text: String(tr.text[i]),
  };
}"""
# How many markers lie inside a rectangle of the page (x0, y0, x1, y1), over every trace.
COUNT_INSIDE_JS = """([sel, x0, y0, x1, y1]) => {
  const gd = document.querySelector(sel);
  const fl = gd._fullLayout, r = gd.getBoundingClientRect();
  const left = r.left + fl._size.l, top = r.top + fl._size.t;
  let n = 0;
  for (const t of gd._fullData.filter(t => t.mode === 'markers')) {
    for (let i = 0; i < t.x.length; i++) {
      const x = left + fl.xaxis.l2p(t.x[i]), y = top + fl.yaxis.l2p(t.y[i]);
      if (x > x0 && x < x1 && y > y0 && y < y1) n++;
    }
  }
  return n;
}"""


# How the map draws its points after a selection: per trace, the points Plotly keeps
# selected and the drawn opacity of each point (SVG markers).
SHOWN_SELECTION_JS = """(sel) => {
  const gd = document.querySelector(sel);
  const traces = gd._fullData.filter(t => t.mode === 'markers' && t.x.length);
  const selected = traces.reduce((n, t) => n + (t.selectedpoints || []).length, 0);
  const opacity = [...gd.querySelectorAll('.scatterlayer .trace .point')]
    .map(p => parseFloat(getComputedStyle(p).opacity));
  return {selected, bright: opacity.filter(o => o >= 0.6).length,
          faint: opacity.filter(o => o <= 0.2).length, drawn: opacity.length};
}"""


def _show_map(app) -> None:
    chart = app.page.locator(MAP)
    chart.scroll_into_view_if_needed()
    app.page.evaluate(SETTLED_FRAMES_JS)


def _selected(app) -> tuple[int, int]:
    m = SELECTED.search(app.main_text())
    assert m, f"no 'points selected' caption; the page says:\n{app.main_text()[:2000]}"
    return int(m.group(1)), int(m.group(2))


def test_lasso_then_click_shows_samples_and_neighbours(app):
    ws = parse_qs(urlparse(app.page.url).query)["ws"][0]
    make_run(app.server.runs_dir / "workspaces" / ws, "tiny-joint")
    app.nav("Explore")
    keyed(app, "explore_method").get_by_text("PCA", exact=True).click()
    app.wait()
    app.page.locator(MAP).wait_for()
    _show_map(app)
    assert NEIGHBOURS not in app.main_text()

    # A lasso: the toolbar's Lasso Select, then a drag around the left half of the map.
    app.page.locator(MAP).hover()
    app.page.locator(f'{MAP} .modebar-btn[data-title="Lasso Select"]').click()
    left, top, w, h = app.page.evaluate(POINT_JS, [MAP, 0])["area"]
    x0, y0, x1, y1 = left + 0.02 * w, top + 0.02 * h, left + 0.5 * w, top + 0.98 * h
    expected = app.page.evaluate(COUNT_INSIDE_JS, [MAP, x0, y0, x1, y1])
    assert expected > 0, "the lasso's rectangle holds no points; the test needs another"
    sent = app.last_send()
    app.page.mouse.move(x0, y0)
    app.page.mouse.down()
    for x, y in [(x1, y0), (x1, y1), (x0, y1), (x0, y0 + 2)]:
        app.page.mouse.move(x, y, steps=10)
    app.page.mouse.up()
    app.wait_for_send(after=sent)  # the chart sends its selection a moment after the drag
    app.wait()
    app.assert_no_exception()
    wait_for_text(app, NEIGHBOURS, 30)
    n_points, n_samples = _selected(app)
    assert n_points == expected, f"{n_points} points selected; the lasso enclosed {expected}"
    assert 0 < n_samples <= n_points
    # The map itself shows which points are selected: those opaque, the others faint.
    shown = app.page.evaluate(SHOWN_SELECTION_JS, MAP)
    assert shown["selected"] == n_points, f"the map marks {shown} after selecting {n_points}"
    assert shown["bright"] == n_points and shown["faint"] == shown["drawn"] - n_points, shown
    app.shot("explore-lasso")

    # Then a click on one point picks that point alone.
    _show_map(app)
    point = app.page.evaluate(POINT_JS, [MAP, 3])
    app.page.mouse.move(point["x"], point["y"])
    app.page.locator(f"{MAP} .hoverlayer .hovertext").first.wait_for()  # plotly sees the point
    sent = app.last_send()
    app.page.mouse.click(point["x"], point["y"])
    app.wait_for_send(after=sent)
    app.wait()
    app.assert_no_exception()
    expect(app.page.get_by_test_id("stMain")).to_contain_text(
        re.compile(SELECTED.pattern.replace(r"(\d+)", "1", 2)), timeout=15_000
    )
    assert _selected(app) == (1, 1), "a click did not pick exactly the point clicked"
    assert NEIGHBOURS in app.main_text()
    sample_id = re.search(r"id (\S+?)(<br>|$)", point["text"]).group(1)
    # The neighbours' detail picker offers the clicked point: "<modality> #<id> (<class>)".
    picker = keyed(app, "explore_detail_query").get_by_role("combobox")
    wanted = re.compile(rf"^{re.escape(point['modality'])} #{re.escape(sample_id)} \(")
    expect(picker).to_have_value(wanted, timeout=10_000)
    app.shot("explore-click")


PANEL = "explore_selection_actions"


def _panel_shot(app, panel, name: str) -> None:
    """The whole page, then the panel alone (the page stretched to its height, as
    ``App.shot`` does, so the panel is not cut at the window's edge)."""
    path = app.shot(name)
    height = app.page.evaluate(CONTENT_HEIGHT_JS)
    app.page.set_viewport_size({"width": VIEWPORT["width"], "height": min(height, 6000)})
    try:
        app.page.evaluate(SETTLED_FRAMES_JS)
        panel.screenshot(path=str(path.with_name(f"{path.stem}-panel.png")))
    finally:
        app.page.set_viewport_size(VIEWPORT)


SUMMARY = re.compile(r"(\d+) of (\d+) samples selected \((\d+) points\)")


def test_box_select_then_export_and_train_on_the_subset(app):
    """A box on the map, then what it leads to: the selection beside the rest, its CSV,
    the share link, and a data set of the selected samples that Train trains on."""
    ws = parse_qs(urlparse(app.page.url).query)["ws"][0]
    make_run(app.server.runs_dir / "workspaces" / ws, "tiny-joint")
    app.nav("Explore")
    keyed(app, "explore_method").get_by_text("PCA", exact=True).click()
    app.wait()
    app.page.locator(MAP).wait_for()
    _show_map(app)
    assert not keyed(app, PANEL).count(), "a panel for a selection before any selection"

    # A box around the left half of the map, with the toolbar's Box Select.
    app.page.locator(MAP).hover()
    app.page.locator(f'{MAP} .modebar-btn[data-title="Box Select"]').click()
    left, top, w, h = app.page.evaluate(POINT_JS, [MAP, 0])["area"]
    x0, y0, x1, y1 = left + 0.01 * w, top + 0.01 * h, left + 0.55 * w, top + 0.99 * h
    expected = app.page.evaluate(COUNT_INSIDE_JS, [MAP, x0, y0, x1, y1])
    sent = app.last_send()
    app.page.mouse.move(x0, y0)
    app.page.mouse.down()
    app.page.mouse.move(x1, y1, steps=12)
    app.page.mouse.up()
    app.wait_for_send(after=sent)
    app.wait()
    panel = keyed(app, PANEL)
    expect(panel).to_contain_text(SUMMARY, timeout=30_000)
    app.assert_no_exception()
    m = SUMMARY.search(panel.inner_text())
    n_samples, n_total, n_points = int(m.group(1)), int(m.group(2)), int(m.group(3))
    assert n_points == expected, f"{n_points} points summarised; the box enclosed {expected}"
    assert 10 <= n_samples < n_total, "the box should hold enough samples to train on"
    expect(panel).to_contain_text("Within the selection")
    _panel_shot(app, panel, "panel-en")

    # The share link carries the selection.
    app.page.get_by_test_id("stSidebar").get_by_text("Share this setup").click()
    popover = app.page.get_by_test_id("stPopoverBody")
    expect(popover).to_contain_text(f"carries this selection ({n_samples} samples)")
    expect(popover.locator("code")).to_contain_text("sel=")
    app.page.keyboard.press("Escape")

    # The CSV: one row per selected point, the neighbours' columns beside them.
    with app.page.expect_download() as info:
        keyed(app, "explore_selection_csv").get_by_role("button").click()
    csv = info.value.path().read_text(encoding="utf-8").splitlines()
    header = csv[0].split(",")
    assert len(csv) == n_points + 1 and header[:3] == ["id", "modality", "label"]
    assert "map_x" in header and any(c.endswith("_nn1_cosine") for c in header)

    # The same panel in Chinese.
    app.page.get_by_test_id("stSidebar").get_by_text("简体中文").click()
    app.wait()
    expect(panel).to_contain_text("已选", timeout=30_000)
    _panel_shot(app, panel, "panel-zh")
    app.page.get_by_test_id("stSidebar").get_by_text("English").click()
    app.wait()

    # Keep the selected samples, then train on them.
    keyed(app, "explore_subset_keep").get_by_role("button").click()
    app.wait()
    label = f"Subset of tiny-joint: the {n_samples:,} selected samples"
    expect(panel).to_contain_text(label, timeout=30_000)
    app.assert_no_exception()
    expect(app.page.get_by_test_id("stSidebar")).to_contain_text(label)
    _panel_shot(app, panel, "panel-kept")
    panel.get_by_role("link", name="Train on it").click()
    app.page.get_by_test_id("stSidebarNav").locator(
        "a[aria-current='page']", has_text="Train"
    ).wait_for()
    app.wait()
    app.assert_no_exception()
    expect(app.page.get_by_test_id("stMain")).to_contain_text(label, timeout=30_000)
    expect(app.page.get_by_test_id("stMain")).to_contain_text(f"{n_samples:,} samples")
    app.shot("train-on-subset")
