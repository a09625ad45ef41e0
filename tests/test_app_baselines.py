"""AppTest: Explore and Compare show each run beside its logistic-regression baselines, with
its paired verdict (the interval and the test rows); runs saved before baselines still open."""

from __future__ import annotations

import json

import pytest

from tests.apptest_helpers import make_run, open_page
from views.site import COMPARE, EXPLORE

VERDICT_WORDS = ("Beat the baseline", "No detectable difference with", "Below the baseline")


def _texts(at) -> list[str]:
    boxes = [*at.success, *at.info, *at.warning]
    return [str(b.value) for b in boxes] + [str(m.value) for m in at.markdown]


@pytest.mark.slow
def test_explore_shows_baselines_and_verdict(runs_dir):
    make_run(runs_dir, "att", method="attention")
    at = open_page(EXPLORE, explore_method="pca")
    assert not at.exception, at.exception
    verdict = [text for text in _texts(at) if any(w in text for w in VERDICT_WORDS)]
    assert verdict and "95 % interval" in verdict[0] and "test rows" in verdict[0]
    specs = " ".join(str(c.proto.spec) for c in at.get("plotly_chart"))
    assert "Logistic regression: all concatenated" in specs and "This run: accuracy" in specs


@pytest.mark.slow
def test_explore_opens_a_run_saved_before_baselines(runs_dir):
    path = make_run(runs_dir, "old", method="attention")
    metrics = json.loads((path / "metrics.json").read_text())
    old = {k: v for k, v in metrics.items() if not k.startswith("baseline_")}
    (path / "metrics.json").write_text(json.dumps(old))
    at = open_page(EXPLORE, explore_method="pca")
    assert not at.exception, at.exception
    assert not any(w in text for text in _texts(at) for w in VERDICT_WORDS)
    assert any("has no baselines" in c.value for c in at.caption)


@pytest.mark.slow
def test_compare_puts_each_run_beside_its_baselines(runs_dir):
    make_run(runs_dir, "att", method="attention")
    make_run(runs_dir, "early", method="early")
    at = open_page(COMPARE)
    assert not at.exception, at.exception
    verdicts = [text for text in _texts(at) if any(w in text for w in VERDICT_WORDS)]
    assert len(verdicts) == 2
    assert any("Each run against its baselines" in s.value for s in at.subheader)


@pytest.mark.slow
def test_explore_in_chinese_says_it_in_chinese(runs_dir):
    make_run(runs_dir, "att", method="attention")
    at = open_page(EXPLORE, explore_method="pca", lang="zh")
    assert not at.exception, at.exception
    words = ("胜过基线", "看不出差别", "低于基线")
    assert any(w in text and "95%" in text for text in _texts(at) for w in words)
