"""Guided lessons (fusion/lessons/): each lesson's tiny setup trains and shows its point.

Thresholds are honest for seed 0 on the tiny settings (``size="tiny"``), measured with
``python -m fusion.lessons tiny``; the digits ordering needs the real size (about 3 s).
Also: every text a lesson shows exists in both languages and is filled by its numbers,
and :class:`LessonJob` trains in the background, saves, stops and waits for a slot.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import plotly.graph_objects as go
import pytest

from fusion import jobs
from fusion.errors import ConfigError
from fusion.experiment import run_experiment
from fusion.generators import generate
from fusion.i18n import catalogue
from fusion.jobs.executors import thread
from fusion.lessons import (
    LESSONS,
    LessonJob,
    analyse,
    find_runs,
    get_lesson,
    missing_base,
)
from tests.job_helpers import wait_until as _wait


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Train as the app's lesson jobs do (one torch thread, one BLAS thread for CCA): on a
    busy 2-core machine two threads wait for each other and a 3 s lesson takes a minute."""
    import torch
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    with threadpool_limits(limits=1, user_api="blas"):
        yield
    torch.set_num_threads(before)


IDS = (
    "shared_space",
    "collapse",
    "temperature",
    "broken_sensor",
    "digits",
    "three_modalities",
)


def train(lesson_id: str, values=None, size: str = "tiny", fixed: bool = True) -> dict:
    """The lesson's runs for ``values`` (default: its base values), trained in-process."""
    lesson = get_lesson(lesson_id)
    specs = lesson.fixed_runs(size) if fixed else []
    for v in values if values is not None else lesson.variation.base:
        specs += lesson.runs_for(v, size)
    return {
        s.key: run_experiment(generate(s.generator, **s.params), s.train_config()) for s in specs
    }


def findings(lesson_id: str, values=None):
    """The lesson's analysis of its tiny runs of ``values``."""
    return analyse(lesson_id, train(lesson_id, values))


def check_texts(lesson_id: str, numbers: dict[str, float]) -> None:
    """Every text of the lesson exists in en and zh and formats with the lesson's numbers."""
    shown = {k: f"{v:.3g}" for k, v in numbers.items()}
    lesson = get_lesson(lesson_id)
    keys = [f"lessons.{lesson_id}.{k}" for k in ("title", "summary", "question", "answer")]
    keys += [f"lessons.{lesson_id}.try.{k}" for k in ("prompt", "label")]
    keys += [f"lessons.{lesson_id}.steps.{s.name}" for s in lesson.steps]
    for lang in ("en", "zh"):
        cat = catalogue(lang)
        for key in keys:
            assert key in cat, f"{key} missing in {lang}"
            cat[key].format(**shown)  # a placeholder without a number raises KeyError here


def test_six_lessons_registered():
    assert tuple(LESSONS) == IDS
    for lesson in LESSONS.values():
        assert lesson.primary in {s.key for s in lesson.base_runs("tiny")}
        assert set(lesson.variation.base) <= set(lesson.variation.values)
        keys = [s.key for s in lesson.all_runs("tiny")]
        assert len(keys) == len(set(keys)), f"{lesson.id}: run keys must be unique"
        # The tiny setup is really smaller than the default one.
        tiny, real = lesson.base_runs("tiny"), lesson.base_runs("default")
        assert all(s.n_samples <= r.n_samples for s, r in zip(tiny, real, strict=True))


def test_bad_lesson_value_and_size_name_the_choices():
    with pytest.raises(ConfigError, match="shared_space"):
        get_lesson("nope")
    with pytest.raises(ConfigError, match="0.02"):
        get_lesson("temperature").runs_for(0.3)
    with pytest.raises(ConfigError, match="tiny"):
        get_lesson("collapse").base_runs("huge")


def test_shared_space_training_brings_modalities_together():
    f = findings("shared_space", values=(0.3, 3.0))
    n = f.numbers
    assert n["r1_after"] > 10 * n["r1_chance"] and n["r1_after"] > n["r1_before"] + 0.3
    assert n["cp_after"] > 0.5 > n["cp_before"] + 0.2  # cp_before ≈ chance 0.125
    assert n["gap_after"] < 0.5 * n["gap_before"]
    # Noisier b blurs the classes.
    assert n["cp_noise_3"] < n["cp_noise_0.3"] - 0.2
    assert {"map_before", "map_after", "retrieval", "noise"} <= set(f.figures)
    assert all(isinstance(fig, go.Figure) for fig in f.figures.values())
    check_texts("shared_space", n)


@pytest.mark.slow
def test_seed_loss_collapses_while_info_nce_keeps_its_spread():
    f = findings("collapse", values=(0.1, 0.0))
    n = f.numbers
    assert n["fold"] > 20, n  # the seed's spread shrinks 48x at the tiny size
    assert n["spread_seed_last"] < 0.1 * n["spread_nce_last"]
    assert n["spread_nce_last"] > 0.8 * n["spread_nce_first"]
    assert n["spread_lam_0"] < 0.1 * n["spread_nce_last"]  # λ = 0 collapses too
    assert n["cp_nce"] > n["cp_seed"] + 0.2
    spread = f.figures["spread"]
    assert spread.layout.yaxis.type == "log" and len(spread.data) == 3
    check_texts("collapse", n)


