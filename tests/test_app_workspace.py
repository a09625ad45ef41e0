"""Per-visitor workspaces on a shared server: each browser session sees only its own runs."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest_helpers import APP, TIMEOUT, make_run
from views.site import EXPLORE


def _visit(query: dict[str, str] | None = None, page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    return at


@pytest.mark.slow
def test_each_visitor_gets_a_private_workspace_in_the_url(runs_dir, monkeypatch):
    monkeypatch.setenv("FUSION_WORKSPACES", "session")
    alice, bob = _visit(), _visit()
    ws_a, ws_b = alice.session_state["workspace"], bob.session_state["workspace"]
    assert ws_a != ws_b and len(ws_a) >= 12
    assert alice.query_params["ws"] == [ws_a] or alice.query_params["ws"] == ws_a

    make_run(runs_dir / "workspaces" / ws_a, "alices-run")
    make_run(runs_dir, "made-on-the-command-line")

    # Alice (coming back with her URL) sees her run only; Bob sees none of them.
    again = _visit({"ws": ws_a}, EXPLORE.script)
    assert not again.exception, again.exception
    assert again.session_state["workspace"] == ws_a
    picker = again.selectbox(key="explore_run")
    assert [o for o in picker.options if "alices-run" in o]
    assert not [o for o in picker.options if "command-line" in o]
    bob_explore = _visit({"ws": ws_b}, EXPLORE.script)
    assert not bob_explore.exception
    assert not bob_explore.selectbox  # the empty state: no runs to pick
    assert any("No training runs yet" in i.value for i in bob_explore.info)


def test_a_malformed_workspace_token_is_replaced(runs_dir, monkeypatch):
    monkeypatch.setenv("FUSION_WORKSPACES", "session")
    at = _visit({"ws": "../../etc"})
    ws = at.session_state["workspace"]
    assert ws != "../../etc" and "/" not in ws and "." not in ws
