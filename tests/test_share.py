"""Shareable setups: data settings and a training configuration round-trip through the URL."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from fusion.errors import FusionError
from fusion.experiment import default_config
from fusion.generators import GENERATORS, generate
from fusion.share import parse_setup, setup_query
from tests.apptest_helpers import APP, TIMEOUT, wait_for_jobs
from views.site import TRAIN

TINY = {
    "shared_latent": {"n": 120, "seed": 3, "n_modalities": 3, "noise": [0.2, 0.5, 0.9]},
    "gated_reliability": {"n": 120, "seed": 4, "p_informative": [0.8, 0.2]},
    "digits_two_view": {"n": 120, "seed": 5},
    "digits_captions": {"n": 120, "seed": 6},
}


def _same_data(a, b) -> bool:
    return (
        a.names == b.names
        and all(np.array_equal(a.modalities[m], b.modalities[m]) for m in a.names)
        and np.array_equal(a.labels, b.labels)
    )


@pytest.mark.parametrize("gen", GENERATORS)
def test_generated_data_round_trips(gen):
    data = generate(gen, **TINY[gen])
    query = setup_query(data.source)
    assert all(isinstance(v, str) for v in query.values())
    setup = parse_setup(query)
    assert setup.generator == gen and setup.config is None
    assert _same_data(generate(setup.generator, **setup.params), data)


@pytest.mark.parametrize(
    ("method", "loss"),
    [
        ("joint", "info_nce"),
        ("joint", "seed_alignment"),
        ("joint", "triplet"),
        ("joint", "dcca"),
        ("attention", None),
        ("early", None),
        ("late", None),
        ("single", None),
        ("cca", None),
    ],
)
def test_configs_round_trip(method, loss):
    cfg = default_config(method, loss, epochs=7, lr=0.01, seed=11, weight_decay=1e-4)
    cfg.model.dim = 8
    if loss == "seed_alignment":
        cfg.loss_params = {"lam": 0.3}
    if loss == "triplet":
        cfg.loss_params = {"margin": 0.35, "mining": "semi-hard"}
    back = parse_setup(setup_query(None, cfg)).config
    assert back.to_dict() == cfg.to_dict()


def test_only_changed_settings_are_written_and_the_seed_always():
    q = setup_query(None, default_config("joint"))
    assert q == {"method": "joint", "loss": "info_nce", "c.train.seed": "0"}
    assert parse_setup({"gen": "x", "ws": "abc"}) is None  # other parameters are not a setup


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"data": "nope"}, "nope"),
        ({"data": "shared_latent", "d.colour": "1"}, "colour"),
        ({"d.n": "10"}, "data="),
        ({"c.model.wings": "2"}, "c.model.wings"),
        ({"method": "telepathy"}, "telepathy"),
        ({"c.train.epochs": "-3"}, "Epochs"),
    ],
)
def test_a_bad_link_says_what_is_wrong(query, words):
    with pytest.raises(FusionError) as info:
        setup = parse_setup(query)
        if setup.generator:
            generate(setup.generator, **setup.params)
    assert words in str(info.value)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in info.value.localized("zh"))


def _app(query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def test_url_round_trip_through_the_app(tmp_path, monkeypatch):
    """Session A makes data and starts a training; the URL it ends with, opened as a new
    session B, rebuilds the same data and puts the same settings into B's Train form."""
    monkeypatch.setenv("FUSION_RUNS_DIR", str(tmp_path))
    a = _app({})
    a.switch_page(TRAIN.script).run()
    a.button(key="empty_make_data").click().run()
    a.select_slider(key="tr_dim_joint_info_nce").set_value(8)
    a.select_slider(key="tr_temp_joint_info_nce").set_value(0.2)
    a.slider(key="tr_epochs_joint_info_nce").set_value(3)
    a.number_input(key="tr_seed_joint_info_nce").set_value(7)
    next(b for b in a.button if b.label == "Start training").click().run()
    assert not a.exception, a.exception
    wait_for_jobs()
    a.run()
    query = {
        k: a.query_params[k][0] if isinstance(a.query_params[k], list) else a.query_params[k]
        for k in a.query_params
    }
    assert query["data"] == "shared_latent" and query["c.model.temperature"] == "0.2"
    assert "ws" in query  # the visitor's workspace stays in the URL...
    del query["ws"]  # ...but a shared link never carries it

    b = _app(query)
    assert not b.exception, b.exception
    assert _same_data(b.session_state["dataset"], a.session_state["dataset"])
    b.switch_page(TRAIN.script).run()
    assert not b.exception, b.exception
    assert b.select_slider(key="tr_dim_joint_info_nce").value == 8
    assert b.select_slider(key="tr_temp_joint_info_nce").value == 0.2
    assert b.slider(key="tr_epochs_joint_info_nce").value == 3
    assert b.number_input(key="tr_seed_joint_info_nce").value == 7
    assert any("shared link" in i.value for i in b.info)


def test_a_broken_link_is_reported_and_the_page_still_works():
    at = _app({"data": "shared_latent", "d.n": "-5"})
    assert not at.exception, at.exception
    assert any("Could not load the setup from the link" in e.value for e in at.error)
    assert "data" not in at.query_params  # the bad setup is dropped from the URL
