"""What a person meets in a session and a language, without a browser (AppTest):

- Chinese mode shows run messages and statuses from the catalogue, not run.json's English.
- A new session (a reload, a bookmark) restores the workspace's newest run as the active run.
- The shared link follows the latest training (a lesson's too), never carries ``d.n=null``,
  and on Train its note does not send the reader to Train.
- The first run of a page imports no torch, so Home's text paints at once.

The browser halves (scrolling to the panel, presenter charts, tabs across a language
switch, the demo landing on Explore) are in tests/browser/test_training_panel.py and
tests/browser/test_demo_repeat.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from fusion.generators import generate
from fusion.i18n import translate
from fusion.share import parse_setup, setup_query
from tests.apptest_helpers import APP, TIMEOUT, make_run, open_page
from tests.test_app_lessons import wait_for_lesson
from views.site import COMPARE, EXPLORE, LEARN, TRAIN

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_explore_shows_the_run_message_in_chinese(runs_dir):
    make_run(runs_dir, "tiny-joint")
    at = open_page(EXPLORE, lang="zh")
    assert not at.exception, at.exception
    shown = " ".join(s.value for s in at.success)
    assert translate("messages.train.finished", "zh", epochs=2) in shown, shown
    assert "Finished" not in shown


@pytest.mark.slow
def test_compare_status_column_in_chinese(runs_dir):
    make_run(runs_dir, "tiny-a")
    make_run(runs_dir, "tiny-b")
    at = open_page(COMPARE, lang="zh")
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    column = translate("compare.status", "zh")
    statuses = set(table[column])
    assert statuses == {"✅ " + translate("common.run_status.finished", "zh")}, statuses


@pytest.mark.slow
def test_a_new_session_restores_the_newest_run(runs_dir):
    make_run(runs_dir, "zz-older")  # a name that sorts last: only the time may decide
    time.sleep(1.1)  # run.json's creation time has one-second resolution
    newest = make_run(runs_dir, "newer")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()  # a reload: a new session
    assert not at.exception, at.exception
    assert Path(at.session_state["active_run"]) == Path(newest)
    captions = [c.value for c in at.sidebar.caption]
    assert "newer" in captions, captions
    assert translate("common.none_yet_train_one", "en") not in captions


@pytest.mark.slow
def test_a_new_session_works_on_its_newest_runs_generated_data_again(runs_dir):
    """After a reload the Train page had "No dataset yet" although the run it shows was
    trained on generated data that can be made again from its recorded parameters."""
    make_run(runs_dir, "generated")  # shared_latent, n=200, seed 0
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()  # a reload: a new session
    at.switch_page(TRAIN.script).run()
    assert not at.exception, at.exception
    data = at.session_state["dataset"]
    assert data.n == 200 and data.source["generator"] == "shared_latent"
    assert not any("No dataset yet" in i.value for i in at.info)
    assert any(b.label == "Start training" for b in at.button)


def _query(at: AppTest) -> dict[str, str]:
    return {
        k: at.query_params[k][0] if isinstance(at.query_params[k], list) else at.query_params[k]
        for k in at.query_params
    }


@pytest.mark.slow
def test_the_link_follows_a_lesson_trained_after_a_demo(runs_dir, monkeypatch):
    from views.parts.demo import DEMOS

    monkeypatch.setenv("FUSION_LESSON_SIZE", "tiny")
    for kind in DEMOS:
        monkeypatch.setitem(DEMOS[kind], "params", {"n": 300, "seed": 0})
        monkeypatch.setitem(DEMOS[kind], "epochs", 2)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.button(key="demo_attention").click().run()
    wait_for_lesson()
    at.run()
    assert _query(at)["method"] == "attention"
    at.switch_page(LEARN.script).run()
    at.button(key="lesson_start_collapse").click().run()
    assert not at.exception, at.exception
    query = _query(at)
    assert query["method"] == "joint", query  # the lesson's, not the earlier demo's
    assert query["data"] == at.session_state["dataset"].source["generator"]
    wait_for_lesson()


def test_a_link_never_says_null():
    data = generate("digits_two_view", seed=5)  # n=None: every row
    query = setup_query(data.source)
    assert "null" not in json.dumps(query) and "d.n" not in query, query
    setup = parse_setup(query)
    again = generate(setup.generator, **setup.params)
    assert again.n == data.n


def test_on_train_the_link_note_does_not_send_you_to_train():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in {"data": "shared_latent", "d.n": "300", "method": "joint"}.items():
        at.query_params[k] = v
    at.switch_page(TRAIN.script)
    at.run()
    assert not at.exception, at.exception
    toasts = [x.value for x in at.toast]
    assert toasts == [translate("common.link_loaded_here", "en")], toasts


PAINT_WITHOUT_TORCH = textwrap.dedent(
    """
    import importlib.abc, sys, threading

    class NoTorch(importlib.abc.MetaPathFinder):
        # The page's own thread may not import torch; background threads may (and do).
        def find_spec(self, name, path, target=None):
            if name.split(".")[0] == "torch" and threading.current_thread().name.startswith(
                ("MainThread", "ScriptRunner")
            ):
                raise ImportError("torch imported while the first page was drawn")
            return None

    sys.meta_path.insert(0, NoTorch())
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(sys.argv[1], default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Fusion Playground", at.title
    print("ok")
    """
)


@pytest.mark.slow
def test_home_paints_without_waiting_for_torch(tmp_path):
    """Home paints without importing torch (an import of torch holds a page blank for
    seconds). Importing torch from the page's thread fails the run here."""
    env = {"FUSION_RUNS_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", PAINT_WITHOUT_TORCH, APP],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0 and "ok" in out.stdout, out.stdout[-2000:] + out.stderr[-4000:]
