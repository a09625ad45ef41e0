"""AppTest for the Learn page's lessons: each of the six runs end to end with tiny settings.

``FUSION_LESSON_SIZE=tiny`` makes every lesson train in about a second. A lesson is
started with one click on its card, trains in a background job, and then shows its steps
with figures, the "try this" control (which trains one more setting) and a question
whose answer is revealed in an expander. One lesson runs in Chinese (``?lang=zh``).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from fusion.i18n import translate
from fusion.lessons import LESSONS, find_runs, get_lesson
from tests.apptest_helpers import APP, TIMEOUT, chart_specs
from views.site import EXPLORE, HOME, LEARN, TRAIN

LESSON_THREADS = ("fusion-lesson", "fusion-training")


@pytest.fixture
def tiny_lessons(runs_dir, monkeypatch):
    monkeypatch.setenv("FUSION_LESSON_SIZE", "tiny")
    return runs_dir


def wait_for_lesson(timeout: float = 120.0) -> None:
    """Block until the lesson's job (its coordinator and its runs' threads) has ended."""
    end = time.monotonic() + timeout
    while any(t.name in LESSON_THREADS for t in threading.enumerate()):
        assert time.monotonic() < end, "the lesson did not finish training in time"
        time.sleep(0.1)


def open_learn(**query) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(LEARN.script)
    return at.run()


def start_lesson(lesson_id: str, **query) -> AppTest:
    """Open Learn, click the lesson's card, wait for its training and show the results."""
    at = open_learn(**query)
    assert not at.exception, at.exception
    at.button(key=f"lesson_start_{lesson_id}").click().run()
    assert not at.exception, at.exception
    wait_for_lesson()
    at.run()
    assert not at.exception, at.exception
    return at


def text_of(at: AppTest) -> str:
    return " ".join(m.value for m in [*at.markdown, *at.caption, *at.subheader])


@pytest.mark.slow
@pytest.mark.parametrize("lesson_id", list(LESSONS))
def test_lesson_runs_end_to_end(tiny_lessons, lesson_id):
    lesson = get_lesson(lesson_id)
    at = start_lesson(lesson_id)
    # Its base runs are saved in the session's runs folder and the primary one is active.
    found = find_runs(lesson, tiny_lessons)
    assert {s.key for s in lesson.base_runs("tiny")} <= set(found)
    assert Path(at.session_state["active_run"]) == found[lesson.primary].resolve()
    # The steps, each with its figures, in English.
    text = text_of(at)
    assert translate(f"lessons.{lesson_id}.title") in text
    assert "What to look at" in text and "Try this" in text and "Question" in text
    for i in range(1, len(lesson.steps) + 1):
        assert f"Step {i}" in text
    step_figures = {f for s in lesson.steps for f in s.figures}
    n_figures = len(step_figures) + (lesson.try_figure not in step_figures)
    assert len(at.get("plotly_chart")) >= n_figures
    # The try-this control and the revealable answer.
    slider = at.select_slider(key=f"lesson_try_value_{lesson_id}")
    assert slider.label == translate(f"lessons.{lesson_id}.try.label")
    assert at.button(key=f"lesson_try_{lesson_id}").label == "Train this setting"
    reveal = next(e for e in at.expander if e.label == "Reveal the answer")
    assert reveal.markdown[0].value.strip()
    assert not any(e.label == "Reveal the answer" and e.proto.expanded for e in at.expander)


@pytest.mark.slow
def test_try_this_trains_one_more_setting_and_adds_it(tiny_lessons):
    at = start_lesson("temperature")
    before = len(find_runs(get_lesson("temperature"), tiny_lessons))
    at.select_slider(key="lesson_try_value_temperature").set_value(0.5).run()
    at.button(key="lesson_try_temperature").click().run()
    assert not at.exception, at.exception
    wait_for_lesson()
    at.run()
    found = find_runs(get_lesson("temperature"), tiny_lessons)
    assert len(found) == before + 1 and "tau-0.5" in found
    # The gap-vs-temperature chart now has four temperatures, and 0.5 needs no training.
    spec = json.loads(
        next(
            c.proto.spec
            for c in at.get("plotly_chart")
            if "Modality gap vs temperature" in c.proto.spec
        )
    )
    assert spec["data"][0]["x"] == [0.02, 0.1, 0.5, 1.0]
    assert "Already trained: it is in the chart in step 2." in text_of(at)


@pytest.mark.slow
def test_a_trained_lesson_opens_without_training_again(tiny_lessons):
    start_lesson("collapse")
    at = open_learn(lesson="collapse")  # a new session, e.g. the same link next day
    assert not at.exception, at.exception
    assert not any(t.name in LESSON_THREADS for t in threading.enumerate())
    assert "What to look at" in text_of(at)
    assert at.tabs[3].label == "Lessons"  # ?lesson= opens the Lessons tab


