"""Watching a short training: the live map never shows a stale UMAP frame, a paced training
(the Home demos) gives each epoch its frame and its time, the live loss curve keeps the
whole run, and the per-epoch validation numbers say which epoch and how many rows."""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from fusion import live
from fusion.jobs import MAX_LIVE_STEPS, Progress
from tests.test_app_train import start_tiny_joint
from tests.test_live import Sink

# ---------------------------------------------------------------------------
# Which frame the live map draws


def _frame(epoch, umap=False, sent=0.0, partial=False, fallback=False):
    xy = np.zeros((4, 2), np.float32)
    return {
        "epoch": epoch,
        "partial": partial,
        "pca": xy,
        "umap": xy + 1 if umap else None,
        "umap_fallback": fallback,
        "spread": 1.0,
        "spread0": 1.0,
        "seconds": 0.01,
        "lag": 0.0,
        "sent": sent,
    }


def test_a_recent_umap_frame_is_shown_while_the_newest_has_none():
    frames = [_frame(0, umap=True, sent=0), _frame(1, sent=1), _frame(2, sent=2)]
    frame, shown, why = live.shown_frame(frames, "umap")
    assert (frame["epoch"], shown, why) == (0, "umap", "umap_behind")


def test_a_umap_frame_far_behind_the_training_gives_way_to_the_newest_pca_frame():
    # epoch 0 on UMAP while PCA has reached epoch 38: the live view shows epoch 38 on PCA
    frames = [_frame(0, umap=True, sent=0)] + [_frame(e, sent=e * 0.1) for e in range(1, 39)]
    frame, shown, why = live.shown_frame(frames, "umap")
    assert (frame["epoch"], shown, why) == (38, "pca", "umap_stale")
    # a few epochs behind is not stale; the rule is on epochs, and on seconds for long epochs
    near = frames[: int(live.STALE_UMAP_EPOCHS) + 1]
    assert live.shown_frame(near, "umap")[1:] == ("umap", "umap_behind")
    slow = [_frame(0, umap=True, sent=0), _frame(0.6, partial=True, sent=30.0)]
    assert live.shown_frame(slow, "umap")[1:] == ("pca", "umap_stale")


@pytest.mark.parametrize(
    ("frames", "expected"),
    [
        ([_frame(0), _frame(1)], (1, "pca", "umap_first")),
        ([_frame(0, umap=True), _frame(1, fallback=True)], (1, "pca", "umap_fallback")),
        ([_frame(0), _frame(1, umap=True)], (1, "umap", "")),
    ],
)
def test_the_newest_frame_when_umap_is_not_there_or_is_current(frames, expected):
    frame, shown, why = live.shown_frame(frames, "umap")
    assert (frame["epoch"], shown, why) == expected
    assert live.shown_frame(frames, "pca")[0] is frames[-1]  # PCA: always the newest