@pytest.mark.slow
def test_lower_temperature_keeps_a_larger_modality_gap():
    f = findings("temperature", values=(0.02, 0.1, 1.0))
    n = f.numbers
    assert n["gap_init"] > 0.5  # the cone effect of random encoders
    assert n["gap_tau_0.02"] > 2 * n["gap_tau_1"]
    assert n["gap_tau_0.02"] > n["gap_tau_0.1"] > n["gap_tau_1"] * 0.9
    assert all(n[f"gap_tau_{v:g}"] < n["gap_init"] for v in (0.02, 0.1, 1.0))
    assert f.figures["gap_vs_tau"].layout.xaxis.type == "log"
    check_texts("temperature", n)


@pytest.mark.slow
def test_attention_weight_on_a_sensor_falls_as_it_breaks_more_often():
    f = findings("broken_sensor", values=(0.5, 0.7, 0.9))
    n = f.numbers
    assert n["w_b_works"] > 0.7 and n["w_b_broken"] < 0.3
    assert n["on_informative"] > n["on_informative_chance"] + 0.25
    assert n["w_b_0.5"] > n["w_b_0.7"] > n["w_b_0.9"]
    assert n["w_b_0.9"] < 0.5 * n["w_b_0.5"]
    assert n["acc_att"] > n["chance"] + 0.5 and n["acc_early"] > n["chance"] + 0.5
    check_texts("broken_sensor", n)


def test_digits_tiny_embeddings_carry_the_class():
    f = findings("digits")
    n = f.numbers
    for method in ("raw", "cca", "joint"):
        assert n[f"{method}_rotated"] > n["chance"] + 0.3, (method, n)
    assert f.figures["samples"] is not None
    check_texts("digits", n)


@pytest.mark.slow
def test_digits_joint_beats_raw_pixels_which_beat_linear_cca():
    """Wang et al. 2015's ordering on the rotated view, at the lesson's real size (~3 s)."""
    runs = train("digits", size="default")
    n = analyse("digits", runs).numbers
    assert n["joint_rotated"] > n["raw_rotated"] + 0.03  # 0.897 vs 0.833
    assert n["cca_rotated"] < n["raw_rotated"]  # 0.811 vs 0.833
    assert n["cca_rotated"] > 5 * n["chance"]


@pytest.mark.slow
def test_cleanest_of_three_modalities_dominates_attention():
    f = findings("three_modalities", values=(0.3, 3.0))
    n = f.numbers
    assert n["w_a"] > n["w_b"] > n["w_c"]
    assert n["w_a"] > 0.6
    assert n["probe_a"] > n["probe_b"] > n["probe_c"] > n["chance"]
    # A noisy a loses its weight to the others.
    assert n["w_a_noise_3"] < 0.2 and n["w_b_noise_3"] > n["w_a_noise_3"]
    assert len(f.figures["noise_a"].data) == 3
    check_texts("three_modalities", n)


def test_analysis_needs_the_base_runs():
    with pytest.raises(ConfigError):
        analyse("collapse", {})


# ---------------------------------------------------------------------------
# The background job


@pytest.mark.slow
def test_lesson_job_trains_saves_and_is_found_again(tmp_path):
    lesson = get_lesson("collapse")
    specs = lesson.base_runs("tiny")
    saved = []
    job = LessonJob(lesson, specs, tmp_path, on_run_saved=lambda k, p: saved.append(k)).start()
    assert job.running
    job.join(120)
    assert not job.running and job.error is None
    p = job.lesson_progress()
    assert p.state == "done" and p.fraction == 1.0
    assert job.progress().fraction == 1.0
    assert saved == [s.key for s in specs]
    found = find_runs(lesson, tmp_path)
    assert set(found) == {s.key for s in specs}
    assert found["infonce"].name == "lesson-collapse-infonce"
    assert not missing_base(lesson, found, "tiny")
    assert job.saved_path == found[lesson.primary]  # the run that becomes active
    # The analysis reads the run folders as well as in-memory results.
    f = analyse(lesson, found)
    assert f.numbers["spread_seed_last"] < 0.1 * f.numbers["spread_nce_last"]
    # Trained again: the newest folder of each key wins.
    again = LessonJob(lesson, specs[:1], tmp_path).start()
    again.join(120)
    assert find_runs(lesson, tmp_path)[specs[0].key].name.endswith("-2")
    assert jobs.active_jobs() == 0


def test_stopping_a_lesson_job_ends_the_run_and_skips_the_rest(tmp_path):
    lesson = get_lesson("temperature")
    specs = lesson.base_runs("tiny")
    long = specs[0].config
    long.train.epochs = 500  # this copy of the spec trains long enough to be stopped
    job = LessonJob(lesson, specs, tmp_path).start()
    assert _wait(lambda: job.lesson_progress().epoch >= 1)
    job.stop()
    job.join(30)
    assert not job.running
    assert job.lesson_progress().state == "stopped"
    assert set(job.saved) <= {specs[0].key}  # the stopped run is kept, the others skipped
    assert jobs.active_jobs() == 0


def test_lesson_job_waits_for_a_server_slot(tmp_path, monkeypatch):
    monkeypatch.setattr(thread, "TRAINING_SLOTS", threading.BoundedSemaphore(1))
    monkeypatch.setattr(jobs, "MAX_CONCURRENT", 1)
    thread.TRAINING_SLOTS.acquire()  # another session's training holds the only slot
    try:
        lesson = get_lesson("shared_space")
        job = LessonJob(lesson, lesson.base_runs("tiny"), tmp_path).start()
        assert _wait(lambda: job.progress().state == "waiting")
        assert job.lesson_progress().state == "waiting"
        time.sleep(0.5)
        assert job.lesson_progress().fraction == 0.0  # nothing trains without a slot
    finally:
        thread.TRAINING_SLOTS.release()
    job.join(60)
    assert job.lesson_progress().state == "done"
    assert np.isclose(job.progress().fraction, 1.0)
