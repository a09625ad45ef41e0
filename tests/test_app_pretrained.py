"""AppTest, end to end: upload a pair of embedding files, explore them as they are (no
training), shift along the modality gap, train an adapter on top and compare before/after."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest_helpers import open_page, wait_for_jobs
from tests.test_pretrained import clip_like, npy
from views.site import DATA, EXPLORE


def click(at: AppTest, key: str) -> AppTest:
    return at.button(key=key).click().run()


@pytest.mark.slow
def test_upload_explore_as_is_train_adapter_and_compare(runs_dir):
    img, txt, labels = clip_like(n=240, rotate=True, seed=1)
    at = open_page(DATA, timeout=180)
    at.file_uploader[0].set_value(
        [
            ("image.npy", npy(img), "application/octet-stream"),
            ("text.npy", npy(txt), "application/octet-stream"),
            ("labels.npy", npy(labels), "application/octet-stream"),
        ]
    ).run()
    assert not at.exception, at.exception
    assert any(".npy files" in m.value for m in at.markdown)
    next(b for b in at.button if b.label == "Load").click().run()
    assert not at.exception, at.exception
    data = at.session_state["dataset"]
    assert data.names == ["image", "text"] and data.labels is not None

    # Explore as they are: one click runs 'asis' and opens its run on Explore.
    assert at.checkbox(key="asis_normalize").value
    click(at, "asis_explore")
    assert not at.exception, at.exception
    runs = [p for p in runs_dir.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(runs) == 1 and runs[0].name.startswith("asis")
    from fusion.runs import load_run

    before = load_run(runs[0])
    assert before.run_config().method == "asis" and before.snapshot_epochs == [0]
    m = before.metrics
    assert m["recall_at_1_mean"] < 4 * m["recall_at_1_mean_chance"]  # rotated: pairs missed
    assert any("Pretrained" in t.label for t in at.tabs)
    header = " ".join(c.value for c in at.caption)
    assert "no training" in header and "epochs" not in header and "lr " not in header, header
    # Labelled data, yet no baselines: the page says the vectors are the baseline, not that
    # the run is old or unlabelled.
    assert "these numbers are themselves the baseline" in header
    assert "has no baselines" not in header
    data = at.session_state["dataset"]  # rows L2-normalised: the adapter trains on these
    assert data.source["l2_normalized"]

    # The gap shift and the adapter live in Explore's Pretrained tab.
    # A new AppTest session (as after a reload) with the same data active.
    at = open_page(
        EXPLORE, timeout=180, dataset=data, explore_tab=":material/travel_explore: Pretrained"
    )
    assert not at.exception, at.exception
    specs = " ".join(str(c.proto.spec) for c in at.get("plotly_chart"))
    assert "Shifting along the modality gap" in specs
    at.slider(key="asis_gap_shift").set_value(1.0).run()
    gap = next(x for x in at.metric if x.label == "Modality gap at λ = 1")
    assert gap.delta.startswith("-")  # shifting by λ = 1 closes most of the gap
    at.slider(key="asis_adapter_epochs").set_value(40).run()
    click(at, "asis_train_adapter")
    assert not at.exception, at.exception
    wait_for_jobs(timeout=300)
    at.run()
    assert not at.exception, at.exception
    click(at, "asis_compare")
    assert not at.exception, at.exception

    # Compare: before and after side by side, on the same validation pairs.
    names = [str(x) for x in at.session_state["compare_runs"]]
    assert len(names) == 2 and names[0] == str(runs[0])
    after = load_run(names[1])
    assert after.run_config().method == "joint"
    assert after.run_config().model.encoder.kind == "adapter_linear"  # starts as the identity
    assert after.metrics["recall_at_1_mean"] > 10 * after.metrics["recall_at_1_mean_chance"]
    assert after.metrics["recall_at_1_mean"] > 3 * m["recall_at_1_mean"]
    assert any("Before and after the adapter" in s.value for s in at.subheader)
    table = next(d.value for d in at.dataframe if "before: " + runs[0].name in d.value.columns)
    assert list(table.columns) == [
        "metric",
        "before: " + runs[0].name,
        "after: " + after.name,
        "chance",
    ]
    row = table.set_index("metric").loc["Mean Recall@1"]
    assert float(row.iloc[1]) > 3 * float(row.iloc[0])
