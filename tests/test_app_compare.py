"""AppTest for the Compare page: two tiny runs (seed objective vs InfoNCE) and a damaged one."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest_helpers import make_damaged, make_run, open_page
from views.site import COMPARE


def open_compare(**state) -> AppTest:
    return open_page(COMPARE, **state)


@pytest.mark.slow
def test_compare_two_runs(runs_dir):
    make_run(runs_dir, "seed", loss="seed_alignment")
    make_run(runs_dir, "infonce", loss="info_nce")
    at = open_compare()
    assert not at.exception, at.exception
    ms = at.multiselect(key="compare_runs")
    assert len(ms.value) == 2
    subheaders = [s.value for s in at.subheader]
    for name in ("Training loss", "Metrics", "Embedding spread over training"):
        assert name in subheaders
    table = at.dataframe[1].value  # the metric table: rows = metrics, columns = runs + chance
    assert {"seed", "infonce", "chance"} <= set(table.columns)
    specs = " ".join(str(c.proto.spec) for c in at.get("plotly_chart"))
    assert "Total training loss per epoch" in specs and "Embedding spread" in specs


@pytest.mark.slow
def test_compare_interaction_switch_projection_and_deselect(runs_dir):
    make_run(runs_dir, "a")
    make_run(runs_dir, "b", loss="triplet")
    at = open_compare()
    at.button_group(key="compare_method").set_value("umap").run()
    assert not at.exception, at.exception
    ms = at.multiselect(key="compare_runs")
    ms.set_value(ms.value[:1]).run()
    assert not at.exception, at.exception
    assert any("at least two" in i.value for i in at.info)


@pytest.mark.slow
def test_compare_lists_damaged_runs_without_crashing(runs_dir):
    make_run(runs_dir, "ok-1")
    make_run(runs_dir, "ok-2")
    make_damaged(runs_dir, "broken")
    at = open_compare()
    assert not at.exception, at.exception
    assert any("damaged" in e.label for e in at.expander)
    assert all("broken" not in o for o in at.multiselect(key="compare_runs").options)


@pytest.mark.slow
def test_compare_names_cca_loss_and_uploaded_files(runs_dir):
    """Linear CCA is listed with its own loss, not "cross-entropy"; uploaded data by its files."""
    import json

    cca = make_run(runs_dir, "cca", method="cca")
    info = json.loads((cca / "run.json").read_text())
    info["loss"] = "cross_entropy"  # as runs saved before the loss was recorded as "cca"
    (cca / "run.json").write_text(json.dumps(info))
    mine = make_run(runs_dir, "mine")
    cfg = json.loads((mine / "config.json").read_text())
    cfg["data"] = {"files": ["view_a.csv", "view_b.csv"], "format": "csv"}
    (mine / "config.json").write_text(json.dumps(cfg))
    at = open_compare()
    assert not at.exception, at.exception
    summary = at.dataframe[0].value.set_index("run")
    assert summary.loc["cca", "loss"] == "Linear CCA"
    assert summary.loc["mine", "data"] == "view_a.csv, view_b.csv"
    options = " ".join(at.multiselect(key="compare_runs").options)
    assert "cca · cca" in options and "cross_entropy" not in options, options


def test_compare_without_runs_offers_a_way_on(runs_dir):
    at = open_compare()
    assert not at.exception, at.exception
    assert at.button(key="compare_to_train")
