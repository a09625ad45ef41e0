"""AppTest for Home: the intro, both demo cards, and a (shrunk) demo that trains and lands on Explore."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest_helpers import APP, TIMEOUT, wait_for_jobs


@pytest.fixture
def tiny_demos(monkeypatch):
    """The demos as the page defines them, but small enough to train in a second."""
    from views.parts.demo import DEMOS

    for kind in DEMOS:
        monkeypatch.setitem(DEMOS[kind], "params", {"n": 300, "seed": 0})
        monkeypatch.setitem(DEMOS[kind], "epochs", 2)
    return DEMOS


def test_home_explains_and_offers_both_demos():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Fusion Playground"
    intro = at.markdown[0].value
    assert "joint embedding" in intro and "Attention fusion" in intro
    joint, attention = at.button(key="demo_joint"), at.button(key="demo_attention")
    assert joint.label == "Try the demo" and joint.proto.type == "primary"
    assert attention.label == "Try the attention demo"
    assert not joint.disabled and not attention.disabled
    assert any("try a demo on Home" in c.value for c in at.sidebar.caption)  # empty state


@pytest.mark.slow
def test_joint_demo_trains_and_lands_on_explore(runs_dir, tiny_demos):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    # The click opens Explore at once, in its own short run; Explore shows the demo's live
    # panel while it trains; Home itself never waits on the job.
    at.button(key="demo_joint").click().run()
    assert not at.exception, at.exception
    assert any(v.endswith("Explore a run") for v in (t.value for t in at.title))
    assert at.session_state["dataset_label"].startswith("shared_latent")
    wait_for_jobs()
    at.run()  # what the panel's timer does in a browser once the job has ended
    assert not at.exception, at.exception
    run = Path(at.session_state["active_run"])
    assert run.parent == runs_dir.resolve()
    info = json.loads((run / "run.json").read_text())
    assert info["method"] == "joint" and info["loss"] == "info_nce"
    assert info["completed_epochs"] == 2
    # The demo switched pages: Home's title is gone, Explore's is there.
    titles = [t.value for t in at.title]
    assert "Fusion Playground" not in titles
    assert any(v.endswith("Explore a run") for v in titles)
    assert "pending_nav" not in at.session_state


@pytest.mark.slow
def test_attention_demo_trains_the_attention_model(runs_dir, tiny_demos):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.button(key="demo_attention").click().run()
    assert not at.exception, at.exception
    assert at.session_state["dataset_label"].startswith("gated_reliability")
    wait_for_jobs()
    at.run()
    info = json.loads((Path(at.session_state["active_run"]) / "run.json").read_text())
    assert info["method"] == "attention" and info["status"] == "finished"