def _points(n=4):
    return {
        "sample": np.tile(np.arange(n // 2, dtype=np.int32), 2),
        "modality": np.repeat(np.arange(2, dtype=np.int8), n // 2),
        "modalities": ["a", "b"],
        "labels": None,
        "label_names": [],
        "reliability": np.full(n, np.nan, np.float16),
        "mask": None,
        "mask_names": ["a", "b"],
        "n_rows": n // 2,
        "n_val": n // 2,
    }


def _live_script():
    import streamlit as st

    from views.parts.live_map import live_view

    class P:
        live = st.session_state["events"]

    live_view(P(), "t")


def test_the_live_view_says_when_it_shows_pca_instead_of_a_stale_umap_frame():
    rng = np.random.default_rng(0)
    frames = [_frame(0, umap=True, sent=0)] + [_frame(e, sent=e) for e in range(1, 12)]
    for f in frames:
        f["pca"] = rng.normal(size=(4, 2)).astype(np.float32)
    at = AppTest.from_function(_live_script, default_timeout=60)
    at.session_state["events"] = {live.POINTS: [_points()], live.FRAME: frames}
    at.run()
    assert not at.exception, at.exception
    title = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["title"]["text"]
    assert title == "Shared space · epoch 11 · PCA"
    captions = " ".join(c.value for c in at.caption)
    assert "newest UMAP frame (epoch 0) is too far behind" in captions


# ---------------------------------------------------------------------------
# A paced training


@pytest.mark.slow
def test_a_paced_training_waits_for_each_frame_and_its_pace():
    import fusion.train  # noqa: F401  (the frame thread's, loaded in a worker already)

    pace, epochs = 0.25, 5
    sink = Sink()
    lm = live.LiveMap(sink, seed=0, pace=pace, shares={"umap": 1e-6})  # PCA frames only
    n = 40
    data = live_data(n)
    lm.on_train_start({"n_val": n})
    rng = np.random.default_rng(0)
    returned = []
    t0 = time.perf_counter()
    for e in range(epochs):
        embs = {f"emb:{m}": rng.normal(size=(n, 3)).astype(np.float32) for m in ("a", "b")}
        lm.on_evaluate(e, embs, data)
        returned.append(time.perf_counter())
        framed = [f["epoch"] for f in sink.events[live.FRAME]]
        assert framed[-1] == e  # its frame was sent before training went on
    gaps = np.diff(returned)
    assert gaps.min() >= pace * 0.95, gaps
    assert returned[0] - t0 >= live.PACE_FIRST_SECONDS * 0.95  # the start stays in view

    class H:
        live_frames = None

    h = H()
    lm.on_train_end(h)
    assert [int(x) for x in h.live_frames["epochs"]] == list(range(epochs))  # none dropped


def live_data(n):
    from fusion.data import PairedData

    return PairedData({m: np.zeros((n, 1), np.float32) for m in ("a", "b")})


def test_an_unpaced_training_does_not_wait():
    assert live.live_callbacks(_cfg(), Sink())[0].pace == 0.0
    paced = live.live_callbacks(_cfg(), Sink(), pace=0.4)[0]
    assert paced.pace == 0.4 and paced.frames.budget.shares["umap"] == live.PACED_SHARES["umap"]


def _cfg():
    from fusion.config import default_config

    return default_config("joint", "info_nce", epochs=2)


# ---------------------------------------------------------------------------
# The live loss curve of a long run


def test_a_long_run_keeps_its_whole_loss_curve_at_an_even_resolution():
    p = Progress()
    p.apply("start", {"epochs": 100, "batches_per_epoch": 1000, "device": "cpu", "n_val": 10})
    total = 100_000
    for start_step in range(1, total + 1, 250):  # the worker sends steps in batches
        batch = [
            {"step": s, "epoch": 1 + (s - 1) // 1000, "loss": 10.0 / s}
            for s in range(start_step, start_step + 250)
        ]
        p.apply("steps", batch)
    steps = [int(s["step"]) for s in p.steps]
    assert len(steps) <= MAX_LIVE_STEPS + 1
    assert steps[0] == 1 and steps[-1] == total and p.step == total  # first and newest kept
    gaps = np.diff(steps[1:])
    assert gaps.max() == gaps.min() == p.step_stride  # one even resolution over the run
    # the middle of the run is there, not only its newest steps: every tenth of the run has
    # a share of the points
    counts = np.histogram(steps, bins=10, range=(0, total))[0]
    assert counts.min() >= 0.8 * counts.mean(), counts


def test_a_short_run_keeps_every_step():
    p = Progress()
    p.apply("steps", [{"step": s, "epoch": 1, "loss": 1.0} for s in range(1, 301)])
    assert [s["step"] for s in p.steps] == list(range(1, 301))


# ---------------------------------------------------------------------------
# Which epoch and how many rows each validation number is


def _titles_script():
    import streamlit as st

    from views.parts.job_panel import epoch_chart_labels, kept_model_caption

    class H:
        best_epoch, completed_epochs = 10, 12

    st.write(" | ".join(epoch_chart_labels({"epoch": 12}, 4000, 2000)))
    st.write(" | ".join(epoch_chart_labels({"epoch": 3}, 500, 2000)))
    st.write(kept_model_caption({"retrieval_rows": 4000.0, "test_rows": 4000.0}, H()))
    st.write(kept_model_caption({"retrieval_rows": 10000.0, "test_rows": 20000.0}, H()))
    st.write(kept_model_caption({"accuracy": 0.9, "test_rows": 4000.0}, H()))
    st.write(kept_model_caption({"accuracy": 0.9, "test_rows": 120.0, "cv_folds": 5.0}, H()))


def test_each_validation_number_says_its_epoch_and_rows():
    at = AppTest.from_function(_titles_script, default_timeout=30).run()
    assert not at.exception, at.exception
    texts = [m.value for m in at.markdown]
    assert texts[0] == (
        "Epoch 12 · 2,000 validation rows | Each epoch is scored on a fixed sample of 2,000 "
        "of the 4,000 validation rows, the same every epoch."
    )
    assert texts[1].strip() == "Epoch 3 · 500 validation rows |"  # all rows: no caption
    assert texts[2].endswith("kept model's (epoch 10), measured on 4,000 test rows.")
    assert texts[3].endswith("on 20,000 test rows; retrieval ranks 10,000 of them.")
    assert texts[4].endswith("kept model's (epoch 10), measured on 4,000 test rows.")
    assert "pool 5 cross-validation folds" in texts[5] and "(120 rows in all)" in texts[5]


@pytest.mark.slow
def test_the_train_panel_labels_its_epoch_chart_and_its_cards(runs_dir, small_latent):
    from tests.apptest_helpers import wait_for_jobs

    at = start_tiny_joint(small_latent)
    wait_for_jobs()
    at.run()
    assert not at.exception, at.exception
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert any(re.fullmatch(r"Epoch 2 · [\d,]+ validation rows", x) for x in titles), titles
    captions = " ".join(c.value for c in at.caption)
    assert "The cards below " in captions  # the kept model's test rows (or CV folds)


def test_a_demo_view_draws_every_frame_in_order_from_the_first():
    frames = [_frame(e, sent=e) for e in range(10)]
    assert live.in_order_index(frames, None) == 0  # the start, however far training is
    assert live.in_order_index(frames, 0.0) == 1  # then the next one, none skipped
    assert live.in_order_index(frames[:4], 3.0) == 3  # caught up: the newest
    drawn, seen = None, []
    while drawn != 9.0:
        drawn = float(frames[live.in_order_index(frames, drawn)]["epoch"])
        seen.append(drawn)
    assert seen == [float(e) for e in range(10)]
