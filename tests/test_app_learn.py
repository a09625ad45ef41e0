"""AppTest for the Learn page: concepts, every loss as LaTeX with its source, metrics, lessons."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from fusion.registry import LOSSES
from views.site import LEARN

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def open_learn() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page(LEARN.script)
    return at.run()


def test_learn_renders_tabs_formulas_and_sources():
    at = open_learn()
    assert not at.exception, at.exception
    assert [t.label for t in at.tabs] == ["Concepts", "Losses", "Metrics", "Lessons"]
    latex = [x.value for x in at.latex]
    for spec in LOSSES.values():
        assert any(spec.formula_latex in x for x in latex)
    assert any(r"\lambda \sum_{i} \|f(x_i)\|^2 + \|g(y_i)\|^2" in x for x in latex)
    text = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    for spec in LOSSES.values():
        assert spec.url in text
    assert "collapse" in text


def test_learn_lessons_placeholder_goes_to_train():
    at = open_learn()
    at.button(key="learn_to_train").click().run()
    assert not at.exception, at.exception
