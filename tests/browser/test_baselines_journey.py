"""A person opens a finished attention run on Explore and sees it beside logistic regression
on each modality and on all modalities concatenated, with the paired verdict (its interval and
test rows); the Train form says what its automatic settings picked for the data."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from tests.apptest_helpers import make_run
from tests.browser.test_journeys import keyed, wait_for_text

pytestmark = pytest.mark.browser


def test_explore_shows_baselines_and_train_explains_auto(app):
    ws = parse_qs(urlparse(app.page.url).query)["ws"][0]
    make_run(app.server.runs_dir / "workspaces" / ws, "tiny-attention", method="attention")
    app.nav("Explore")
    wait_for_text(app, "Against simple baselines", 60)
    text = app.main_text()
    verdicts = ("Beat the baseline", "No detectable difference with", "Below the baseline")
    assert any(v in text for v in verdicts) and "95 % interval" in text
    panel = keyed(app, "explore_baselines")
    panel.scroll_into_view_if_needed()
    for bar in ("This run: accuracy", "Logistic regression: all concatenated"):
        assert panel.get_by_text(bar).count() >= 1, bar
    app.shot("explore-baselines")

    make_run(app.server.runs_dir / "workspaces" / ws, "tiny-early", method="early")
    app.nav("Compare")
    wait_for_text(app, "Each run against its baselines", 60)
    text = app.main_text()
    assert sum(text.count(v) for v in verdicts) >= 2  # one verdict per run
    app.page.get_by_text("Each run against its baselines").scroll_into_view_if_needed()
    app.shot("compare-baselines")

    app.nav("Train")
    demo = app.page.get_by_role("button", name="Use the default demo data")
    if demo.count():  # a new session has no dataset yet
        demo.click()
        app.wait()
    wait_for_text(app, "What the defaults do with this data", 60)
    text = app.main_text()
    assert "Early stopping" in text and "Standardised inputs" in text
    app.shot("train-auto-notes")
