"""AppTest for the Train page: the form, a tiny training to the end, Stop, refused configs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest_helpers import APP, TIMEOUT, wait_for_jobs
from views.site import TRAIN


def open_train(data=None, label: str = "tiny") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if data is not None:
        at.session_state["dataset"] = data
        at.session_state["dataset_label"] = label
    at.run()
    at.switch_page(TRAIN.script)
    return at.run()


def start(at: AppTest) -> AppTest:
    return next(b for b in at.button if b.label == "Start training").click().run()


def start_tiny_joint(data) -> AppTest:
    """Train opened on ``data``: a joint InfoNCE run of 2 epochs of batches of 64, started."""
    at = open_train(data)
    at.slider(key="tr_epochs_joint_info_nce").set_value(2)
    at.select_slider(key="tr_bs_joint_info_nce").set_value(64)
    return start(at)


def test_without_data_the_page_offers_demo_data():
    at = open_train()
    assert not at.exception, at.exception
    assert any("No dataset yet" in i.value for i in at.info)
    at.button(key="empty_make_data").click().run()
    assert at.session_state["dataset"].n == 2000
    assert any(b.label == "Start training" for b in at.button)


def test_form_shows_the_settings_of_each_method(small_latent):
    at = open_train(small_latent)
    assert not at.exception, at.exception
    labels = {w.label for w in [*at.selectbox, *at.select_slider, *at.slider, *at.number_input]}
    assert {"Method", "Loss", "Encoder", "Shared dimension", "Temperature τ", "Optimiser"} <= labels
    assert {"Learning rate", "LR schedule", "Batch size", "Epochs", "Seed", "Device"} <= labels
    assert all(w.help for w in [*at.selectbox, *at.select_slider, *at.slider])  # one-line help
    at.selectbox(key="train_loss_choice").select("triplet").run()
    assert at.slider(key="tr_margin_joint_triplet").value == 0.2
    at.selectbox(key="train_method").select("attention").run()
    assert at.selectbox(key="tr_heads_attention_cross_entropy").value == 0
    at.selectbox(key="train_method").select("cca").run()
    assert not at.exception, at.exception
    assert "Epochs" not in {s.label for s in at.slider}


def test_encoder_choices_fit_their_box(small_latent):
    """Every encoder choice, "Auto (CNN for images, MLP otherwise)" too, fits the form's column."""
    import unicodedata

    from fusion.i18n import translate

    def cells(text: str) -> int:  # a CJK character is about two Latin letters wide
        return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)

    at = open_train(small_latent)
    shown = at.selectbox(key="tr_encoder_joint_info_nce").options
    assert shown[0].startswith("Auto") and all(cells(o) <= 20 for o in shown), shown
    for kind in ("auto", "linear", "mlp", "cnn"):
        text = translate(f"train.encoder_labels.{kind}", "zh")
        assert cells(text) <= 20, text


@pytest.mark.slow
def test_tiny_training_runs_to_the_end_and_becomes_the_active_run(runs_dir, small_latent):
    at = start_tiny_joint(small_latent)
    assert not at.exception, at.exception
    assert not at.error
    wait_for_jobs()
    at.run()
    assert not at.exception, at.exception
    assert at.success and at.success[0].value.startswith("Training finished")
    run = Path(at.session_state["active_run"])
    assert run.parent == runs_dir.resolve() and (run / "run.json").is_file()
    assert {m.label for m in at.metric} >= {"Epochs completed", "Mean Recall@1"}
    assert any(b.label == "Open Explore" for b in at.button)


@pytest.mark.slow
def test_stop_ends_the_training_and_keeps_what_was_learned(runs_dir, small_latent):
    at = open_train(small_latent)
    at.slider(key="tr_epochs_joint_info_nce").set_value(200)
    start(at)
    deadline = time.monotonic() + 60
    while not any(b.label == "Stop training" for b in at.button) and time.monotonic() < deadline:
        at.run()
    next(b for b in at.button if b.label == "Stop training").click().run()
    wait_for_jobs()
    at.run()
    assert at.warning and "stopped" in at.warning[0].value.lower()


def test_an_invalid_config_is_refused_with_the_fix(small_latent):
    from fusion.jobs import active_jobs

    at = open_train(small_latent.subset(list(range(40))))
    # 40 rows are cross-validated (5 folds): 24 training rows in each. The default batch
    # adapts to them; a batch chosen larger is refused with the largest that fits.
    at.select_slider(key="tr_bs_joint_info_nce").set_value(256)  # sent with the form
    start(at)
    assert at.error and "Choose a batch size of at most 24" in at.error[0].value
    assert not active_jobs()
    assert any(b.label == "Start training" and not b.disabled for b in at.button)


def test_gpu_is_refused_with_the_reason_when_there_is_none(small_latent):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    at = open_train(small_latent)
    at.selectbox(key="tr_device_joint_info_nce").select("cuda")
    start(at)
    assert at.error and "No NVIDIA GPU" in at.error[0].value