@pytest.mark.slow
@pytest.mark.parametrize("lesson_id", list(LESSONS))
def test_every_lesson_in_chinese_has_no_english(tiny_lessons, lesson_id):
    from tests.test_i18n_pages import _texts, english_sentences

    at = start_lesson(lesson_id, lang="zh")
    assert translate(f"lessons.{lesson_id}.title", "zh") in text_of(at)
    found = sorted({s for text in _texts(at._tree) for s in english_sentences(text)})
    assert not found, f"English in the Chinese lesson {lesson_id}: {found}"


@pytest.mark.slow
def test_lesson_in_chinese(tiny_lessons):
    at = start_lesson("broken_sensor", lang="zh")
    text = text_of(at)
    assert "注意力会忽略失灵的传感器" in text
    assert "该看什么" in text and "动手试试" in text and "问题" in text
    assert at.button(key="lesson_try_broken_sensor").label == "训练这个设置"
    reveal = next(e for e in at.expander if e.label == "显示答案")
    assert "交叉熵" in reveal.markdown[0].value
    assert "传感器 b 失灵的样本比例" in chart_specs(at)  # figure axes are translated too
    assert at.select_slider(key="lesson_try_value_broken_sensor").label == "传感器 b 失灵的样本比例"


def test_back_to_the_list_and_unknown_lesson(tiny_lessons):
    at = open_learn(lesson="no_such_lesson")
    assert not at.exception, at.exception
    assert any("no_such_lesson" in w.value for w in at.warning)
    assert {f"lesson_start_{i}" for i in LESSONS} <= {b.key for b in at.button}
    at = open_learn(lesson="digits")
    assert "lesson_train_digits" in {b.key for b in at.button}  # opened, not trained yet
    at.button(key="lesson_back").click().run()
    assert {f"lesson_start_{i}" for i in LESSONS} <= {b.key for b in at.button}
    assert "lesson" not in at.query_params


@pytest.mark.slow
def test_presenter_mode_keeps_only_what_the_lesson_needs(tiny_lessons):
    start_lesson("three_modalities")
    at = open_learn(lesson="three_modalities", present="1")
    assert not at.exception, at.exception
    labels = {e.label for e in at.expander}
    assert "Reveal the answer" in labels
    assert "What this lesson sets up" not in labels and "The lesson's runs" not in labels
    assert all(
        json.loads(c.proto.spec)["layout"]["font"]["size"] == 20 for c in at.get("plotly_chart")
    )


def test_a_waiting_lesson_blocks_others_and_can_be_stopped(tiny_lessons, monkeypatch):
    from fusion.jobs.executors import thread

    monkeypatch.setattr(thread, "TRAINING_SLOTS", threading.BoundedSemaphore(1))
    thread.TRAINING_SLOTS.acquire()  # another visitor's training holds the server's only slot
    try:
        at = open_learn()
        at.button(key="lesson_start_shared_space").click().run()
        assert not at.exception, at.exception
        assert "lesson_stop_shared_space" in {b.key for b in at.button}
        assert any(t.name == "fusion-lesson" for t in threading.enumerate())
        # Back on the list, the other lessons cannot start while this one waits.
        at.button(key="lesson_back").click().run()
        assert at.button(key="lesson_start_collapse").disabled
        at.button(key="lesson_start_shared_space").click().run()  # reopens, does not restart
        at.button(key="lesson_stop_shared_space").click().run()
        wait_for_lesson(30)
        at.run()
        assert not at.exception, at.exception
        assert any("stopped" in w.value for w in at.warning)
        assert not at.button(key="lesson_train_shared_space").disabled
        assert not find_runs(get_lesson("shared_space"), tiny_lessons)
    finally:
        thread.TRAINING_SLOTS.release()


@pytest.mark.slow
def test_other_pages_show_a_lesson_job_like_any_training(tiny_lessons):
    at = open_learn()
    at.button(key="lesson_start_temperature").click().run()
    for page in (TRAIN, HOME, EXPLORE):  # while it runs (or just after, when fast)
        at.switch_page(page.script)
        at.run()
        assert not at.exception, (page, at.exception)
    wait_for_lesson()
    at.switch_page(TRAIN.script)
    at.run()
    assert not at.exception, at.exception
    assert "lesson-temperature-tau-0.1" in " ".join(c.value for c in at.sidebar.caption)
    at.switch_page(EXPLORE.script)
    at.run()
    assert not at.exception, at.exception
