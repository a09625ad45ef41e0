"""AppTest of the live views as the training panel draws them mid-training: the map with
its controls and point count, and attention fusion's weights (distribution, by class,
against the reliability mask, and their trend over the epochs so far)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from fusion import live
from fusion.config import default_config


def _script():
    import streamlit as st

    from views.parts.live_map import live_view

    class P:  # what fusion.jobs.Progress carries: the worker's events by kind
        live = st.session_state["events"]

    live_view(P(), "t", st.session_state.get("method", "umap"))


@pytest.fixture(scope="module")
def attention_events(small_gated):
    """Events of a real attention-fusion training, cut after epoch 2 of 4 (mid-training)."""
    from fusion.experiment import run_experiment
    from fusion.jobs import Progress

    cfg = default_config("attention", "cross_entropy", epochs=4)
    progress = Progress()  # as the server keeps them (a UMAP update replaces its frame)
    run_experiment(small_gated, cfg, live.live_callbacks(cfg, progress.apply))
    events = progress.live
    return {
        live.POINTS: events[live.POINTS],
        # Frames of busy evaluations may be dropped; the first one never is (none waits).
        live.FRAME: [f for f in events[live.FRAME] if f["epoch"] <= 2] or events[live.FRAME][:1],
        live.ATTENTION: [a for a in events[live.ATTENTION] if a["epoch"] <= 2],
    }


def _open(events, **state) -> AppTest:
    at = AppTest.from_function(_script, default_timeout=60)
    at.session_state["events"] = events
    for k, v in state.items():
        at.session_state[k] = v
    return at.run()


def _charts(at):
    return [c for c in at.get("plotly_chart")]


def test_attention_view_during_training(attention_events):
    at = _open(attention_events)
    assert not at.exception
    charts = _charts(at)
    assert len(charts) == 3  # the map, the attention now, the attention trend
    captions = " ".join(c.value for c in at.caption)
    assert "validation points shown" in captions and "this frame took" in captions
    views = at.segmented_control(key="t_live_attention_view")
    assert views.options == ["Distribution", "By class", "vs reliability"]
    import json

    trend = json.loads(charts[2].proto.spec)
    assert [list(tr["x"]) for tr in trend["data"]][0] == [0, 1, 2]  # epochs so far
    assert any("when unreliable" in tr["name"] for tr in trend["data"])
    for value in ("by_class", "reliability"):
        at.segmented_control(key="t_live_attention_view").set_value(value).run()
        assert not at.exception
        spec = json.loads(_charts(at)[1].proto.spec)
        kinds = {tr["type"] for tr in spec["data"]}
        assert kinds == ({"bar"} if value == "by_class" else {"box"})


def test_map_controls_and_colouring(attention_events):
    at = _open(attention_events)
    assert at.segmented_control(key="t_live_method").value == "umap"
    colours = at.segmented_control(key="t_live_color").options
    assert colours == ["Modality", "Class label", "Reliability"]
    at.segmented_control(key="t_live_color").set_value("reliability").run()
    at.segmented_control(key="t_live_method").set_value("pca").run()
    at.toggle(key="t_live_pairs").set_value(True).run()
    assert not at.exception
    import json

    spec = json.loads(_charts(at)[0].proto.spec)
    epoch = attention_events[live.FRAME][-1]["epoch"]
    title = spec["layout"]["title"]["text"]
    assert "PCA" in title and f"epoch {epoch}" in title
    assert spec["layout"]["transition"]["duration"] > 0


def test_a_frame_within_an_epoch_says_how_far_the_epoch_is(attention_events):
    """A long epoch's frames (peeks) carry a fractional epoch: PCA draws the newest, UMAP
    the newest frame that has one, and the page says which epoch each map is."""
    import json

    frames = attention_events[live.FRAME]
    last = frames[-1]
    with_umap = [f for f in frames if f["umap"] is not None][-1]  # a busy machine: maybe older
    peek = {**last, "epoch": last["epoch"] + 0.47, "partial": True, "umap": None}
    events = {**attention_events, live.FRAME: [*frames, peek]}
    at = _open(events, method="pca")
    title = json.loads(_charts(at)[0].proto.spec)["layout"]["title"]["text"]
    assert f"epoch {last['epoch']}.4 " in title, title  # 2.47: four tenths of epoch 3 done
    at = _open(events)
    title = json.loads(_charts(at)[0].proto.spec)["layout"]["title"]["text"]
    assert f"epoch {with_umap['epoch']} " in title and "UMAP" in title, title
    captions = " ".join(c.value for c in at.caption)
    assert f"epoch {last['epoch']}.4 on PCA" in captions, captions


def test_before_the_first_frame_and_without_events():
    at = _open({})
    assert "appears after the first evaluation" in at.caption[0].value
    at = _open(
        {live.POINTS: [{"modalities": ["a"], "sample": [], "modality": [], "reliability": []}]}
    )
    assert not at.exception


def test_collapse_caption_without_nan():
    import numpy as np

    rng = np.random.default_rng(0)
    base = rng.normal(size=(80, 6)).astype(np.float32)
    events: dict[str, list] = {}
    lm = live.LiveMap(lambda k, p: events.setdefault(k, []).append(p))
    from fusion.data import PairedData

    data = PairedData({"a": np.zeros((80, 1)), "b": np.zeros((80, 1))})
    lm.on_train_start({"n_val": 80})
    for e, s in enumerate([1.0, 1e-2, 1e-5]):
        lm.on_evaluate(e, {"emb:a": base * s, "emb:b": base * s + 3 * s}, data)
    lm.on_train_end(type("H", (), {})())
    at = _open(events, method="pca")
    assert not at.exception
    assert any("Collapse" in w.value for w in at.warning)
