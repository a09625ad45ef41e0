"""A lecturer in a real browser: switches the language, turns on presenter mode, and shares
a setup by link that a second browser (another machine) opens to the same data and settings.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

CJK = re.compile(r"[\u4e00-\u9fff]")


def _radio(app, label: str):
    return app.page.get_by_test_id("stSidebarUserContent").get_by_text(label, exact=True)


def test_language_switch_persists_and_lives_in_the_url(app):
    _radio(app, "简体中文").click()
    app.wait()
    app.page.wait_for_url(re.compile(r"lang=zh"))
    nav = app.page.get_by_test_id("stSidebarNav").inner_text()
    assert "数据" in nav and "训练" in nav, nav
    assert CJK.search(app.main_text())
    app.nav("学习", "learn-zh")  # the choice survives navigation...
    assert "lang=zh" in app.page.url
    assert "共享空间" in app.main_text()
    app.page.reload()  # ...and a reload (a new session reads it from the URL)
    app.wait()
    assert "学习" in app.page.get_by_test_id("stSidebarNav").inner_text()
    _radio(app, "English").click()
    app.wait()
    app.page.wait_for_url(lambda url: "lang=" not in url or "lang=en" in url)
    assert "Learn" in app.page.get_by_test_id("stSidebarNav").inner_text()
    app.shot("back-in-english")


def test_presenter_mode_enlarges_text_and_hides_advanced_settings(app):
    app.nav("Train")
    app.page.get_by_role("button", name="Use the default demo data").click()
    app.wait()
    app.page.get_by_text("Batch size").first.wait_for()
    normal = app.page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    app.page.get_by_test_id("stSidebarUserContent").get_by_text("Presenter mode").click()
    app.page.wait_for_url(re.compile(r"present=1"))
    app.page.wait_for_function(  # the rerun injects the presenter style sheet
        f"parseFloat(getComputedStyle(document.documentElement).fontSize) >= {1.3 * normal}",
        timeout=30_000,
    )
    app.wait()
    # The projector's width goes to the page: turning presenter mode on collapses the sidebar.
    sidebar = app.page.get_by_test_id("stSidebar")
    expect(sidebar).to_have_attribute("data-collapsed", "true")
    main = app.main_text()
    assert "Batch size" not in main and "Optimiser" not in main and "Learning rate" in main
    app.shot("presenter-train")


def test_a_shared_link_rebuilds_the_setup_elsewhere(app, browser):
    link = (
        f"{app.url}/train?data=shared_latent&d.n=600&d.seed=9&d.n_classes=5"
        "&method=joint&loss=seed_alignment&c.train.epochs=12&c.train.seed=4&c.model.dim=8"
    )
    app.page.goto(link)
    app.page.get_by_test_id("stSidebarNav").wait_for()
    app.wait()
    app.assert_no_exception()
    main = app.main_text()
    assert "600 samples" in main and "seed 9" in main, main[:600]
    assert "settings from the shared link" in main
    app.shot("link-opened")
    # The share control hands the same setup on, without this visitor's workspace token.
    app.page.get_by_test_id("stSidebarUserContent").get_by_text("Share this setup").click()
    code = app.page.get_by_test_id("stCode").first
    code.wait_for()
    shared = code.inner_text().strip()
    query = parse_qs(urlparse(shared).query)
    assert query["data"] == ["shared_latent"] and query["d.seed"] == ["9"]
    assert query["loss"] == ["seed_alignment"] and "ws" not in query
    assert shared.startswith("http")
    # A second browser (another machine) opens it and gets the same data.
    other = browser.new_context()
    try:
        page = other.new_page()
        page.goto(shared)
        page.get_by_test_id("stSidebarNav").wait_for()
        page.get_by_text("600 samples", exact=False).first.wait_for()
        assert "seed 9" in page.get_by_test_id("stSidebarUserContent").inner_text()
    finally:
        other.close()
