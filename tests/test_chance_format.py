"""Small chance levels are shown with their digits: 1/4000 is 0.00025, never "chance 0"."""

from __future__ import annotations

import pytest

from fusion.i18n import translate
from views.parts.text import fmt


@pytest.mark.parametrize(
    ("x", "shown"),
    [
        (1 / 4000, "0.00025"),
        (1 / 300, "0.0033"),
        (0.028, "0.028"),
        (0.5, "0.5"),
        (0.0, "0"),
        (1e-5, "0.00001"),  # R@1's chance on 100,000 rows
        (1 / 45_000, "0.000022"),
        (1e-6, "0.000001"),
        (1e-7, "1.0e-07"),
        (12.34, "12.3"),
        (float("nan"), "–"),
    ],
)
def test_fmt_keeps_small_values_visible(x, shown):
    assert fmt(x) == shown


def test_the_chance_delta_of_a_large_validation_set_is_not_zero():
    text = translate("common.chance_c", "en", c=fmt(1 / 4000))
    assert text == "chance 0.00025"


def test_the_metric_bars_hover_shows_small_chance_levels():
    from fusion import plots

    fig = plots.metric_bars({"recall_at_1_mean": 0.03}, chance={"recall_at_1_mean": 1 / 4000})
    hover = next(tr.hovertemplate for tr in fig.data if tr.hovertemplate and "chance" in tr.name)
    assert "%{x:.3~g}" in hover  # d3 format: 0.00025, not 0.0003 or 0
