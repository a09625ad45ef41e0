"""The Class page in AppTest: who sees what. A student link never shows the board before
the reveal; a wrong or edited teacher key shows nothing of the class; the share link never
carries the teacher key; a student's banner loads what the teacher sent."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from fusion.classroom import ClassStore, Sent, student_key
from tests.apptest_helpers import APP, TIMEOUT, make_run
from views.site import CLASS, TRAIN


@pytest.fixture
def runs(tmp_path, monkeypatch):
    monkeypatch.setenv("FUSION_RUNS_DIR", str(tmp_path))
    return tmp_path


def _visit(params: dict[str, str], page=CLASS) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    first = _text(at)  # the page a link opens first shows a note about the link
    if page is not None:
        at.switch_page(page.script)
        at.run()
    at.first_text = first
    assert not at.exception, [e.value for e in at.exception]
    return at


def _text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += (
        [h.value for h in at.header] + [h.value for h in at.title] + [h.value for h in at.subheader]
    )
    parts += (
        [x.value for x in at.info] + [x.value for x in at.warning] + [x.value for x in at.error]
    )
    return "\n".join(str(p) for p in parts)


def test_nobody_in_a_class_can_join_or_start_one(runs):
    at = _visit({})
    text = _text(at)
    assert "Join a class" in text and "Teach a class" in text and "Class board" not in text


def test_starting_a_class_makes_a_teacher_with_the_board(runs):
    at = _visit({})
    at.button(key="class_start").click().run()
    code, key = at.query_params["class"], at.query_params["key"]
    code = code[0] if isinstance(code, list) else code
    key = key[0] if isinstance(key, list) else key
    assert ClassStore(runs).is_teacher(code, key)
    text = _text(at)
    assert code in text and "Class board" in text and "Only you see this board" in text


def test_a_student_never_sees_the_board_before_the_reveal(runs):
    store = ClassStore(runs)
    info, secret = store.start(hours=1)
    # Another student's run is already on the board.
    other = student_key("someone-else-ws")
    store.join(info.code, other, "Bo")
    assert store.post(info.code, other, make_run(runs / "other", "theirs")) is not None
    at = _visit({"class": info.code, "ws": "student-workspace-1"})
    assert "Join class" in _text(at) and "Class board" not in _text(at)
    at.text_input(key="class_nickname").input("Ada")
    next(b for b in at.button if b.label == "Join").click().run()
    text = _text(at)
    assert "Welcome, Ada" in text
    assert "The board is hidden" in text and "Class board" not in text and "Bo" not in text
    store.reveal(info.code, secret)
    at.run()
    text = _text(at)
    assert "Class board" in text
    table = at.dataframe[0].value
    assert list(table.iloc[:, 0]) == ["Bo"]  # the board's summary; nothing else of Bo's
    assert "theirs" not in text


@pytest.mark.parametrize("edit", ["reversed", "another class's", "garbage"])
def test_a_wrong_teacher_key_gets_nothing(runs, edit):
    store = ClassStore(runs)
    info, secret = store.start(hours=1)
    _, other_secret = store.start(hours=1)
    key = {"reversed": secret[::-1], "another class's": other_secret, "garbage": "<script>"}[edit]
    at = _visit({"class": info.code, "key": key})
    text = at.first_text + _text(at)
    assert "This teacher link is not valid" in text
    assert info.code not in text and "Class board" not in text


def test_a_guessed_code_gets_nothing(runs):
    ClassStore(runs).start(hours=1)
    at = _visit({"class": "ABCDEF"})
    text = at.first_text + _text(at)
    assert "leads nowhere" in text and "Class board" not in text


def test_the_share_link_never_carries_the_teacher_key(runs):
    from views.parts.links import PRIVATE_PARAMS

    assert "key" in PRIVATE_PARAMS and "ws" in PRIVATE_PARAMS


def test_a_student_loads_what_the_teacher_sent(runs):
    store = ClassStore(runs)
    info, secret = store.start(hours=1)
    query = {"data": "shared_latent", "d.n": "600", "d.seed": "0", "method": "joint",
             "loss": "info_nce", "c.train.epochs": "3", "c.train.seed": "0"}  # fmt: skip
    store.send(info.code, secret, Sent("setup", query=query))
    ws = "student-workspace-2"
    store.join(info.code, student_key(ws), "Cy")
    at = _visit({"class": info.code, "ws": ws}, page=TRAIN)
    assert "Your teacher sent:" in _text(at)
    at.button(key="class_load_sent").click().run()
    assert not at.exception
    assert at.session_state["dataset"].n == 600  # the sent data, made in this session
    assert "Your teacher sent:" not in _text(at)  # loaded: the banner goes
