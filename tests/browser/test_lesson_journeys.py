"""Guided lessons in a real browser, each lesson once in English and once in Chinese.

English: Learn in the sidebar, the Lessons tab, one click on the lesson's card; Chinese:
a shared link ``/learn?lang=zh&lesson=<id>`` and one click on "训练本课". Then, in both:
the lesson trains at its real (default) size, its steps show their figures, the answer is
revealed, and "try this" trains one more setting. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import time

import pytest

from tests.browser.test_journeys import keyed, open_tab, wait_for_text

pytestmark = pytest.mark.browser

LESSON_S = 120  # bounded wait for a lesson's runs (a few seconds on a quiet 2-core CPU)

TEXT = {
    "en": {
        "look": "What to look at",
        "reveal": "Reveal the answer",
        "trained": "Already trained",
        "train": "Train the lesson",
    },
    "zh": {
        "look": "该看什么",
        "reveal": "显示答案",
        "trained": "已经训练过",
        "train": "训练本课",
    },
}
SETUP = {"en": "What this lesson sets up", "zh": "本课的设置"}
ANSWER = {  # a phrase of each lesson's answer, per language
    ("collapse", "en"): "repulsive term",
    ("collapse", "zh"): "排斥项",
    ("broken_sensor", "en"): "classification loss",
    ("broken_sensor", "zh"): "分类损失",
}
TITLE = {
    ("collapse", "en"): "Why the seed's objective collapses",
    ("collapse", "zh"): "种子文章的目标函数为何会坍缩",
    ("broken_sensor", "en"): "Attention ignores a broken sensor",
    ("broken_sensor", "zh"): "注意力会忽略失灵的传感器",
}


def charts(app) -> int:
    return app.page.get_by_test_id("stMain").locator(".js-plotly-plot").count()


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("lesson", ["collapse", "broken_sensor"])
def test_lesson_in_the_browser(app, record_timing, lesson, lang):
    words = TEXT[lang]
    if lang == "en":
        app.nav("Learn", "learn")
        open_tab(app, "Lessons")
        app.shot("lessons-list")
        t0 = time.monotonic()
        keyed(app, f"lesson_start_{lesson}").get_by_role("button").click()
    else:
        app.page.goto(f"{app.url}/learn?lang={lang}&lesson={lesson}")
        app.wait()
        wait_for_text(app, TITLE[(lesson, lang)], 30)
        app.assert_no_exception()
        app.shot("lesson-opened")
        t0 = time.monotonic()
        keyed(app, f"lesson_train_{lesson}").get_by_role("button").click()
    # The try-this button is drawn with the results (the list's intro also says "what to
    # look at", so that text alone does not prove the lesson is open and trained).
    keyed(app, f"lesson_try_{lesson}").wait_for(timeout=LESSON_S * 1000)
    record_timing(f"lesson_{lesson}_{lang}_click_to_results_s", time.monotonic() - t0)
    app.wait()
    app.assert_no_exception()
    main = app.main_text()
    assert TITLE[(lesson, lang)] in main and words["look"] in main
    assert charts(app) >= 3, f"only {charts(app)} figures on the lesson page"
    app.shot("lesson-results")

    # The question's answer is hidden until revealed.
    answer = ANSWER[(lesson, lang)]
    expander = app.page.get_by_test_id("stExpander").filter(has_text=words["reveal"])
    assert not expander.get_by_text(answer, exact=False).is_visible()
    expander.locator("summary").click()
    expander.get_by_text(answer, exact=False).first.wait_for(state="visible")
    app.shot("answer-revealed")

    # Try this: train the setting the slider offers first, and see it added.
    before = charts(app)
    keyed(app, f"lesson_try_{lesson}").get_by_role("button").click()
    wait_for_text(app, words["trained"], LESSON_S)
    app.wait()
    app.assert_no_exception()
    assert charts(app) >= before
    app.shot("try-this-trained")

    # Presenter mode (a projector): the same lesson from its link, larger, without set-up.
    url = app.page.url
    assert f"lesson={lesson}" in url  # the open lesson is in the URL, with the workspace
    app.page.goto(url + "&present=1")
    app.wait()
    keyed(app, "lesson_body").wait_for()
    wait_for_text(app, words["look"], 60)
    app.assert_no_exception()
    assert SETUP[lang] not in app.main_text()
    app.shot("presenter")
