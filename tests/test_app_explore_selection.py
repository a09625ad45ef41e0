"""AppTest: what Explore offers for a selection on its map: the selection beside the rest,
its downloads, a new data set that keeps or drops it, and the share link's ``sel=``."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from fusion.generators import shared_latent
from fusion.runs import load_run
from fusion.share import ids_to_param
from tests.apptest_helpers import make_run, open_page
from views.site import EXPLORE, TRAIN

slow = pytest.mark.slow  # the tests on a run train one and draw Explore


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny run for the whole module (training it is most of a test's time)."""
    return make_run(tmp_path_factory.mktemp("trained"), "tiny-joint")


@pytest.fixture
def joint_run(runs_dir, trained):
    return Path(shutil.copytree(trained, runs_dir / trained.name))


def _explore(run, rows, **state) -> AppTest:
    at = open_page(
        EXPLORE,
        explore_method="pca",
        explore_selection={"run": str(run), "rows": rows},
        **state,
    )
    assert not at.exception, at.exception
    return at


def _text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    return "\n".join(map(str, parts))


def _downloads(at: AppTest) -> dict[str, object]:
    return {b.proto.label: b for b in at.get("download_button")}


def _table(at: AppTest, first_column: str) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if d.value.columns[0] == first_column)


@pytest.fixture
def served(monkeypatch):
    """The files the page hands to download buttons, by file name."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    files: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def keep(self, path_or_data, mimetype, kind, filename=None):
        files[filename] = path_or_data
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    return files


@slow
def test_selection_panel_summarises_and_offers_downloads(joint_run, served):
    run = load_run(joint_run)
    n_val = len(run.samples.ids)
    at = _explore(joint_run, [0, 1, 2, n_val + 5])  # three first samples, one more's 2nd view
    text = _text(at)
    assert f"4 of {n_val:,} samples selected (4 points)" in text, text
    assert "Cross-modal Recall@1 at epoch 2" in text
    classes = _table(at, "Class")
    assert classes["Selected"].str.extract(r"^(\d+)")[0].astype(int).sum() == 4
    ret = _table(at, "Where")
    assert list(ret["Gallery"]) == ["4", f"{n_val:,}", f"{n_val:,}"]
    assert list(ret["Chance"])[0] == "0.25"
    assert set(_downloads(at)) == {"CSV", "Parquet"}
    ids = [*run.samples.ids[:3], run.samples.ids[5]]
    csv = pd.read_csv(io.BytesIO(served["tiny-joint-selection-e2.csv"]), dtype={"id": str})
    parquet = pd.read_parquet(io.BytesIO(served["tiny-joint-selection-e2.parquet"]))
    for df in (csv, parquet):
        assert list(df["id"]) == ids and len(df) == 4
        assert {"modality", "label", "map_x", "map_y"} <= set(df.columns)
        assert any(c.endswith("_nn5_cosine") for c in df.columns)


@slow
def test_keep_and_drop_set_the_session_data_set(joint_run):
    at = _explore(joint_run, list(range(12)))
    at.button(key="explore_subset_keep").click().run()
    assert not at.exception, at.exception
    data = at.session_state["dataset"]
    run = load_run(joint_run)
    wanted = list(run.samples.ids[:12])
    assert list(data.ids) == wanted and data.n == 12
    assert data.source["kind"] == "subset" and "generator" not in data.source
    label = at.session_state["dataset_label"]
    assert label == "Subset of tiny-joint: the 12 selected samples"
    assert any(label in s.value for s in at.success)
    # The whole data set minus the selection: the run's 200 generated samples less 12.
    at.button(key="explore_subset_drop").click().run()
    data = at.session_state["dataset"]
    assert data.n == 200 - 12 and not set(wanted) & set(data.ids)
    assert at.session_state["dataset_label"].endswith("188 samples, the selection dropped")
    # Train shows it as the data set it will train on.
    at.switch_page(TRAIN.script).run()
    assert not at.exception, at.exception
    assert any("Subset of tiny-joint" in m.value for m in [*at.markdown, *at.caption])


@slow
def test_a_subset_too_small_is_refused_with_the_minimum(joint_run):
    at = _explore(joint_run, [0, 1, 2])
    at.button(key="explore_subset_keep").click().run()
    assert not at.exception, at.exception
    assert any("at least 10" in e.value for e in at.error)
    assert "dataset" not in at.session_state or at.session_state["dataset"].n != 3


@slow
def test_the_link_carries_a_small_selection(joint_run):
    run = load_run(joint_run)
    at = _explore(joint_run, [0, 1, 2])
    ids = list(run.samples.ids[:3])
    assert at.query_params["sel"] == ids_to_param(ids)
    at.session_state["explore_selection"] = {"run": str(joint_run), "rows": []}  # cleared
    at.run()
    assert "sel" not in at.query_params
    at.session_state["explore_selection"] = {"run": str(joint_run), "rows": list(range(80))}
    at.run()  # every sample (40) fits in a link; a selection of more than 200 would not
    assert at.query_params["sel"] == ids_to_param(run.samples.ids)


@slow
def test_a_link_selection_is_restored_on_the_map(joint_run):
    run = load_run(joint_run)
    ids = list(run.samples.ids[[1, 4]])
    at = AppTest.from_file(open_page.__globals__["APP"], default_timeout=120)
    at.query_params["sel"] = ids_to_param(ids)
    at.session_state["explore_method"] = "pca"
    at.run()
    at.switch_page(EXPLORE.script).run()
    assert not at.exception, at.exception
    assert "2 of" in _text(at) and "samples selected (4 points)" in _text(at)
    assert at.query_params["sel"] == ids_to_param(ids)


def test_a_bad_link_selection_says_why(runs_dir):
    at = AppTest.from_file(open_page.__globals__["APP"], default_timeout=60)
    at.query_params["sel"] = "r:9-3"
    at.run()
    assert not at.exception, at.exception
    assert any("cannot be read" in e.value for e in at.error)
    assert "sel" not in at.query_params


@slow
def test_uploaded_data_not_in_session_subsets_the_saved_samples(joint_run, monkeypatch):
    """A run of uploaded data (not kept with the run) subsets its saved validation
    samples, and says so."""
    import json

    cfg = json.loads((joint_run / "config.json").read_text())
    cfg["data"] = {"files": ["pairs.parquet"]}
    (joint_run / "config.json").write_text(json.dumps(cfg))
    at = _explore(joint_run, list(range(12)), dataset=shared_latent(n=50, seed=3))
    assert any("saved validation samples" in c.value for c in at.caption)
    at.button(key="explore_subset_drop").click().run()
    n_val = len(load_run(joint_run).samples.ids)
    assert at.session_state["dataset"].n == n_val - 12


@slow
def test_an_upload_in_session_is_subset_whole_and_stays_the_base(joint_run):
    """A run of uploaded data that is still the session's data set: keep, then drop, are
    both made from all of it (not the second from the first subset)."""
    import json

    cfg = json.loads((joint_run / "config.json").read_text())
    cfg["data"] = {"files": ["pairs.parquet"]}
    (joint_run / "config.json").write_text(json.dumps(cfg))
    upload = shared_latent(n=200, n_classes=4, seed=0)
    upload.source = {"files": ["pairs.parquet"]}
    at = _explore(joint_run, list(range(12)), dataset=upload)
    assert not any("saved validation samples" in c.value for c in at.caption)
    at.button(key="explore_subset_keep").click().run()
    assert at.session_state["dataset"].n == 12
    at.button(key="explore_subset_drop").click().run()
    assert not at.exception, at.exception
    assert at.session_state["dataset"].n == 200 - 12


def _two_maps_app():
    """Two maps of one run drawn at once, each with its own selection."""
    import numpy as np
    import pandas as pd

    from fusion.rundata import MapData
    from views.parts.links import sync_url
    from views.parts.selection_actions import _share_selection

    meta = pd.DataFrame({"sample": [0, 1, 0, 1], "id": ["7", "9"] * 2, "modality": list("aabb")})
    data = MapData([0], meta, np.zeros((1, 4, 2), dtype=np.float32), [])
    sync_url()
    _share_selection(data, [0])
    _share_selection(data, [1])


def test_two_maps_with_different_selections_do_not_rerun_for_ever(runs_dir):
    at = AppTest.from_function(_two_maps_app, default_timeout=30)
    at.run()  # a rerun loop would end in a timeout here
    assert not at.exception, at.exception
    assert at.query_params["sel"] in ("r:7", "r:9")
