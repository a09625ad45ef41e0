"""A screenshot tour of every page, in English, in Chinese and in presenter mode.

After the joint demo (so every page has a dataset and a run to show), each page is opened
by its address, as a shared link would open it, with the language or presenter mode in
the URL. Each must render without an exception box, in the asked-for language, and is
kept as ``test-artifacts/screenshots/test_tour_of_every_page[<mode>]-NN-<page>.png`` for a
person to look at.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser.test_journeys import DEMO_TO_MAP_S, keyed, wait_for_map

pytestmark = pytest.mark.browser

PAGES = ("home", "data", "train", "explore", "compare", "learn")
MODES = {"en": "lang=en", "zh": "lang=zh", "presenter": "lang=en&present=1"}
# A word each page shows in its language (the page titles of the navigation).
NAV_HOME = {"en": "Home", "zh": "首页"}


@pytest.mark.parametrize("mode", list(MODES))
def test_tour_of_every_page(app, mode):
    keyed(app, "demo_joint").get_by_role("button").first.click()
    app.page.wait_for_url(re.compile(r"/explore(\?|$)"), timeout=DEMO_TO_MAP_S * 1000)
    assert wait_for_map(app, DEMO_TO_MAP_S) > 0
    ws = parse_qs(urlparse(app.page.url).query)["ws"][0]
    lang = "zh" if mode == "zh" else "en"
    for page in PAGES:
        path = "" if page == "home" else page  # the default page's address is "/"
        app.page.goto(f"{app.url}/{path}?ws={ws}&{MODES[mode]}")
        # Presenter mode starts with the sidebar collapsed: its navigation is there, hidden.
        app.page.get_by_test_id("stSidebarNav").wait_for(state="attached")
        app.wait()
        app.assert_no_exception()
        nav = app.page.get_by_test_id("stSidebarNav").text_content() or ""
        assert NAV_HOME[lang] in nav, nav
        if page == "explore":
            assert wait_for_map(app, 60) > 0  # the demo's run, in this workspace
        app.shot(page)
