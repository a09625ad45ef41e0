"""Faults the Train, Explore and Compare pages must survive, with ``AppTest`` (no browser).

- A GPU running out of memory (simulated on the CPU: the model's forward raises
  ``torch.cuda.OutOfMemoryError``): the page suggests a smaller batch or the CPU, and the
  session goes on (another training starts and finishes).
- Invalid configurations are refused before training, with the fix, on the Train page.
- A run folder whose files are all there but corrupted is listed as damaged (or reported),
  never crashing Explore or Compare.

The browser side (divergence, stop, reload, closed tabs, bad uploads) is in
``tests/browser/test_faults.py``.
"""

from __future__ import annotations

import pytest
import torch
from streamlit.testing.v1 import AppTest

from tests.apptest_helpers import APP, TIMEOUT, make_run, wait_for_jobs
from tests.test_app_explore import open_explore
from tests.test_app_train import open_train, start
from views.site import COMPARE


def oom_forward(monkeypatch, fail_calls):
    """Make the joint model's forward raise a CUDA out-of-memory error on some calls.

    ``fail_calls(n, training)`` gets the number of training steps' forwards so far (this
    one included when it is one), whatever the evaluations in between do, and whether this
    forward is a training step's."""
    from fusion.models import JointEmbedding

    real_forward = JointEmbedding.forward
    calls = {"n": 0}

    def forward(self, inputs):
        calls["n"] += int(self.training)
        if fail_calls(calls["n"], self.training):
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_forward(self, inputs)

    monkeypatch.setattr(JointEmbedding, "forward", forward)
    return lambda: monkeypatch.setattr(JointEmbedding, "forward", real_forward)


def train_until_done(at: AppTest) -> AppTest:
    at.slider(key="tr_epochs_joint_info_nce").set_value(3)
    at.select_slider(key="tr_bs_joint_info_nce").set_value(64)
    start(at)
    assert not at.error, [e.value for e in at.error]
    wait_for_jobs()
    at.run()
    assert not at.exception, at.exception
    return at


def another_training_finishes(at: AppTest) -> None:
    """The session goes on: the next training starts and finishes."""
    from fusion.jobs import active_jobs

    assert not active_jobs()
    assert not next(b for b in at.button if b.label == "Start training").disabled
    train_until_done(at)
    assert at.success and at.success[0].value.startswith("Training finished"), at.success


@pytest.mark.slow
def test_gpu_out_of_memory_in_a_step_suggests_a_smaller_batch(runs_dir, small_latent, monkeypatch):
    restore = oom_forward(monkeypatch, lambda n, training: training and n == 3)  # the 3rd step
    at = train_until_done(open_train(small_latent))
    shown = " ".join(w.value for w in at.warning)
    assert "ran out of memory" in shown, shown
    assert "smaller batch size" in shown and "CPU" in shown, shown
    assert "Open Explore" in [b.label for b in at.button]  # what was learned was kept
    restore()
    another_training_finishes(at)


@pytest.mark.slow
def test_gpu_out_of_memory_everywhere_still_gives_the_advice(runs_dir, small_latent, monkeypatch):
    """Out of memory again in the final evaluation (after fit caught the first): the run is
    still kept with what it had, the page says what to change, and the session goes on."""
    restore = oom_forward(monkeypatch, lambda n, training: n >= 3)  # the 3rd step, all after
    at = train_until_done(open_train(small_latent))
    shown = " ".join(w.value for w in [*at.warning, *at.error])
    assert "ran out of memory" in shown, shown
    assert "smaller batch size" in shown and "CPU" in shown, shown
    assert "unexpectedly" not in shown, shown
    assert "Open Explore" in [b.label for b in at.button]  # the partial run was saved
    restore()
    another_training_finishes(at)


