"""AppTest for the Explore page: a real tiny run, a damaged run, the map and its controls."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 120  # the first UMAP map in a fresh process compiles numba code


def make_run(root: Path, name: str, method: str = "joint", loss: str | None = None, **data_kw):
    """Train a tiny run and save it under ``root`` (seconds on a CPU)."""
    from fusion.experiment import default_config, run_experiment
    from fusion.generators import gated_reliability, shared_latent
    from fusion.runs import save_run

    if method == "attention":
        data = gated_reliability(n=200, seed=0, **data_kw)
    else:
        data = shared_latent(n=200, n_classes=4, seed=0, **data_kw)
    cfg = default_config(method, loss, epochs=2, batch_size=32, n_snapshots=2)
    cfg.name = name
    return save_run(run_experiment(data, cfg), root=root)


def make_damaged(root: Path, name: str = "broken") -> Path:
    d = root / name
    d.mkdir(parents=True)
    (d / "config.json").write_text("{}")
    return d


@pytest.fixture
def joint_run(runs_dir):
    return make_run(runs_dir, "tiny-joint")


def open_explore(**state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in state.items():
        at.session_state[k] = v
    at.run()
    at.switch_page("views/explore.py")
    return at.run()


def test_explore_shows_map_metrics_and_controls(joint_run):
    at = open_explore(explore_method="pca")
    assert not at.exception, at.exception
    assert at.title[0].value.endswith("Explore a run")
    assert len(at.metric) >= 4
    assert any("chance" in str(m.proto.delta) for m in at.metric)
    labels = [g.label for g in at.button_group]
    assert "Projection" in labels and "Colour by" in labels
    assert at.select_slider(key="explore_epoch").value == 2
    assert at.get("plotly_chart")


def test_explore_recolour_and_scrub(joint_run):
    at = open_explore(explore_method="pca")
    at.button_group(key="explore_color").set_value("label").run()
    assert not at.exception, at.exception
    at.select_slider(key="explore_epoch").set_value(0).run()
    assert not at.exception, at.exception
    assert any("epoch 0" in str(c.proto.spec) for c in at.get("plotly_chart"))


def test_explore_selection_shows_samples_and_neighbours(joint_run):
    at = open_explore(
        explore_method="pca", explore_selection={"run": str(joint_run), "rows": [0, 1, 50]}
    )
    assert not at.exception, at.exception
    subheaders = [s.value for s in at.subheader]
    assert "Nearest neighbours in the other modality" in subheaders
    assert any("partner" in " ".join(map(str, d.value.columns)) for d in at.dataframe)


def test_explore_umap_projection(joint_run):
    at = open_explore(explore_method="umap")
    assert not at.exception, at.exception
    assert any("UMAP" in str(c.proto.spec) for c in at.get("plotly_chart"))


def test_explore_attention_run_has_attention_tab(runs_dir):
    make_run(runs_dir, "tiny-attention", method="attention")
    at = open_explore(explore_method="pca", explore_tab=":material/center_focus_strong: Attention")
    assert not at.exception, at.exception
    assert any("Attention" in t.label for t in at.tabs)
    specs = " ".join(str(c.proto.spec) for c in at.get("plotly_chart"))
    assert "Attention weights per sample" in specs
    assert "Attention weight vs modality reliability" in specs


def test_explore_damaged_run_is_listed_and_does_not_crash(runs_dir, joint_run):
    broken = make_damaged(runs_dir)
    at = open_explore(explore_method="pca")
    assert not at.exception, at.exception
    box = at.selectbox(key="explore_run")
    assert str(broken) in box.options or any("damaged" in o for o in box.options)
    box.set_value(str(broken)).run()
    assert not at.exception, at.exception
    assert any("damaged" in e.value for e in at.error)


def test_explore_without_runs_offers_a_way_on(runs_dir):
    at = open_explore()
    assert not at.exception, at.exception
    assert at.button(key="explore_to_train")
