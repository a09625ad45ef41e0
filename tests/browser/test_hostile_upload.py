"""A decompression bomb uploaded on the Data page: a clear message, and the server survives.

The NPZ of tests/data/make_hostile_files.py (15 MB on disk, two members inflating to 8 GB
of zeros each) is refused from its .npy headers before anything is inflated. Afterwards
the server still answers ``/_stcore/health``, its memory has not grown by the bomb's
size, and another browser session (a new Streamlit session) can still generate data.
"""

from __future__ import annotations

import importlib.util
import urllib.request
from pathlib import Path

import pytest

from tests.browser.conftest import App, new_context
from tests.browser.test_journeys import open_tab, wait_for_alert, wait_for_text

pytestmark = pytest.mark.browser

DATA = Path(__file__).resolve().parents[1] / "data"
SERVER_GROWTH_MB = 300  # the bomb inflates to 16 GB; refusing it must cost far less


def _make_bomb(out: Path) -> Path:
    spec = importlib.util.spec_from_file_location("make_hostile", DATA / "make_hostile_files.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_npz_deflate_bomb(out)


def test_npz_bomb_upload_is_refused_and_the_server_survives(app, browser, app_server, tmp_path):
    bomb = _make_bomb(tmp_path)
    app.nav("Data")
    open_tab(app, "Upload files")
    rss_before = app_server.rss_mb()
    app.page.locator(".st-key-upload_files input[type=file]").set_input_files(str(bomb))
    app.page.get_by_test_id("stFileChipName").filter(has_text=bomb.name).wait_for()
    app.wait()
    app.page.get_by_test_id("stMain").get_by_role("button", name="Load", exact=True).click()
    app.wait()
    wait_for_alert(app, "Error", "'npz_deflate_bomb.npz'", "(1000000, 1000)", "Subsample the rows")
    app.assert_no_exception()
    app.shot("data-npz-bomb")
    grown = app_server.rss_mb() - rss_before
    assert grown < SERVER_GROWTH_MB, f"the server grew by {grown:.0f} MB refusing the bomb"

    with urllib.request.urlopen(f"{app_server.url}/_stcore/health", timeout=10) as resp:
        assert resp.status == 200 and resp.read().decode().strip() == "ok"

    # Another visitor's session still works: it generates data and sees it active.
    context = new_context(browser)
    try:
        other = App(context.new_page(), app_server, "other-session")
        other.open()
        other.nav("Data")
        main = other.page.get_by_test_id("stMain")
        main.get_by_role("button", name="Generate", exact=True).click()
        wait_for_alert(other, "Success", "Generated")
        wait_for_text(other, "shared_latent", 30, where="stSidebar")
        other.assert_no_exception()
    finally:
        context.close()