def test_batch_larger_than_the_data_is_refused_on_the_train_page(small_latent):
    from fusion.jobs import active_jobs

    # 100 rows are cross-validated (5 folds of 20 test rows): 60 training rows in each fold.
    # The default batch (128) adapts to them; a batch chosen larger is refused.
    at = open_train(small_latent.subset(list(range(100))))
    at.select_slider(key="tr_bs_joint_info_nce").set_value(256)
    start(at)
    assert at.error and "Choose a batch size of at most 60" in at.error[0].value
    assert not active_jobs()
    assert not at.exception, at.exception


def test_the_train_page_offers_no_zero_dimensional_embedding(small_latent):
    """The dimension control's smallest choice is usable; 0 is refused by the library."""
    at = open_train(small_latent)
    for method in ("joint", "attention", "early", "cca"):
        at.selectbox(key="train_method").select(method).run()
        loss = at.session_state["train_loss_choice"] if method == "joint" else None
        key = next(s.key for s in at.select_slider if s.key and s.key.startswith("tr_dim_"))
        options = [float(o) for o in at.select_slider(key=key).options]
        assert min(options) >= 1, (method, loss, options)


def test_a_zero_dimensional_embedding_is_refused_with_a_message(small_latent):
    """What the Train page does with a config the library refuses: an error, no job."""

    def page():
        import streamlit as st

        from fusion.errors import FusionError
        from fusion.experiment import default_config
        from views.parts.jobs import start_training
        from views.parts.widgets import show_error

        cfg = default_config("joint", "info_nce", epochs=1)
        cfg.model.dim = 0
        try:
            start_training(st.session_state["data"], cfg)
        except FusionError as exc:
            show_error(exc)

    from fusion.jobs import active_jobs

    at = AppTest.from_function(page, default_timeout=TIMEOUT)
    at.session_state["data"] = small_latent
    at.run()
    assert not at.exception, at.exception
    assert at.error and "at least 1" in at.error[0].value, at.error
    assert not active_jobs()


def test_one_modality_cannot_become_a_dataset_for_joint_embedding(small_latent):
    """Joint embedding needs two modalities. No one-modality dataset can reach the Train
    page: paired data refuses it, and so does the upload (with the fix)."""
    from fusion.data import PairedData
    from fusion.errors import DataError
    from fusion.loaders import load

    with pytest.raises(DataError, match="at least 2 modalities"):
        PairedData(modalities={"a": small_latent.modalities["a"]}, labels=small_latent.labels)
    with pytest.raises(DataError, match="needs at least 2. Add columns"):
        load("tests/data/bad/single_modality.csv")


def corrupt(run_dir) -> None:
    """Every required file is there, but the tables and JSON are garbage."""
    for name in ("embeddings.parquet", "epochs.csv", "steps.parquet"):
        (run_dir / name).write_bytes(b"\x00garbage\xff" * 10)
    (run_dir / "metrics.json").write_text("{not json")


@pytest.mark.slow
def test_a_corrupted_run_folder_does_not_crash_explore_or_compare(runs_dir):
    good = make_run(runs_dir, "good")
    bad = make_run(runs_dir, "corrupted")
    corrupt(bad)
    at = open_explore(explore_method="pca", explore_run=str(bad))
    assert not at.exception, at.exception
    assert any("damaged" in o for o in at.selectbox(key="explore_run").options)
    at.selectbox(key="explore_run").set_value(str(good)).run()
    assert not at.exception, at.exception
    assert at.get("plotly_chart"), "the good run's map is not shown"

    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page(COMPARE.script).run()
    assert not at.exception, at.exception
    assert any("damaged" in e.label for e in at.expander)


def test_a_run_with_unreadable_tables_is_reported_on_explore(runs_dir):
    """run.json and metrics.json fine (so listed as a run), the embeddings garbage."""
    bad = make_run(runs_dir, "bad-tables")
    (bad / "embeddings.parquet").write_bytes(b"PAR1" + b"\x00" * 64)
    at = open_explore(explore_method="pca", explore_run=str(bad))
    assert not at.exception, at.exception
    assert at.error, "a run that cannot be read should say so"
